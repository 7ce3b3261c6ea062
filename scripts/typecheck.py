"""Type-checks every workspace member's package, scripts/ and bench/ with pyright (settings: pyproject's
[tool.pyright]).

The packages live in their members' src/ folders (services/<part>/src/mlopsdebug_<part>, ...). This links
every import name to its folder in one temporary directory, checks that tree, and prints the findings with
the repository's own paths. The generated stubs (mlopsdebug/)
are linked too, so their .pyi files type every message, but are not checked themselves.

    .venv/bin/python scripts/typecheck.py      # exit status 0 when clean; pyright needs Node.js
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = "mlopsdebug"
# The import names checked when pyproject has no package-dir table (folders that match their imports).
PACKAGES = (
    "mlopsdebug_common", "mlopsdebug_generator", "mlopsdebug_episode", "mlopsdebug_grader",
    "mlopsdebug_gateway", "mlopsdebug_cli", "mlopsdebug_client", "mlopsdebug_agents",
)
# Checked as plain folders of scripts, not as packages.
SCRIPT_FOLDERS = ("scripts", "bench")
# bench/ imports the test helpers (tests/inprocess.py); they are linked, not checked.
HELPER_FOLDERS = ("tests",)


def package_folders() -> dict[str, Path]:
    """Every top-level import name of the project and the folder it is imported from."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package_dir = pyproject.get("tool", {}).get("setuptools", {}).get("package-dir", {})
    names = [GENERATED, *(package_dir or PACKAGES)]
    folders = {}
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit(f"typecheck: {name} is not importable; run ./dev setup")
        folders[name] = Path(next(iter(spec.submodule_search_locations))).resolve()
    return folders


def pyright_config(folders: dict[str, Path]) -> dict:
    """pyproject's [tool.pyright], pointed at the linked tree."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config = {"typeCheckingMode": "basic", **pyproject.get("tool", {}).get("pyright", {})}
    config["include"] = [name for name in folders if name != GENERATED] + list(SCRIPT_FOLDERS)
    config["exclude"] = [GENERATED, "**/__pycache__", "**/node_modules"]
    # Scripts import their neighbours and the test helpers the way `python bench/x.py` does.
    config["executionEnvironments"] = [
        {"root": folder, "extraPaths": [".", folder, *HELPER_FOLDERS]} for folder in SCRIPT_FOLDERS
    ] + [{"root": "."}]
    return config


def main() -> int:
    """Runs pyright over the linked tree; its exit status is this one's."""
    if shutil.which("node") is None:
        print("typecheck: pyright runs on Node.js, which is not installed", file=sys.stderr)
        return 3
    folders = package_folders()
    with tempfile.TemporaryDirectory(prefix="mlopsdebug-typecheck-") as tmp:
        tree = Path(tmp)
        for name, folder in folders.items():
            (tree / name).symlink_to(folder, target_is_directory=True)
        for folder in SCRIPT_FOLDERS + HELPER_FOLDERS:
            (tree / folder).symlink_to(ROOT / folder, target_is_directory=True)
        (tree / "pyrightconfig.json").write_text(json.dumps(pyright_config(folders)), encoding="utf-8")
        # The wrapper would otherwise ask PyPI whether a newer pyright exists.
        env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
        result = subprocess.run(  # noqa: S603 - our own interpreter and the pinned pyright
            [sys.executable, "-m", "pyright", "--pythonpath", sys.executable, "-p", str(tree)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        output = result.stdout + result.stderr
        links = {**folders, **{folder: ROOT / folder for folder in SCRIPT_FOLDERS + HELPER_FOLDERS}}
        for name, folder in links.items():
            output = output.replace(f"{tree.resolve()}/{name}/", f"{_shown(folder)}/")
            output = output.replace(f"{tree}/{name}/", f"{_shown(folder)}/")
        print(output, end="")
        return result.returncode


def _shown(folder: Path) -> str:
    """A folder relative to the repository, as the developer knows it."""
    try:
        return str(folder.relative_to(ROOT))
    except ValueError:
        return str(folder)


if __name__ == "__main__":
    sys.exit(main())

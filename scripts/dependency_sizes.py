"""Installs each deployable part alone, as its image does, and prints the installed size of each.

`python scripts/dependency_sizes.py` (after ./dev setup) installs every service's distribution and the
client into fresh venvs with the command of the service Dockerfiles (uv sync --frozen --no-dev
--no-editable --package NAME: uv.lock's exact versions, nothing else) and prints a Markdown table
for the README. Without a Docker engine this is the measure of each image's own part: the venv's
site-packages (the slim base image, about 120 MB, comes on top). The packaging tests install the
same way (tests/cluster/test_installs.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The interpreter beneath this venv: the new venvs are made from it, as the images' are from theirs.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
PARTS = ("mlopsdebug-client", "mlopsdebug-generator", "mlopsdebug-episode", "mlopsdebug-grader", "mlopsdebug-gateway")


def uv() -> str:
    """The workspace's pinned uv: in the dev venv (dev group), else the bootstrap venv ./dev made."""
    for candidate in (pathlib.Path(sys.executable).with_name("uv"), ROOT / ".venv-uv" / "bin" / "uv"):
        if candidate.exists():
            return str(candidate)
    raise SystemExit("uv not found: run ./dev setup")


def install(package: str, venv: pathlib.Path) -> None:
    """`package` and its locked dependency closure, non-editable, into a new venv at `venv`."""
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_LINK_MODE": "copy"}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run(  # noqa: S603 - the workspace's pinned uv on the workspace's own packages
        [uv(), "sync", "--frozen", "--no-dev", "--no-editable", "--package", package, "--python", BASE_PYTHON,
         "--quiet"],
        cwd=ROOT, env=env, check=True, timeout=600,
    )


def installed(venv: pathlib.Path) -> dict[str, str]:
    """Distribution name (normalized) -> version, as the venv's own interpreter sees them."""
    script = (
        "import importlib.metadata as m, json, re; "
        "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version for d in m.distributions()}))"
    )
    out = subprocess.run(  # noqa: S603 - the venv's own interpreter
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def site_packages_bytes(venv: pathlib.Path) -> int:
    (site,) = venv.glob("lib/python*/site-packages")
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Installs each deployable part alone and prints its size.")
    parser.add_argument("parts", nargs="*", default=list(PARTS))
    args = parser.parse_args(argv)
    print("| Part | Distributions | Installed size |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for part in args.parts:
            venv = pathlib.Path(tmp) / part
            install(part, venv)
            mb = site_packages_bytes(venv) / 1e6
            print(f"| `{part}` | {len(installed(venv))} | {mb:.0f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""One distribution per part (issue 18): each declares exactly what its code imports, the folder under
src/ is the import path, a service's distribution never depends on another service's, and the client
pulls no server dependency. Read from the pyproject.toml files, the sources (AST) and uv.lock."""

from __future__ import annotations

import ast
import importlib.metadata
import pathlib
import re
import subprocess
import sys

import pytest
import workspace
from workspace import ROOT, SERVICES, closure, members, normalize

# Declared but never imported by name, each for a stated reason.
RUNTIME_ONLY = {
    "mlopsdebug-gateway": {"websockets": "uvicorn's WebSocket protocol, which uvicorn loads by name"},
    "mlopsdebug-cli": {
        f"mlopsdebug-{s}": "`serve`, `up` and `eval` start the service by module name" for s in SERVICES
    },
}
SERVER_ONLY = {"numpy", "fastapi", "starlette", "uvicorn", "cryptography", "rich", "pyyaml", "orjson", "matplotlib"}


def _imports(path: pathlib.Path) -> set[str]:
    """Absolute imports of a module, as `top` or, for the namespace package google, `google.sub`."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found = [node.module]
        else:
            continue
        for name in found:
            parts = name.split(".")
            if parts[0] in sys.stdlib_module_names or parts[0] == "__future__":
                continue
            names.add(".".join(parts[:2]) if parts[0] == "google" else parts[0])
    return names


def _providers() -> dict[str, str]:
    """Import name -> the distribution that provides it: the workspace members by their src/ folder,
    everything else from the installed metadata (namespace `google.*` by its second component)."""
    provided: dict[str, str] = {m.import_name: m.name for m in members().values()}
    for dist in importlib.metadata.distributions():
        name = normalize(dist.metadata["Name"])
        for file in dist.files or ():
            parts = pathlib.PurePosixPath(file).parts
            if len(parts) < 2 or parts[0].endswith((".dist-info", ".data")) or parts[0] == "..":
                continue
            key = (f"google.{parts[1]}" if parts[0] == "google" else parts[0]).removesuffix(".py")
            provided.setdefault(key, name)
    return provided


@pytest.fixture(scope="module")
def imported_distributions() -> dict[str, dict[str, set[str]]]:
    """For each member: the distributions its modules import -> the modules that import them."""
    providers = _providers()
    result: dict[str, dict[str, set[str]]] = {}
    for member in members().values():
        used: dict[str, set[str]] = {}
        for path in member.package_dir.rglob("*.py"):
            for name in _imports(path):
                assert name in providers, f"{path}: no installed distribution provides {name!r}"
                used.setdefault(providers[name], set()).add(str(path.relative_to(member.package_dir)))
        used.pop(member.name, None)
        result[member.name] = used
    return result


class TestLayout:
    def test_every_part_is_a_member_with_a_src_layout(self):
        """The nine parts, each with its own pyproject.toml; the one package under src/ is named after
        the distribution, so an import leads to its folder."""
        assert set(members()) == {
            "mlopsdebug-protos", "mlopsdebug-common", "mlopsdebug-client", "mlopsdebug-agents", "mlopsdebug-cli",
            *(f"mlopsdebug-{s}" for s in SERVICES),
        }
        for member in members().values():
            expected = "mlopsdebug" if member.name == "mlopsdebug-protos" else member.name.replace("-", "_")
            assert member.import_name == expected, member.name

    def test_no_package_is_left_outside_a_member(self):
        """No Python package lives at the old places (services/<part>/*.py, clients/python/<pkg>, mlopsdebug/)."""
        assert not (ROOT / "mlopsdebug").exists()
        stray = [p for p in (*ROOT.glob("services/*/*.py"), *ROOT.glob("clients/*/*/__init__.py")) if "src" not in p.parts]
        assert not stray

    def test_every_member_is_installed_from_its_own_folder(self):
        """The dev venv imports each package from its member's src/ (an editable install of the workspace)."""
        for member in members().values():
            module = __import__(member.import_name)
            assert pathlib.Path(module.__file__).resolve().parent == member.package_dir.resolve(), member.name


class TestDeclaredDependencies:
    def test_each_distribution_declares_what_it_imports(self, imported_distributions):
        """Every distribution a module imports is declared (as a dependency or in an extra)."""
        for member in members().values():
            declared = member.dependencies | set().union(*member.extras.values())
            missing = {d: sorted(m) for d, m in imported_distributions[member.name].items() if d not in declared}
            assert not missing, f"{member.name} imports undeclared distributions: {missing}"

    def test_each_distribution_declares_nothing_it_does_not_import(self, imported_distributions):
        """No dependency rides along unused, apart from the stated runtime-only ones."""
        for member in members().values():
            declared = member.dependencies | set().union(*member.extras.values())
            unused = declared - set(imported_distributions[member.name]) - set(RUNTIME_ONLY.get(member.name, {}))
            assert not unused, f"{member.name} declares distributions it never imports: {sorted(unused)}"

    def test_every_pin_is_exact(self):
        """Direct dependencies are pinned (==); uv.lock pins the rest."""
        for member in members().values():
            requirements = list(member.project.get("dependencies", []))
            requirements += [r for reqs in member.project.get("optional-dependencies", {}).values() for r in reqs]
            loose = [r for r in requirements if "==" not in r]
            assert not loose, (member.name, loose)


class TestLayering:
    def test_a_service_depends_on_no_other_service(self):
        """Packaging enforces the layering: no service's locked closure holds another service (the import
        tests guard the same from the code side)."""
        service_dists = {f"mlopsdebug-{s}" for s in SERVICES}
        for name in service_dists:
            assert closure(name) & service_dists == {name}, name
            assert not closure(name) & {"mlopsdebug-client", "mlopsdebug-agents", "mlopsdebug-cli"}, name

    def test_the_client_pulls_no_server_code_or_dependency(self):
        """The client's closure: the contract stubs, grpcio, protobuf and what they need; nothing of a server."""
        client = closure("mlopsdebug-client")
        assert not client & ({"mlopsdebug-common", "mlopsdebug-cli", "mlopsdebug-agents"} | SERVER_ONLY)
        assert not client & {f"mlopsdebug-{s}" for s in SERVICES}
        assert client >= {"mlopsdebug-protos", "grpcio", "protobuf", "googleapis-common-protos"}

    def test_the_protos_depend_on_grpc_and_protobuf_only(self):
        assert members()["mlopsdebug-protos"].dependencies == {"grpcio", "protobuf", "googleapis-common-protos"}

    def test_services_carry_only_their_own_stack(self):
        """The gateway has no numpy and no cryptography (it only carries sealed keys: mlopsdebug-common's
        `sealing` extra is for the parts that seal, open or make certificates); the episode service no web
        framework; the grader neither."""
        assert not closure("mlopsdebug-gateway") & {"numpy", "cryptography", "rich"}
        for part in ("generator", "grader", "episode", "cli"):
            assert "cryptography" in closure(f"mlopsdebug-{part}"), part
        assert not closure("mlopsdebug-episode") & {"fastapi", "starlette", "uvicorn", "numpy", "rich"}
        assert not closure("mlopsdebug-grader") & {"fastapi", "starlette", "uvicorn", "numpy", "rich"}
        assert not closure("mlopsdebug-generator") & {"fastapi", "starlette", "uvicorn", "rich"}


class TestLock:
    def test_the_lock_matches_the_pyprojects(self):
        """uv.lock is current: `uv lock --check` would change nothing (after a pin changes: `uv lock`)."""
        uv = pathlib.Path(sys.executable).with_name("uv")
        result = subprocess.run(
            [str(uv), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr

    def test_one_uv_version_everywhere(self):
        """./dev, the workspace, the dev group and every Dockerfile use the same pinned uv."""
        required = workspace.root_pyproject()["tool"]["uv"]["required-version"].removeprefix("==")
        assert re.search(rf"^UV_VERSION={re.escape(required)}$", (ROOT / "dev").read_text(), re.MULTILINE)
        assert f"uv=={required}" in workspace.root_pyproject()["dependency-groups"]["dev"]
        for service in SERVICES:
            assert f"uv=={required}" in (ROOT / "services" / service / "Dockerfile").read_text()

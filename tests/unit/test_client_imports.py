"""The client package depends only on the generated contract, gRPC and protobuf, never on service code."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import mlopsdebug_client

PACKAGE_DIR = pathlib.Path(mlopsdebug_client.__file__).parent
AGENTS_DIR = PACKAGE_DIR.parent / "mlopsdebug_agents"
SERVICE_PACKAGES = {
    "mlopsdebug_common",
    "mlopsdebug_generator",
    "mlopsdebug_grader",
    "mlopsdebug_episode",
    "mlopsdebug_gateway",
    "mlopsdebug_cli",
}
ALLOWED_THIRD_PARTY = {"grpc", "grpc_status", "google", "mlopsdebug"}
# Optional adapters that bring their own extras and are imported by nobody else in the package.
OPTIONAL_MODULES = {"openenv_client"}


def _top_level_imports(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


class TestClientImports:
    def test_no_module_imports_service_code(self) -> None:
        """No client or agent module imports a service package (agents take word lists from the vocabulary)."""
        for path in [*PACKAGE_DIR.glob("*.py"), *AGENTS_DIR.glob("*.py")]:
            assert not (_top_level_imports(path) & SERVICE_PACKAGES), path.name

    def test_core_modules_use_only_the_contract_grpc_and_protobuf(self) -> None:
        """Apart from optional adapters, modules import the stdlib, the contract, grpc and protobuf only."""
        for path in PACKAGE_DIR.glob("*.py"):
            if path.stem in OPTIONAL_MODULES:
                continue
            third_party = {n for n in _top_level_imports(path) if n not in sys.stdlib_module_names}
            assert third_party <= ALLOWED_THIRD_PARTY, (path.name, third_party - ALLOWED_THIRD_PARTY)

    def test_importing_the_client_loads_no_service_package(self) -> None:
        """A fresh interpreter that imports the client has loaded no service package."""
        script = (
            "import sys, mlopsdebug_client, mlopsdebug_client.gym; "
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(SERVICE_PACKAGES)!r}))"
        )
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]"

    def test_package_is_typed(self) -> None:
        """The package ships the PEP 561 py.typed marker."""
        assert (PACKAGE_DIR / "py.typed").is_file()

"""Layering: the domain code of the services (every core.py and the modules they build on) imports no
gRPC, no protobuf and no generated stubs, directly or through another first-party module. Only the
transport modules (servicers, servers, converters, peer clients, the rpc plumbing) may.

Imports are read from the source (AST, lazy and TYPE_CHECKING imports included), so the test cannot be
fooled by what happens to be imported already.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Import name -> folder (each distribution's src/ layout: the folder is the import path).
PACKAGES = {
    f"mlopsdebug_{name}": ROOT / "services" / name / "src" / f"mlopsdebug_{name}"
    for name in ("common", "generator", "episode", "grader")
}
# The modules that speak the transport or read the deployment's settings (TLS credentials, environment).
# Everything else in PACKAGES is domain code.
TRANSPORT = frozenset({
    "mlopsdebug_common.rpc",
    "mlopsdebug_common.health",
    "mlopsdebug_generator.config",
    "mlopsdebug_grader.config",
    "mlopsdebug_episode.config",
    "mlopsdebug_common.convert",
    "mlopsdebug_episode.convert",
    "mlopsdebug_episode.remote",
    "mlopsdebug_episode.wire",
    "mlopsdebug_episode.server",
    "mlopsdebug_generator.server",
    "mlopsdebug_grader.server",
})
# Top-level names a domain module may not import: gRPC, protobuf and google.rpc, generated stubs, clients.
FORBIDDEN_ROOTS = frozenset({"grpc", "grpc_status", "grpc_health", "grpc_reflection", "mlopsdebug", "mlopsdebug_client"})
FORBIDDEN_PREFIXES = ("google.protobuf", "google.rpc")


def module_files() -> dict[str, pathlib.Path]:
    """Every first-party module of PACKAGES by dotted name (packages as their __init__)."""
    modules: dict[str, pathlib.Path] = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


MODULES = module_files()
DOMAIN = sorted(name for name in MODULES if name not in TRANSPORT)


def imported_names(name: str) -> set[str]:
    """The dotted names module `name` imports (`from a import b` yields a.b and a)."""
    path = MODULES[name]
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden(imported: str) -> bool:
    return imported.split(".")[0] in FORBIDDEN_ROOTS or imported.startswith(FORBIDDEN_PREFIXES)


def first_party(imported: str) -> str | None:
    """The first-party module an import loads (the longest known prefix), if any."""
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def import_chain_to_transport(start: str) -> list[str] | None:
    """A chain of imports from `start` to a forbidden import or a transport module, or None."""
    seen = {start}
    stack: list[list[str]] = [[start]]
    while stack:
        chain = stack.pop()
        for imported in sorted(imported_names(chain[-1])):
            if forbidden(imported):
                return [*chain, imported]
            module = first_party(imported)
            if module is None or module in seen:
                continue
            if module in TRANSPORT:
                return [*chain, module]
            seen.add(module)
            stack.append([*chain, module])
    return None


def test_the_transport_list_names_real_modules_and_every_core_is_domain():
    assert TRANSPORT <= MODULES.keys()
    cores = {f"{package}.core" for package in PACKAGES if package != "mlopsdebug_common"}
    assert cores <= set(DOMAIN)


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_reach_no_transport(module):
    """No chain of imports leads from a domain module to grpc, protobuf, stubs or a transport module."""
    assert import_chain_to_transport(module) is None, " -> ".join(import_chain_to_transport(module))


def test_the_walk_sees_a_transport_import(tmp_path, monkeypatch):
    """The check itself: a domain module importing grpc, or a transport module, is caught."""
    monkeypatch.setitem(MODULES, "mlopsdebug_grader.leaky", tmp_path / "leaky.py")
    (tmp_path / "leaky.py").write_text("def f():\n    from grpc import aio\n")
    assert import_chain_to_transport("mlopsdebug_grader.leaky") == ["mlopsdebug_grader.leaky", "grpc"]
    (tmp_path / "leaky.py").write_text("from mlopsdebug_common import convert\n")
    assert import_chain_to_transport("mlopsdebug_grader.leaky") == ["mlopsdebug_grader.leaky", "mlopsdebug_common.convert"]
    (tmp_path / "leaky.py").write_text("from . import server\n")
    assert import_chain_to_transport("mlopsdebug_grader.leaky")[-1] == "mlopsdebug_grader.server"


def test_the_episode_servicer_lists_tasks_through_the_core():
    """EpisodeServicer.ListTasks asks the EpisodeManager, not a method of the scenario source outside
    the ScenarioSource protocol (which only generates scenarios)."""
    from mlopsdebug_episode.core import ScenarioSource

    source = ast.parse((PACKAGES["mlopsdebug_episode"] / "server.py").read_text())
    servicer = next(n for n in source.body if isinstance(n, ast.ClassDef) and n.name == "EpisodeServicer")
    calls_on_scenarios = {
        node.attr for node in ast.walk(servicer)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
        and node.value.attr in {"_scenarios", "scenarios"}
    }
    protocol = {n for n in vars(ScenarioSource) if not n.startswith("_")}
    assert calls_on_scenarios <= protocol

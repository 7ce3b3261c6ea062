"""The suite is a black box and really takes its addresses from the command line."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

from conformance.contract import Deployment

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parents[1]
# What a black-box client may import besides the standard library.
ALLOWED = {"grpc", "grpc_status", "google", "httpx", "pytest", "websockets", "mlopsdebug", "mlopsdebug_client",
           "conformance"}


def top_level_imports(path: pathlib.Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_checks_import_no_service_code_and_no_answers():
    """Only conftest.py, which starts the default deployment, may import service or test-helper code;
    no check imports a service package, the answer helpers (answers, fix_corpus) or the cluster."""
    for path in sorted(HERE.glob("*.py")):
        if path.name == "conftest.py":
            continue
        foreign = {n for n in top_level_imports(path) if n not in sys.stdlib_module_names} - ALLOWED
        assert not foreign, (path.name, foreign)


def test_the_suite_runs_against_a_given_address(deployment: Deployment):
    """Given --episode-address (and no gateway URL), the suite checks that service and skips the gateway."""
    if deployment.episode_address is None:
        return
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
         f"--episode-address={deployment.episode_address}",
         str(HERE / "test_episode_contract.py::TestTasks"),
         str(HERE / "test_openenv_gateway.py::TestInformationRoutes")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "MLOPSDEBUG_CONFORMANCE_GATEWAY_URL": ""},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout and "no gateway URL" in result.stdout

"""Each deployable part installed alone, as its image installs it (issue 18): the client into an empty
venv pulls no server dependency, each service's venv holds its own distribution's locked closure only,
and the four services started from their own venvs serve an episode that the lone client plays.

The installs are the service Dockerfiles' command (scripts/dependency_sizes.py: uv sync --frozen
--no-dev --no-editable --package NAME), so this tier runs what the images run, without a Docker engine.
"""

from __future__ import annotations

import importlib
import json
import os
import pathlib
import secrets
import subprocess
import sys
import time

import pytest
import workspace
from workspace import ROOT, SERVICES, closure

sys.path.insert(0, str(ROOT / "scripts"))
dependency_sizes = importlib.import_module("dependency_sizes")

pytestmark = pytest.mark.cluster
SERVER_DEPENDENCIES = {"numpy", "fastapi", "starlette", "cryptography", "uvicorn", "rich", "pyyaml", "orjson"}
PARTS = ("mlopsdebug-client", *(f"mlopsdebug-{s}" for s in SERVICES))


@pytest.fixture(scope="module")
def venvs(tmp_path_factory) -> dict[str, pathlib.Path]:
    base = tmp_path_factory.mktemp("installs")
    made = {}
    for part in PARTS:
        made[part] = base / part
        dependency_sizes.install(part, made[part])
    return made


def _python(venv: pathlib.Path, code: str, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=120, env=env,
        cwd=venv, check=False, **kwargs,
    )


def _cannot_import(venv: pathlib.Path, module: str) -> bool:
    result = _python(venv, f"import {module}")
    return result.returncode != 0 and "ModuleNotFoundError" in result.stderr


class TestLoneInstalls:
    def test_the_client_alone_pulls_no_server_dependency(self, venvs):
        """An empty venv plus the client: its locked closure (stubs, grpcio, protobuf), nothing of a server."""
        installed = set(dependency_sizes.installed(venvs["mlopsdebug-client"]))
        assert installed <= closure("mlopsdebug-client")
        assert {"mlopsdebug-client", "mlopsdebug-protos", "grpcio", "protobuf"} <= installed
        assert not installed & SERVER_DEPENDENCIES
        assert not {name for name in installed if name.startswith("mlopsdebug-")} - {"mlopsdebug-client", "mlopsdebug-protos"}
        for module in ("mlopsdebug_common", "mlopsdebug_episode", "numpy", "fastapi", "uvicorn", "rich", "cryptography"):
            assert _cannot_import(venvs["mlopsdebug-client"], module), module

    @pytest.mark.parametrize("service", SERVICES)
    def test_each_service_venv_holds_its_own_closure_only(self, venvs, service):
        """What the image holds: the service, mlopsdebug-common, the stubs and their locked dependencies;
        no other service, no client, no CLI; the service's own script and the health probe."""
        venv = venvs[f"mlopsdebug-{service}"]
        installed = set(dependency_sizes.installed(venv))
        assert installed <= closure(f"mlopsdebug-{service}")
        ours = {name for name in installed if name.startswith("mlopsdebug-")}
        assert ours == {f"mlopsdebug-{service}", "mlopsdebug-common", "mlopsdebug-protos"}
        assert (venv / "bin" / f"mlopsdebug-{service}").exists() and (venv / "bin" / "mlopsdebug-health").exists()
        assert _python(venv, f"import mlopsdebug_{service}.server").returncode == 0
        for other in set(SERVICES) - {service}:
            assert _cannot_import(venv, f"mlopsdebug_{other}"), other
        if service == "gateway":  # its whole module tree imports without the cipher
            assert _cannot_import(venv, "cryptography") and _cannot_import(venv, "numpy")
        # Not an editable install: the code lives in the venv, not in the repository.
        where = _python(venv, f"import mlopsdebug_{service}; print(mlopsdebug_{service}.__file__)").stdout.strip()
        assert pathlib.Path(where).is_relative_to(venv)

    def test_versions_are_the_locked_ones(self, venvs):
        locked = workspace.lock()
        for part, venv in venvs.items():
            for name, version in dependency_sizes.installed(venv).items():
                assert locked[name]["version"] == version, (part, name)


@pytest.fixture(scope="module")
def services_from_their_own_venvs(venvs, tmp_path_factory):
    """The four services, each started by its own console script from its own venv (plaintext, public
    ports on 127.0.0.1), as the compose file starts the images."""
    from mlopsdebug_cli.cluster import free_port

    ports = {s: free_port() for s in SERVICES}
    logs = tmp_path_factory.mktemp("logs")
    common = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_") and k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    common["MLOPSDEBUG_GRACE_S"] = "1"
    secret = secrets.token_hex(32)
    env = {
        "generator": {"MLOPSDEBUG_GENERATOR_HOST": "127.0.0.1", "MLOPSDEBUG_GENERATOR_PORT": str(ports["generator"]),
                      "MLOPSDEBUG_ANSWER_KEY_SECRET": secret, "MLOPSDEBUG_SALT": secrets.token_hex(16)},
        "grader": {"MLOPSDEBUG_GRADER_HOST": "127.0.0.1", "MLOPSDEBUG_GRADER_PORT": str(ports["grader"]),
                   "MLOPSDEBUG_ANSWER_KEY_SECRET": secret},
        "episode": {"MLOPSDEBUG_EPISODE_HOST": "127.0.0.1", "MLOPSDEBUG_EPISODE_PORT": str(ports["episode"]),
                    "MLOPSDEBUG_GENERATOR_ADDR": f"127.0.0.1:{ports['generator']}",
                    "MLOPSDEBUG_GRADER_ADDR": f"127.0.0.1:{ports['grader']}"},
        "gateway": {"MLOPSDEBUG_GATEWAY_HOST": "127.0.0.1", "MLOPSDEBUG_GATEWAY_PORT": str(ports["gateway"]),
                    "MLOPSDEBUG_EPISODE_ADDR": f"127.0.0.1:{ports['episode']}"},
    }
    probes = {s: ["--grpc", f"127.0.0.1:{ports[s]}"] for s in ("generator", "grader", "episode")}
    probes["gateway"] = ["--http", f"http://127.0.0.1:{ports['gateway']}/health"]
    processes = {}
    try:
        for service in SERVICES:  # generator and grader first: the episode service's peers
            venv = venvs[f"mlopsdebug-{service}"]
            with open(logs / f"{service}.log", "wb") as log:
                processes[service] = subprocess.Popen(
                    [str(venv / "bin" / f"mlopsdebug-{service}")], env={**common, **env[service]}, cwd=venv,
                    stdout=log, stderr=subprocess.STDOUT,
                )
            deadline = time.monotonic() + 120
            while True:
                probe = subprocess.run([str(venv / "bin" / "mlopsdebug-health"), *probes[service]], check=False,
                                       capture_output=True, env=common)
                if probe.returncode == 0:
                    break
                assert processes[service].poll() is None, (logs / f"{service}.log").read_text()[-2000:]
                assert time.monotonic() < deadline, f"{service} never became healthy"
                time.sleep(0.3)
        yield ports
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


PLAY = """
import json, sys
from mlopsdebug_client import MLOpsDebugGymEnv, actions, observation_to_dict
with MLOpsDebugGymEnv(sys.argv[1]) as env:
    obs, info = env.reset("easy", seed=7)
    obs, reward, terminated, truncated, info = env.step(actions.read_config())
    first = observation_to_dict(obs)["last_action_result"]["type"]
    obs, reward, terminated, truncated, info = env.step(actions.submit_diagnosis(
        "config_error", "config.yaml", "optimizer.learning_rate", "loss diverged", "set optimizer.learning_rate to 1e-3"))
    print(json.dumps({"first": first, "reward": reward, "terminated": terminated, "grade": info["grade"]["score"],
                      "loaded": sorted({m.split(".")[0] for m in sys.modules if m.startswith("mlopsdebug")})}))
"""


def test_the_lone_client_plays_an_episode_against_services_from_their_own_venvs(venvs, services_from_their_own_venvs):
    """The client-only venv plays a whole episode over gRPC against the four services, each run from its
    own image-equivalent venv; the gateway's health answers too."""
    venv = venvs["mlopsdebug-client"]
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", PLAY, f"127.0.0.1:{services_from_their_own_venvs['episode']}"],
        capture_output=True, text=True, timeout=120, cwd=venv, check=False,
        env={k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    played = json.loads(result.stdout)
    assert played["first"] == "artifact" and played["terminated"] is True
    assert 0.0 <= played["grade"] <= 1.0 and played["reward"] == played["grade"]
    assert played["loaded"] == ["mlopsdebug", "mlopsdebug_client"]

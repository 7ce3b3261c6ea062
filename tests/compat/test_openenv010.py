"""The same episodes through openenv 0.10 (separate venv: it installs the same `openenv` module as
openenv-core), its runtime validation graders, and its `openenv validate --url`."""

from __future__ import annotations

import json
import pathlib
import subprocess

import pytest
from compat.gateway_support import declared_reward_range, gold_submission, investigation, openenv010_python

from mlopsdebug_common.tasks import TASK_ORDER

DRIVER = pathlib.Path(__file__).with_name("openenv010_driver.py")
# The first test may create the venv (about a minute from a package mirror) before playing.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def python010():
    python, reason = openenv010_python()
    if python is None:
        pytest.skip(reason)
    return python


@pytest.fixture(scope="module")
def report(python010, gateway, cluster):
    episodes = [
        {
            "task_id": task_id,
            "seed": 7,
            "episode_id": f"compat010-{task_id}",
            "actions": [*investigation(task_id), gold_submission(cluster, task_id, 7)],
        }
        for task_id in TASK_ORDER
    ]
    request = {"url": gateway.url, "reward_range": list(declared_reward_range()), "episodes": episodes}
    proc = subprocess.run([str(python010), str(DRIVER)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"request": request, **json.loads(proc.stdout)}


class TestOpenEnv010:
    def test_runs_openenv_0_10(self, report):
        """The driver really ran openenv 0.10.0."""
        assert report["openenv_version"] == "0.10.0"

    @pytest.mark.parametrize("index", range(len(TASK_ORDER)))
    def test_full_episode_of_every_task(self, report, index):
        """openenv 0.10's client plays each task to a full score; state tracks episode id and step count."""
        sent = report["request"]["episodes"][index]
        played = report["episodes"][index]
        low, high = declared_reward_range()
        assert played["reset_reward"] is None and played["reset_episode_id"] == sent["episode_id"]
        assert played["states"] == [[sent["episode_id"], n] for n in range(1, len(sent["actions"]) + 1)]
        assert all(low <= r <= high for r in played["rewards"])
        assert played["done"] is True and played["terminated"] is True
        assert played["rewards"][-1] == pytest.approx(1.0)
        assert "EXECUTION_ERROR" in played["after_end"]

    @pytest.mark.parametrize(
        "check", ["runtime.reward_well_formed", "runtime.observation_schema", "runtime.state_contract"]
    )
    def test_runtime_graders_pass(self, report, check):
        """openenv 0.10's runtime replay graders pass on a replayed episode."""
        graders = report["graders"]
        assert graders["failure_reason"] is None
        assert graders[check]["status"] == "pass", graders[check]

    def test_validate_url_cli(self, python010, gateway):
        """`openenv validate --url` of openenv 0.10 passes."""
        cli = python010.with_name("openenv")
        proc = subprocess.run([str(cli), "validate", "--url", gateway.url, "--json"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout)["passed"] is True

"""Full episodes through the real OpenEnv client library (openenv-core 0.3.0, the `compat` extra),
and `openenv validate --url` against a live gateway."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import math
import pathlib
import subprocess
import sys

import pytest
from compat.gateway_support import declared_reward_range, gold_submission, investigation

from mlopsdebug_common.tasks import TASK_ORDER, TASKS

openenv = pytest.importorskip(
    "openenv.core", reason="the OpenEnv library is not installed: pip install -e '.[compat]' (openenv-core==0.3.0)"
)
from openenv.core import GenericEnvClient  # noqa: E402
from openenv.core.mcp_client import MCPToolClient  # noqa: E402

from mlopsdebug_client.openenv_client import MLOpsAction, MLOpsDebugEnv, MLOpsObservation, MLOpsState  # noqa: E402


def test_library_version_is_pinned():
    """The main venv runs the pinned openenv-core 0.3.0 (0.10 lives in its own venv)."""
    assert importlib.metadata.version("openenv-core") == "0.3.0"


class TestMLOpsDebugEnv:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_seed_usage_plays_every_task(self, gateway, cluster, task_id):
        """`with MLOpsDebugEnv(base_url=...).sync() as env: env.reset(task_id=..., seed=...)` plays a full episode."""
        low, high = declared_reward_range()
        with MLOpsDebugEnv(base_url=gateway.url).sync() as env:
            result = env.reset(task_id=task_id, seed=1)
            assert isinstance(result.observation, MLOpsObservation)
            assert result.reward is None and result.done is False
            assert result.observation.max_steps == TASKS[task_id].max_steps
            episode_id = result.observation.episode_id
            actions = [MLOpsAction(**a) for a in investigation(task_id)]
            actions.append(MLOpsAction(**gold_submission(cluster, task_id, 1)))
            for steps, action in enumerate(actions, start=1):
                result = env.step(action)
                assert math.isfinite(result.reward) and low <= result.reward <= high
                state = env.state()
                assert isinstance(state, MLOpsState)
                assert (state.episode_id, state.step_count) == (episode_id, steps)
            assert result.done and result.observation.terminated and result.reward == pytest.approx(1.0)
            assert result.observation.last_action_result["kind"] == "grade"
            with pytest.raises(RuntimeError, match="EXECUTION_ERROR"):
                env.step(MLOpsAction(action_type="read_config"))

    def test_async_client(self, gateway):
        """The async EnvClient API works as well (async with, await reset/step/state)."""

        async def play() -> tuple[float | None, int]:
            async with MLOpsDebugEnv(base_url=gateway.url) as env:
                await env.reset(task_id="medium", seed=2, episode_id="compat-async")
                result = await env.step(MLOpsAction(action_type="run_sanity_check", sanity_check_type="data_leakage"))
                state = await env.state()
                assert state.episode_id == "compat-async"
                return result.reward, state.step_count

        reward, steps = asyncio.run(play())
        assert reward == pytest.approx(0.01) and steps == 1

    def test_plain_dict_actions(self, gateway):
        """step() also takes a plain dict of the action's fields."""
        with MLOpsDebugEnv(base_url=gateway.url).sync() as env:
            env.reset(task_id="easy", seed=3)
            result = env.step({"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "model"})
            assert result.observation.last_action_result["kind"] == "field"

    def test_invalid_action_raises_validation_error(self, gateway):
        """A rejected action surfaces as OpenEnv's RuntimeError naming VALIDATION_ERROR; the session survives."""
        with MLOpsDebugEnv(base_url=gateway.url).sync() as env:
            env.reset(task_id="easy", seed=3)
            with pytest.raises(RuntimeError, match="VALIDATION_ERROR"):
                env.step({"action_type": "run_sanity_check"})
            assert env.state().step_count == 0


class TestOtherOpenEnvClients:
    def test_generic_client(self, gateway, cluster):
        """OpenEnv's GenericEnvClient (dicts in, dicts out) plays an episode with no project code."""
        with GenericEnvClient(base_url=gateway.url).sync() as env:
            result = env.reset(task_id="hard", seed=4)
            assert result.observation["task_id"] == "hard"
            result = env.step({"action_type": "read_eval_results"})
            assert result.reward == pytest.approx(0.02)
            result = env.step(gold_submission(cluster, "hard", 4))
            assert result.done is True and result.reward == pytest.approx(1.0)
            assert env.state()["state"] == "terminated"

    def test_mcp_tool_client_over_websocket(self, gateway):
        """OpenEnv's MCPToolClient (list_tools/call_tool steps on /ws) plays through the tools."""
        with MCPToolClient(base_url=gateway.url).sync() as env:
            names = {tool.name for tool in env.list_tools()}
            assert {"reset", "read_config", "submit_diagnosis"} <= names
            first = env.call_tool("reset", task_id="easy", seed=5)
            assert first["observation"]["task_id"] == "easy"
            assert env.call_tool("read_config")["reward"] == pytest.approx(0.02)

    def test_mcp_tool_client_production_mode(self, gateway):
        """In production mode MCPToolClient uses POST /mcp sessions; calls share the session's episode."""

        async def play() -> tuple[str, str]:
            client = MCPToolClient(base_url=gateway.url)
            client.use_production_mode = True
            try:
                first = await client.call_tool("reset", task_id="medium", seed=6)
                second = await client.call_tool("inspect_preprocessing")
                return first["observation"]["episode_id"], second["observation"]["episode_id"]
            finally:
                await client.close()

        first_id, second_id = asyncio.run(play())
        assert first_id == second_id


class TestValidateCli:
    def test_openenv_validate_url_passes(self, gateway):
        """`openenv validate --url` (openenv-core 0.3.0) passes every runtime criterion."""
        cli = pathlib.Path(sys.executable).with_name("openenv")
        proc = subprocess.run([str(cli), "validate", "--url", gateway.url, "--json"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads(proc.stdout)
        assert report["passed"] is True
        assert all(c["passed"] for c in report["criteria"]), report


class TestApiKeys:
    def test_the_client_sends_its_api_key_in_the_handshake(self, cluster):
        """Against a gateway with keys: with the key the seed's usage works; without it, no connection."""
        from compat.gateway_support import running_gateway

        from mlopsdebug_common.principals import ApiKeys

        key = "openenv-client-key-0123456789"
        with running_gateway(cluster.episode_addr, api_keys=ApiKeys.parse(f"{key} alice")) as keyed:
            with MLOpsDebugEnv(base_url=keyed.url, api_key=key).sync() as env:
                result = env.reset(task_id="easy", seed=1)
                assert env.step(MLOpsAction(action_type="read_config")).observation.step_count == 1
                assert env.state().episode_id == result.observation.episode_id
            with pytest.raises(ConnectionError), MLOpsDebugEnv(base_url=keyed.url).sync() as env:
                env.reset(task_id="easy", seed=1)
        with pytest.raises(ValueError, match="api_key"):
            MLOpsDebugEnv(base_url="http://localhost:1", api_key="has space")

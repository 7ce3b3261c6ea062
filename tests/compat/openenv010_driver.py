"""Runs inside the openenv 0.10 venv (never imported by pytest): plays episodes against a live gateway
with openenv 0.10's client and replays openenv 0.10's runtime validation graders over /ws.

Input (stdin, JSON): {"url", "reward_range": [low, high], "episodes": [{"task_id", "seed", "episode_id",
"actions": [...]}]}. Output (stdout, JSON): {"openenv_version", "episodes": [...], "graders": {...}}.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
from types import SimpleNamespace
from typing import Any

from mlopsdebug_client.openenv_client import MLOpsAction, MLOpsDebugEnv


def play(url: str, episode: dict[str, Any]) -> dict[str, Any]:
    """One episode through the seed's usage: `with MLOpsDebugEnv(base_url=...).sync() as env`."""
    record: dict[str, Any] = {"rewards": [], "states": [], "done": None}
    with MLOpsDebugEnv(base_url=url).sync() as env:
        result = env.reset(task_id=episode["task_id"], seed=episode["seed"], episode_id=episode["episode_id"])
        record["reset_reward"] = result.reward
        record["reset_episode_id"] = result.observation.episode_id
        for action in episode["actions"]:
            result = env.step(MLOpsAction(**action))
            state = env.state()
            record["rewards"].append(result.reward)
            record["states"].append([state.episode_id, state.step_count])
        record["done"] = result.done
        record["terminated"] = result.observation.terminated
        try:
            env.step(MLOpsAction(action_type="read_config"))
            record["after_end"] = "accepted"
        except RuntimeError as exc:
            record["after_end"] = str(exc)
    return record


def runtime_graders(url: str, episode: dict[str, Any], reward_range: list[float]) -> dict[str, Any]:
    """openenv 0.10's runtime replay (reset, state, (step, state)*, close over /ws) and its graders."""
    from openenv.validation.graders.runtime.basic import (
        ObservationSchemaGrader,
        RewardWellFormedGrader,
        StateContractGrader,
    )
    from openenv.validation.runtime.collector import collect_runtime_evidence
    from openenv.validation.runtime.contracts import RuntimePlan

    plan = RuntimePlan.model_validate(
        {
            "plan_schema_version": "1",
            "reset": {
                "episode_id": episode["episode_id"],
                "seed": episode["seed"],
                "options": {"task_id": episode["task_id"]},
            },
            "actions": episode["actions"],
        },
        strict=False,
    )
    evidence = collect_runtime_evidence(url, plan, episode_timeout_s=120.0)
    subject = SimpleNamespace(
        runtime_evidence=evidence,
        manifest=SimpleNamespace(reward=SimpleNamespace(range=tuple(reward_range))),
    )
    results: dict[str, Any] = {"failure_reason": evidence.failure_reason, "exchanges": len(evidence.exchanges)}
    for grader in (RewardWellFormedGrader(), ObservationSchemaGrader(), StateContractGrader()):
        check = grader.run(subject)
        results[grader.check_id] = {"status": check.status.value, "evidence": list(check.evidence)}
    return results


def main() -> None:
    request = json.load(sys.stdin)
    url = request["url"]
    episodes = request["episodes"]
    output = {
        "openenv_version": importlib.metadata.version("openenv"),
        "episodes": [play(url, episode) for episode in episodes],
        "graders": runtime_graders(url, {**episodes[0], "episode_id": episodes[0]["episode_id"] + "-replay"},
                                   request["reward_range"]),
    }
    json.dump(output, sys.stdout)


if __name__ == "__main__":
    main()

"""Helpers shared by the gateway's integration and OpenEnv-compatibility tests (no fixtures, no mocks).

- `running_gateway`: a real gateway (uvicorn, real sockets) on a free port, forwarding to a real
  episode service;
- `gold_submission` / `investigation`: the actions of a full episode, ending in the correct diagnosis
  (read with the cluster's secret, as only tests and the grader may);
- `declared_reward_range`: the reward range openenv.yaml declares (what openenv 0.10 checks against);
- `openenv010_python`: the interpreter of the separate venv holding openenv 0.10 (created on demand).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import subprocess
from collections.abc import Iterator
from typing import Any

import yaml

from mlopsdebug_common.convert import CATEGORY_FROM_PB
from mlopsdebug_common.domain import SANITY_CHECKS
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.server import RunningGateway, start_in_thread

REPO = pathlib.Path(__file__).resolve().parents[2]
VENV_SCRIPT = pathlib.Path(__file__).with_name("make_openenv010_venv.sh")


@contextlib.contextmanager
def running_gateway(episode_addr: str, **overrides: Any) -> Iterator[RunningGateway]:
    config = dataclasses.replace(
        GatewayConfig(host="127.0.0.1", port=0, episode_addr=episode_addr, log_level="warning"), **overrides
    )
    gateway = start_in_thread(config)
    try:
        yield gateway
    finally:
        gateway.stop()


def gold_submission(cluster: Any, task_id: str, seed: int) -> dict[str, Any]:
    """The correct diagnosis of (task, seed) as a seed-shaped submit_diagnosis action."""
    from answers import gold_diagnosis, open_key

    from mlopsdebug_client import GeneratorClient

    with GeneratorClient(cluster.address("generator")) as generator:
        key = open_key(cluster.secret, generator.generate_scenario(task_id, seed).scenario.answer_key)
    diagnosis = gold_diagnosis(key)
    return {
        "action_type": "submit_diagnosis",
        "failure_category": CATEGORY_FROM_PB[diagnosis.failure_category],
        "root_cause_file": diagnosis.root_cause_file,
        "root_cause_field": diagnosis.root_cause_field,
        "diagnosis": diagnosis.diagnosis,
        "proposed_fix": diagnosis.proposed_fix,
    }


def fault_of(cluster: Any, task_id: str, seed: int) -> str:
    """The planted fault's id (to check that it never shows on the agent's path)."""
    from answers import open_key

    from mlopsdebug_client import GeneratorClient

    with GeneratorClient(cluster.address("generator")) as generator:
        return open_key(cluster.secret, generator.generate_scenario(task_id, seed).scenario.answer_key).fault_id


def investigation(task_id: str) -> list[dict[str, Any]]:
    """Every kind of action once (and one repeated read), fitting the task's step budget with room to submit."""
    actions: list[dict[str, Any]] = [
        {"action_type": "read_config"},
        {"action_type": "read_logs", "log_filter": "epoch:1-2"},
        {"action_type": "read_logs"},
        {"action_type": "check_dataset_stats"},
        {"action_type": "inspect_preprocessing"},
        {"action_type": "read_eval_results"},
        {"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "optimizer"},
        {"action_type": "query_artifact", "artifact_name": "eval_results.json", "field_path": "no.such.path"},
        {"action_type": "read_config"},  # an identical repeated read costs 0.02
    ]
    actions += [{"action_type": "run_sanity_check", "sanity_check_type": check} for check in SANITY_CHECKS]
    return actions[: TASKS[task_id].max_steps - 1]


def declared_reward_range() -> tuple[float, float]:
    """openenv.yaml's validation.reward.range (openenv 0.10), else its reward.range, else the task bounds."""
    manifest_path = REPO / "openenv.yaml"
    if manifest_path.exists():
        manifest = yaml.safe_load(manifest_path.read_text()) or {}
        for block in (manifest.get("validation") or {}, manifest):
            low_high = (block.get("reward") or {}).get("range")
            if low_high:
                return float(low_high[0]), float(low_high[1])
    return min(t.reward_min for t in TASKS.values()), max(t.reward_max for t in TASKS.values())


def openenv010_python() -> tuple[pathlib.Path | None, str]:
    """The venv with openenv==0.10.0 (created by make_openenv010_venv.sh if missing), or None and why."""
    venv = pathlib.Path(os.environ.get("MLOPSDEBUG_OPENENV010_VENV", REPO / ".venv-openenv010"))
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        try:
            proc = subprocess.run(
                ["bash", str(VENV_SCRIPT), str(venv)], capture_output=True, text=True, timeout=900, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"could not create the openenv 0.10 venv at {venv}: {exc}"
        if proc.returncode != 0 or not marker.exists():
            return None, f"could not create the openenv 0.10 venv at {venv}: {proc.stderr.strip()[-500:]}"
    return python, ""

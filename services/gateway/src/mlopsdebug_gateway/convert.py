"""Protobuf <-> OpenEnv JSON: actions in, observations and states out.

Enum values are spelled as the seed spells them ("config.yaml", "label_consistency", "config_error").
Non-finite numbers become null, since JSON has no NaN. The conversions are by hand so that the JSON
shape is explicit here rather than implied by proto field names.
"""

from __future__ import annotations

import json
from typing import Any

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_common.convert import (
    ARTIFACT_FROM_PB,
    ARTIFACT_TO_PB,
    CATEGORY_FROM_PB,
    CATEGORY_TO_PB,
    CHECK_FROM_PB,
    CHECK_TO_PB,
    COMPONENT_FROM_PB,
    STATUS_FROM_PB,
    TRAINING_FROM_PB,
)
from mlopsdebug_gateway.models import MLOpsAction, finite_or_none

_EPISODE_STATES = {
    pb.EPISODE_STATE_RUNNING: "running",
    pb.EPISODE_STATE_TERMINATED: "terminated",
    pb.EPISODE_STATE_TRUNCATED: "truncated",
}


def action_to_pb(action: MLOpsAction) -> pb.Action:
    """The validated seed-shaped action as the contract's oneof."""
    kind = action.action_type
    message = pb.Action()
    if kind == "read_config":
        message.read_config.SetInParent()
    elif kind == "read_logs":
        message.read_logs.log_filter = action.log_filter or ""
    elif kind == "check_dataset_stats":
        message.check_dataset_stats.SetInParent()
    elif kind == "inspect_preprocessing":
        message.inspect_preprocessing.SetInParent()
    elif kind == "read_eval_results":
        message.read_eval_results.SetInParent()
    elif kind == "run_sanity_check":
        message.run_sanity_check.check = CHECK_TO_PB[action.sanity_check_type or ""]
    elif kind == "query_artifact":
        message.query_artifact.artifact = ARTIFACT_TO_PB[action.artifact_name or ""]
        message.query_artifact.field_path = action.field_path or ""
    elif kind == "submit_diagnosis":
        diagnosis = message.submit_diagnosis.diagnosis
        diagnosis.failure_category = CATEGORY_TO_PB[action.failure_category or ""]
        diagnosis.root_cause_file = action.root_cause_file or ""
        diagnosis.root_cause_field = action.root_cause_field or ""
        diagnosis.diagnosis = action.diagnosis or ""
        diagnosis.proposed_fix = action.proposed_fix or ""
    else:  # pragma: no cover - MLOpsAction admits only the kinds above
        raise ValueError(f"unknown action_type {kind!r}")
    return message


_SPLITS_PB = {"all": pb.FAULT_SPLIT_ALL, "train": pb.FAULT_SPLIT_TRAIN, "heldout": pb.FAULT_SPLIT_HELDOUT}


def reset_to_pb(task_id: str, seed: int | None, episode_id: str | None, split: str | None = None) -> ep_pb.ResetRequest:
    request = ep_pb.ResetRequest(task_id=task_id, episode_id=episode_id or "", split=_SPLITS_PB[split or "all"])
    if seed is not None:
        request.seed = seed
    return request


def run_summary_json(m: pb.RunSummary) -> dict[str, Any]:
    return {
        "run_id": m.run_id,
        "model": m.model,
        "dataset": m.dataset,
        "modality": m.modality,
        "training_status": TRAINING_FROM_PB.get(m.training_status, ""),
        "epochs_planned": m.epochs_planned,
        "epochs_completed": m.epochs_completed,
        "final_train_loss": finite_or_none(m.final_train_loss),
        "final_val_loss": finite_or_none(m.final_val_loss),
        "primary_metric": m.primary_metric,
        "val_metric": finite_or_none(m.val_metric),
        "test_metric": finite_or_none(m.test_metric),
        "wall_clock_seconds": finite_or_none(m.wall_clock_seconds),
        "started_at": m.started_at,
    }


def grade_json(m: pb.Grade) -> dict[str, Any]:
    grade: dict[str, Any] = {
        "score": m.score,
        "raw_score": m.raw_score,
        "asymmetric_penalty": m.asymmetric_penalty,
        "components": [
            {
                "kind": COMPONENT_FROM_PB.get(c.kind, ""),
                "weight": c.weight,
                "credit": c.credit,
                "reason": c.reason,
            }
            for c in m.components
        ],
        "grader_version": m.grader_version,
    }
    if m.HasField("answer"):
        a = m.answer
        grade["answer"] = {
            "fault_id": a.fault_id,
            "category": CATEGORY_FROM_PB.get(a.category, ""),
            "file": a.file,
            "field": a.field,
            "field_aliases": list(a.field_aliases),
            "fix_rule": a.fix_rule,
        }
    return grade


def _field_value(value_json: str) -> Any:
    try:
        return json.loads(value_json)
    except ValueError:
        return value_json


def action_result_json(m: pb.ActionResult) -> dict[str, Any]:
    """The last action's result as a dict tagged by `kind`; empty after a reset."""
    which = m.WhichOneof("result")
    if which == "artifact":
        return {"kind": "artifact", "artifact": ARTIFACT_FROM_PB.get(m.artifact.name, ""), "content": m.artifact.content}
    if which == "logs":
        return {
            "kind": "logs",
            "log_filter": m.logs.log_filter,
            "content": m.logs.content,
            "matched_lines": m.logs.matched_lines,
            "total_lines": m.logs.total_lines,
        }
    if which == "sanity_check":
        s = m.sanity_check
        return {
            "kind": "sanity_check",
            "check": CHECK_FROM_PB.get(s.check, ""),
            "status": STATUS_FROM_PB.get(s.status, ""),
            "summary": s.summary,
            "metrics": {name: finite_or_none(value) for name, value in sorted(s.metrics.items())},
            "details": list(s.details),
        }
    if which == "field":
        f = m.field
        result: dict[str, Any] = {
            "kind": "field",
            "artifact": ARTIFACT_FROM_PB.get(f.artifact, ""),
            "field_path": f.field_path,
            "found": f.found,
        }
        if f.found:
            result["value"] = _field_value(f.value_json)
        else:
            result["available_keys"] = list(f.available_keys)
        return result
    if which == "grade":
        return {"kind": "grade", **grade_json(m.grade)}
    return {}


def observation_json(m: pb.Observation, episode_id: str) -> dict[str, Any]:
    """The observation as OpenEnv carries it: the seed's fields plus lifecycle, without the reward."""
    return {
        "task_id": m.task_id,
        "task_description": m.task_description,
        "run_id": m.run_id,
        "run_summary": run_summary_json(m.run_summary),
        "available_artifacts": [
            {
                "name": a.file_name or ARTIFACT_FROM_PB.get(a.name, ""),
                "description": a.description,
                "size_hint": a.size_hint,
                "last_modified": a.last_modified,
            }
            for a in m.available_artifacts
        ],
        "artifacts_read": list(m.artifacts_read),
        "last_action_result": action_result_json(m.last_action_result),
        "step_count": m.step_count,
        "max_steps": m.max_steps,
        "done": m.done,
        "messages": list(m.messages),
        "terminated": m.terminated,
        "truncated": m.truncated,
        "episode_id": episode_id,
        "cumulative_reward": finite_or_none(m.cumulative_reward) or 0.0,
    }


def step_payload(m: pb.Observation, episode_id: str, *, after_reset: bool) -> dict[str, Any]:
    """OpenEnv's {observation, reward, done} envelope. A reset's reward is null, as in OpenEnv."""
    return {
        "observation": observation_json(m, episode_id),
        "reward": None if after_reset else (finite_or_none(m.reward) or 0.0),
        "done": m.done,
    }


def state_json(m: ep_pb.EpisodeStateInfo) -> dict[str, Any]:
    """The episode's state. While it runs there is no grade, so nothing here can name the answer."""
    state = _EPISODE_STATES.get(m.state, "running")
    result: dict[str, Any] = {
        "episode_id": m.episode_id,
        "step_count": m.step_count,
        "task_id": m.task_id,
        "seed": m.seed,
        "state": state,
        "episode_done": state != "running",
        "max_steps": m.max_steps,
        "artifacts_read": list(m.artifacts_read),
        "sanity_checks_run": [CHECK_FROM_PB.get(c, "") for c in m.sanity_checks_run],
        "duplicate_reads": m.duplicate_reads,
        "cumulative_reward": finite_or_none(m.cumulative_reward) or 0.0,
        "scenario_id": m.scenario_id,
        "created_at": m.created_at,
    }
    # Defence in depth: a running episode's state never carries a grade (nor, so, a revealed answer).
    if state != "running" and m.HasField("grade"):
        result["grade"] = grade_json(m.grade)
    return result


EMPTY_STATE: dict[str, Any] = {"episode_id": None, "step_count": 0}
"""The state of a session that has not reset yet, as OpenEnv's base State reports it."""

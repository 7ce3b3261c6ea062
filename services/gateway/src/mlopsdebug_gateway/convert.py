"""Protobuf <-> OpenEnv JSON: actions in, observations and states out.

Enum values are spelled as the seed spells them ("config.yaml", "label_consistency", "config_error").
Non-finite numbers become null, since JSON has no NaN. The conversions are by hand so that the JSON
shape is explicit here rather than implied by proto field names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

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
from mlopsdebug_gateway.models import (
    ACTION_FIELD_RULES,
    ACTION_KINDS,
    REQUIRED_FIELDS,
    MLOpsAction,
    finite_or_none,
    plain_json,
)

_EPISODE_STATES = {
    pb.EPISODE_STATE_RUNNING: "running",
    pb.EPISODE_STATE_TERMINATED: "terminated",
    pb.EPISODE_STATE_TRUNCATED: "truncated",
}


def action_to_pb(action: MLOpsAction) -> pb.Action:
    """The validated seed-shaped action as the contract's oneof."""
    return _action_pb(action.action_type, action.__dict__)


def checked_action_to_pb(data: Any) -> pb.Action | None:
    """`action_to_pb(parse_action(data))` for an action that certainly passes validation, or None.

    A frame's action is checked here against the same rules as MLOpsAction and parse_action (strict
    types, known fields only, lengths, enumerations, the fields its type requires) at a fraction of
    pydantic's cost; None sends it through parse_action, which accepts it or answers the errors. So this
    may only ever decline: whatever it accepts, pydantic accepts too, and turns into the same message."""
    if type(data) is not dict:
        return None
    kind = data.get("action_type")
    if type(kind) is not str or kind not in ACTION_KINDS:
        return None
    for name, value in data.items():
        rule = ACTION_FIELD_RULES.get(name)
        if rule is None:  # action_type (checked above) or an unknown field
            if name == "action_type":
                continue
            return None
        if isinstance(rule, tuple):  # an optional string of bounded length
            if value is not None and (type(value) is not str or not rule[0] <= len(value) <= rule[1]):
                return None
        elif isinstance(rule, frozenset):  # an optional enumeration
            if value is not None and (type(value) is not str or value not in rule):
                return None
        elif type(value) is not dict:  # metadata: an object, never null
            return None
    for name in REQUIRED_FIELDS.get(kind, ()):
        if data.get(name) is None:
            return None
    return _action_pb(kind, data)


def _action_pb(kind: str, values: Mapping[str, Any]) -> pb.Action:
    """The action message from its fields' values (an absent or null field reads as empty)."""
    message = pb.Action()
    if kind == "read_config":
        message.read_config.SetInParent()
    elif kind == "read_logs":
        message.read_logs.log_filter = values.get("log_filter") or ""
    elif kind == "check_dataset_stats":
        message.check_dataset_stats.SetInParent()
    elif kind == "inspect_preprocessing":
        message.inspect_preprocessing.SetInParent()
    elif kind == "read_eval_results":
        message.read_eval_results.SetInParent()
    elif kind == "run_sanity_check":
        message.run_sanity_check.check = CHECK_TO_PB[values.get("sanity_check_type") or ""]
    elif kind == "query_artifact":
        message.query_artifact.artifact = ARTIFACT_TO_PB[values.get("artifact_name") or ""]
        message.query_artifact.field_path = values.get("field_path") or ""
    elif kind == "submit_diagnosis":
        diagnosis = message.submit_diagnosis.diagnosis
        diagnosis.failure_category = CATEGORY_TO_PB[values.get("failure_category") or ""]
        diagnosis.root_cause_file = values.get("root_cause_file") or ""
        diagnosis.root_cause_field = values.get("root_cause_field") or ""
        diagnosis.diagnosis = values.get("diagnosis") or ""
        diagnosis.proposed_fix = values.get("proposed_fix") or ""
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
    """The queried value as json.loads decodes it (not orjson, which turns an integer beyond 64 bits into
    a float; a test holds this); text that does not decode is passed on as it is."""
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


def static_observation_json(m: pb.Observation) -> dict[str, Any]:
    """The observation's fields that stay the same for a whole episode (its scenario's), in wire order."""
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
    }


def changing_observation_json(m: pb.Observation, episode_id: str) -> dict[str, Any]:
    """The observation's fields that a step changes (and the episode id), in wire order after the static ones."""
    return {
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


def observation_json(m: pb.Observation, episode_id: str) -> dict[str, Any]:
    """The observation as OpenEnv carries it: the seed's fields plus lifecycle, without the reward."""
    return {**static_observation_json(m), **changing_observation_json(m, episode_id)}


def _reward(m: pb.Observation, after_reset: bool) -> float | None:
    return None if after_reset else (finite_or_none(m.reward) or 0.0)


def step_payload(m: pb.Observation, episode_id: str, *, after_reset: bool) -> dict[str, Any]:
    """OpenEnv's {observation, reward, done} envelope. A reset's reward is null, as in OpenEnv."""
    return {"observation": observation_json(m, episode_id), "reward": _reward(m, after_reset), "done": m.done}


def encode_text(reply: Any) -> str:
    """A reply as the JSON text the gateway sends. orjson is several times faster than json.dumps on
    observations, the bulk of a reply, but refuses integers beyond 64 bits, which a reply may echo (a
    JSON-RPC id, a refused seed): those replies take the slow path (and the same text comes out)."""
    try:
        return orjson.dumps(reply).decode()
    except TypeError:
        return json.dumps(plain_json(reply))


class StaticObservation:
    """The static fields of one episode's observations, encoded once as they sit inside the observation
    object (orjson's compact form, without the braces), with the run id they belong to."""

    __slots__ = ("episode_id", "json", "run_id")

    def __init__(self, m: pb.Observation, episode_id: str) -> None:
        self.episode_id = episode_id
        self.run_id = m.run_id
        self.json = orjson.dumps(static_observation_json(m))[1:-1]

    def fits(self, m: pb.Observation, episode_id: str) -> bool:
        """Whether `m` is an observation of the episode this was encoded from (same episode, same run)."""
        return episode_id == self.episode_id and m.run_id == self.run_id


_FRAME_HEAD = b'{"type":"observation","data":{"observation":{'


def observation_frame(m: pb.Observation, episode_id: str, static: StaticObservation) -> str:
    """A step's WebSocket reply, `encode_text({"type": "observation", "data": step_payload(...)})` to the
    byte, with the episode's static fields spliced in already encoded (orjson writes compact JSON in dict
    order, so joining the encoded parts gives the same bytes as encoding the whole); only the fields a step
    changes are converted and encoded per step."""
    try:
        changing = orjson.dumps(changing_observation_json(m, episode_id))  # '{...}'
        tail = orjson.dumps({"reward": _reward(m, False), "done": m.done})  # '{"reward":..,"done":..}'
    except TypeError:  # an integer orjson refuses: the slow path writes the same text
        return encode_text({"type": "observation", "data": step_payload(m, episode_id, after_reset=False)})
    return b"".join((_FRAME_HEAD, static.json, b",", changing[1:], b",", tail[1:], b"}")).decode()


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

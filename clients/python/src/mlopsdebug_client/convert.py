"""Plain-dict views of the contract's messages in the original specification's style.

Agents that prompt a language model, and the OpenEnv gateway that speaks JSON, want dicts rather
than messages. These views keep every field (defaults included, as a pydantic dump would), write
enum values as the specification's short names ("config.yaml", "label_consistency", "pass";
None for an unset value), write unset sub-messages as None, and flatten the `last_action_result`
oneof into `{"type": <variant>, ...}`. Floats are passed through unchanged, NaN included (a diverged
run's loss); JSON writers must decide how to spell it.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from mlopsdebug.common.v1 import common_pb2

from . import _enums

__all__ = [
    "action_result_to_dict",
    "grade_to_dict",
    "message_to_dict",
    "observation_to_dict",
]


# Descriptors are typed as a union of the pure-Python and upb classes; both behave the same here.
_Field = Any

# How message_to_dict reads a field.
_SCALAR, _ENUM, _MESSAGE, _REPEATED, _MAP, _PRESENCE, _ONEOF = range(7)


def _is_synthetic_optional(field: _Field) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def _value(field: _Field, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        return _enums.short_name(field.enum_type, value)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message_to_dict(value)
    return value


def _plan(descriptor: Any) -> list[tuple[str, int, _Field, str]]:
    """(name, how to read it, the field or a map's value field, its oneof) for each field, in order."""
    plan = []
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and not _is_synthetic_optional(field):
            plan.append((field.name, _ONEOF, field, oneof.name))
        elif field.is_repeated:
            if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                plan.append((field.name, _MAP, field.message_type.fields_by_name["value"], ""))
            else:
                plan.append((field.name, _REPEATED, field, ""))
        elif field.has_presence:
            plan.append((field.name, _PRESENCE, field, ""))
        elif field.type == FieldDescriptor.TYPE_ENUM:
            plan.append((field.name, _ENUM, field, ""))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            plan.append((field.name, _MESSAGE, field, ""))
        else:
            plan.append((field.name, _SCALAR, field, ""))
    return plan


# Plans by message full name: reflecting on every field of every observation was most of the cost.
_PLANS: dict[str, list[tuple[str, int, _Field, str]]] = {}


def message_to_dict(message: Message) -> dict[str, Any]:
    """Every field of `message` by its proto name, recursively, with seed-style enum names.

    A real oneof contributes only its set member; unset singular sub-messages and unset proto3
    `optional` scalars are None.
    """
    descriptor = message.DESCRIPTOR
    plan = _PLANS.get(descriptor.full_name)
    if plan is None:
        plan = _PLANS[descriptor.full_name] = _plan(descriptor)
    out: dict[str, Any] = {}
    for name, how, field, oneof in plan:
        if how == _SCALAR:
            out[name] = getattr(message, name)
        elif how == _ENUM:
            out[name] = _enums.short_name(field.enum_type, getattr(message, name))
        elif how == _MESSAGE:
            out[name] = message_to_dict(getattr(message, name))
        elif how == _REPEATED:
            out[name] = [_value(field, v) for v in getattr(message, name)]
        elif how == _MAP:
            out[name] = {k: _value(field, v) for k, v in getattr(message, name).items()}
        elif how == _PRESENCE:
            out[name] = _value(field, getattr(message, name)) if message.HasField(name) else None
        elif message.WhichOneof(oneof) == name:  # _ONEOF: only the set member appears
            out[name] = _value(field, getattr(message, name))
    return out


def grade_to_dict(grade: common_pb2.Grade) -> dict[str, Any]:
    """A grade as a dict: score, raw_score, asymmetric_penalty, components, answer (or None), version.

    Each component is `{"kind": "category"|"file"|"field"|"fix", "weight", "credit", "reason"}`.
    """
    return message_to_dict(grade)


def action_result_to_dict(result: common_pb2.ActionResult) -> dict[str, Any]:
    """The result of an action as `{"type": <variant>, ...fields}`; `{}` when none (after a reset).

    Variants: "artifact" (name, content), "logs" (log_filter, content, matched_lines, total_lines),
    "sanity_check" (check, status, summary, metrics, details), "field" (artifact, field_path,
    found, value_json, available_keys, plus `value`, the parsed JSON or None), and "grade".
    """
    kind = result.WhichOneof("result")
    if kind is None:
        return {}
    out: dict[str, Any] = {"type": kind}
    out.update(message_to_dict(getattr(result, kind)))
    if kind == "field":
        out["value"] = _parse_json(result.field.value_json) if result.field.found else None
    return out


def _parse_json(text: str) -> Any:
    """The parsed value; the raw text if it is not JSON, so a view never fails on a server's output."""
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def observation_to_dict(observation: common_pb2.Observation) -> dict[str, Any]:
    """An observation in the specification's shape, plus terminated, truncated and the rewards."""
    out = message_to_dict(observation)
    out["last_action_result"] = action_result_to_dict(observation.last_action_result)
    return out

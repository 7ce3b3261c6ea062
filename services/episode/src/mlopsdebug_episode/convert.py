"""Episode-service conversions: proto actions to domain actions, episode results to observations.

The static part of an observation (task, run summary, artifact list) is built once per scenario,
as a message (copied into messages that need one) and as its encoded bytes: a streamed or unary step's
observation is those bytes followed by the encoding of the fields that change, byte for byte what
encoding the whole message gives (the static fields are numbers 1-5, all before the changing ones).
"""

from __future__ import annotations

import dataclasses
import struct

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_common.convert import (
    ARTIFACT_FROM_PB,
    ARTIFACT_TO_PB,
    CHECK_FROM_PB,
    CHECK_TO_PB,
    EPISODE_STATE_TO_PB,
    diagnosis_from_pb,
    grade_to_pb,
    run_summary_to_pb,
    sanity_check_to_pb,
)
from mlopsdebug_common.domain import Grade, SanityCheckResult
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import ArtifactRead, Episode, FieldLookup, LogExcerpt, StepResult
from mlopsdebug_episode.evaluation import GRADED, NOT_STARTED, TRUNCATED, UNFINISHED, Progress, Report


def action_from_pb(m: pb.Action) -> Action:
    """Unset enums become "" so that validation names the field; it never raises here. Actions without
    parameters and sanity checks are shared instances (an Action is immutable): no construction per step."""
    kind = m.WhichOneof("kind")
    if kind is None:
        return Action(kind="")
    simple = _PARAMETERLESS.get(kind)
    if simple is not None:
        return simple
    if kind == "run_sanity_check":
        check = m.run_sanity_check.check
        return _CHECKS.get(check) or Action(kind, check=CHECK_FROM_PB.get(check, ""))
    if kind == "read_logs":
        return Action(kind, log_filter=m.read_logs.log_filter)
    if kind == "query_artifact":
        q = m.query_artifact
        return Action(kind, artifact=ARTIFACT_FROM_PB.get(q.artifact, ""), field_path=q.field_path)
    if kind == "submit_diagnosis":
        sub = m.submit_diagnosis
        return Action(kind, diagnosis=diagnosis_from_pb(sub.diagnosis) if sub.HasField("diagnosis") else None)
    return Action(kind)


_PARAMETERLESS = {
    field.name: Action(field.name)
    for field in pb.Action.DESCRIPTOR.oneofs_by_name["kind"].fields
    if field.name not in ("read_logs", "run_sanity_check", "query_artifact", "submit_diagnosis")
}
_CHECKS = {number: Action("run_sanity_check", check=name) for number, name in CHECK_FROM_PB.items()}


@dataclasses.dataclass(frozen=True, slots=True)
class ObservationParts:
    """What every observation on one scenario shares: the static fields as a message (`template`, with
    max_steps) and as encoded bytes (`prefix`: fields 1-5, which precede every field that changes)."""

    template: pb.Observation
    prefix: bytes

    @classmethod
    def of(cls, episode: Episode) -> ObservationParts:
        template = observation_template(episode)
        static = pb.Observation()
        static.CopyFrom(template)
        static.ClearField("max_steps")  # field 9 sits between changing fields: encoded with them
        return cls(template, static.SerializeToString())


def observation_template(episode: Episode) -> pb.Observation:
    scenario = episode.scenario
    template = pb.Observation(
        task_id=episode.task.task_id,
        task_description=episode.task.description,
        run_id=scenario.run_summary.run_id,
        run_summary=run_summary_to_pb(scenario.run_summary),
        available_artifacts=[
            pb.ArtifactMeta(
                name=ARTIFACT_TO_PB[doc.name],
                file_name=doc.name,
                description=doc.description,
                size_hint=doc.size_hint,
                last_modified=doc.last_modified,
            )
            for doc in scenario.artifacts
        ],
        max_steps=episode.task.max_steps,
    )
    return template


def fill_observation(
    template: pb.Observation, episode: Episode, result: StepResult | None = None, *, into: pb.Observation | None = None
) -> pb.Observation:
    obs = into if into is not None else pb.Observation()
    obs.CopyFrom(template)
    obs.artifacts_read.extend(episode.artifacts_read)
    obs.step_count = episode.step_count
    obs.terminated = episode.terminated
    obs.truncated = episode.truncated
    obs.done = episode.done
    obs.cumulative_reward = episode.cumulative_reward
    if result is not None:
        obs.reward = result.reward
        obs.messages.extend(result.messages)
        _fill_result(obs.last_action_result, result.outcome)
    return obs


def observation_bytes(
    parts: ObservationParts, episode: Episode, result: StepResult | None = None, encoded_result: bytes | None = None
) -> bytes:
    """The encoded observation, identical to `fill_observation(...).SerializeToString()`, without
    copying or re-encoding the static part (about 2-50 KB per step on the hard task) or building a
    message for the rest. `encoded_result` is `action_result_field(result.outcome)` when the caller has
    it already (cached by scenario and action)."""
    read = b"".join([_READ_FIELDS.get(name) or _read_field(name) for name in episode.artifacts_read])
    if result is None:
        return parts.prefix + read + _changing_fields(episode, None)
    if encoded_result is None:
        encoded_result = action_result_field(result.outcome)
    # Fields in number order: 1-5 (prefix), 6 (read), 7 (the result), then 8-15.
    return b"".join((parts.prefix, read, encoded_result, _changing_fields(episode, result)))


def _changing_fields(episode: Episode, result: StepResult | None) -> bytes:
    """Observation fields 8-15 encoded as protobuf encodes them: in number order, a proto3 field at its
    default left out (a double counts as set unless all its bits are zero, so -0.0 is written)."""
    out = bytearray()
    if episode.step_count:
        out += _STEP_COUNT_TAG + _int32(episode.step_count)
    max_steps = episode.task.max_steps
    if max_steps:
        out += _MAX_STEPS_TAG + _int32(max_steps)
    terminated, truncated = episode.terminated, episode.truncated
    if terminated or truncated:
        out += _DONE_TRUE
    if terminated:
        out += _TERMINATED_TRUE
    if truncated:
        out += _TRUNCATED_TRUE
    if result is not None:
        reward = _pack_double(result.reward)
        if reward != _ZERO_DOUBLE:
            out += _REWARD_TAG + reward
    cumulative = _pack_double(episode.cumulative_reward)
    if cumulative != _ZERO_DOUBLE:
        out += _CUMULATIVE_TAG + cumulative
    if result is not None:
        for message in result.messages:
            out += length_delimited(_MESSAGES, message.encode())
    return bytes(out)


def action_result_field(outcome: object) -> bytes:
    """Observation field 7 (last_action_result) encoded, b"" when absent: a function of the outcome only."""
    target = pb.ActionResult()
    _fill_result(target, outcome)
    if target.WhichOneof("result") is None:
        return b""
    return length_delimited(_LAST_ACTION_RESULT, target.SerializeToString())


_OBSERVATION_FIELDS = pb.Observation.DESCRIPTOR.fields_by_name
_ARTIFACTS_READ = _OBSERVATION_FIELDS["artifacts_read"].number
_LAST_ACTION_RESULT = _OBSERVATION_FIELDS["last_action_result"].number
_MESSAGES = _OBSERVATION_FIELDS["messages"].number
_VARINT, _FIXED64 = 0, 1  # protobuf wire types
_ZERO_DOUBLE = bytes(8)
_pack_double = struct.Struct("<d").pack


def _read_field(name: str) -> bytes:
    return length_delimited(_ARTIFACTS_READ, name.encode())


def length_delimited(field_number: int, payload: bytes) -> bytes:
    """One length-delimited field (a string, bytes or sub-message) as protobuf encodes it."""
    return _varint(field_number << 3 | 2) + _varint(len(payload)) + payload


def nested(field_numbers: tuple[int, ...], payload: bytes, prefix: bytes = b"") -> bytes:
    """`prefix`, then `payload` inside length-delimited fields, outermost first (`nested((3, 1), obs)`:
    field 3 holding field 1 holding obs): one copy of the payload however deep it sits."""
    headers = b""
    for number in reversed(field_numbers):
        tag = _DELIMITED_TAGS[number] if number < len(_DELIMITED_TAGS) else _varint(number << 3 | 2)
        headers = tag + _varint(len(payload) + len(headers)) + headers
    return b"".join((prefix, headers, payload))


def _tag(name: str, wire_type: int) -> bytes:
    return _varint(_OBSERVATION_FIELDS[name].number << 3 | wire_type)


def _int32(value: int) -> bytes:
    """An int32 as a varint: a negative one takes ten bytes (sign-extended to 64 bits)."""
    return _varint(value if value >= 0 else value & 0xFFFF_FFFF_FFFF_FFFF)


def _varint(value: int) -> bytes:
    if 0 <= value < 0x4000:  # up to two bytes (a length up to 16 KiB, most observations'): from a table
        return _SHORT_VARINTS[value]
    if value < 0:
        raise ValueError(f"a varint holds a non-negative value, not {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SHORT_VARINTS = [bytes((value,)) for value in range(0x80)] + [
    bytes((value & 0x7F | 0x80, value >> 7)) for value in range(0x80, 0x4000)
]  # about 0.5 MB
_DELIMITED_TAGS = [_varint(number << 3 | 2) for number in range(16)]  # one byte each
_STEP_COUNT_TAG = _tag("step_count", _VARINT)
_MAX_STEPS_TAG = _tag("max_steps", _VARINT)
_DONE_TRUE = _tag("done", _VARINT) + b"\x01"
_TERMINATED_TRUE = _tag("terminated", _VARINT) + b"\x01"
_TRUNCATED_TRUE = _tag("truncated", _VARINT) + b"\x01"
_REWARD_TAG = _tag("reward", _FIXED64)
_CUMULATIVE_TAG = _tag("cumulative_reward", _FIXED64)
_READ_FIELDS = {name: _read_field(name) for name in ARTIFACT_TO_PB}


def _fill_result(target: pb.ActionResult, outcome: object) -> None:
    if isinstance(outcome, ArtifactRead):
        target.artifact.name = ARTIFACT_TO_PB[outcome.name]
        target.artifact.content = outcome.content
    elif isinstance(outcome, LogExcerpt):
        logs = target.logs
        logs.log_filter = outcome.log_filter
        logs.content = outcome.content
        logs.matched_lines = outcome.matched_lines
        logs.total_lines = outcome.total_lines
    elif isinstance(outcome, SanityCheckResult):
        target.sanity_check.CopyFrom(sanity_check_to_pb(outcome))
    elif isinstance(outcome, FieldLookup):
        f = target.field
        f.artifact = ARTIFACT_TO_PB[outcome.artifact]
        f.field_path = outcome.field_path
        f.found = outcome.found
        f.value_json = outcome.value_json
        f.available_keys.extend(outcome.available_keys)
    elif isinstance(outcome, Grade):
        target.grade.CopyFrom(grade_to_pb(outcome))


def state_to_pb(episode: Episode) -> ep_pb.EpisodeStateInfo:
    sealed = episode.evaluation is not None
    state = ep_pb.EpisodeStateInfo(
        episode_id=episode.episode_id,
        task_id=episode.task.task_id,
        seed=0 if sealed else episode.seed,
        state=EPISODE_STATE_TO_PB[episode.state],
        step_count=episode.step_count,
        max_steps=episode.task.max_steps,
        artifacts_read=episode.artifacts_read,
        sanity_checks_run=[CHECK_TO_PB[c] for c in episode.sanity_checks_run],
        duplicate_reads=episode.duplicate_reads,
        cumulative_reward=episode.cumulative_reward,
        scenario_id="" if sealed else episode.scenario.scenario_id,
        created_at=episode.created_at,
        sealed=sealed,
        evaluation_id=episode.evaluation.evaluation_id if episode.evaluation is not None else "",
    )
    if episode.grade is not None:
        state.grade.CopyFrom(grade_to_pb(episode.grade))
    return state


def reset_to_pb(episode: Episode, observation: pb.Observation) -> ep_pb.ResetResponse:
    """A sealed episode's seed is withheld (0): the agent must not be able to replay its scenario."""
    return ep_pb.ResetResponse(
        episode_id=episode.episode_id,
        seed=0 if episode.sealed else episode.seed,
        observation=observation,
        sealed=episode.sealed,
    )


EVALUATION_EPISODE_STATUS_TO_PB = {
    NOT_STARTED: ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED,
    UNFINISHED: ep_pb.EVALUATION_EPISODE_STATUS_UNFINISHED,
    GRADED: ep_pb.EVALUATION_EPISODE_STATUS_GRADED,
    TRUNCATED: ep_pb.EVALUATION_EPISODE_STATUS_TRUNCATED,
}


def progress_to_pb(progress: Progress) -> ep_pb.EvaluationProgress:
    return ep_pb.EvaluationProgress(
        evaluation_id=progress.evaluation_id,
        state=ep_pb.EVALUATION_STATE_CLOSED if progress.closed else ep_pb.EVALUATION_STATE_OPEN,
        tasks=[
            ep_pb.EvaluationTaskProgress(task_id=t.task_id, episodes=t.episodes, started=t.started, ended=t.ended)
            for t in progress.tasks
        ],
    )


def report_to_pb(report: Report) -> ep_pb.EvaluationReport:
    message = ep_pb.EvaluationReport(
        evaluation_id=report.evaluation_id,
        tasks=[
            ep_pb.EvaluationTaskScore(task_id=t.task_id, episodes=t.episodes, graded=t.graded, mean_score=t.mean_score)
            for t in report.tasks
        ],
        scenario_stream_key=report.stream_key,
    )
    for e in report.episodes:
        episode = message.episodes.add(
            task_id=e.task_id,
            index=e.index,
            seed=e.seed,
            scenario_id=e.scenario_id,
            episode_id=e.episode_id,
            status=EVALUATION_EPISODE_STATUS_TO_PB[e.status],
            step_count=e.step_count,
            score=e.score,
        )
        if e.grade is not None:
            episode.grade.CopyFrom(grade_to_pb(e.grade))
    return message

"""The gateway's per-frame fast paths against the general paths, on generated input (in process).

For any action dict, the pydantic-free check either declines it or yields the message that pydantic's
validation yields, and it declines exactly what pydantic refuses. For any observation, the reply
written with the static fields pre-encoded is the general encoding's text, byte for byte.
"""

from __future__ import annotations

from typing import Any

from fuzz.budget import examples
from fuzz.strategies import JSON, JSON_SCALARS, ODD_VALUES, seed_actions
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug_gateway import convert
from mlopsdebug_gateway.models import parse_action

ACTIONS = st.one_of(
    seed_actions(),
    st.builds(lambda action, metadata: {**action, "metadata": metadata}, seed_actions(), st.one_of(JSON, ODD_VALUES)),
    JSON,
)


def _general(data: Any) -> pb.Action | None:
    try:
        return convert.action_to_pb(parse_action(data))
    except ValidationError:
        return None


@given(ACTIONS)
@examples(400)
def test_checked_action_is_pydantics_verdict(data):
    assert convert.checked_action_to_pb(data) == _general(data)


FLOATS = st.floats(allow_nan=True, allow_infinity=True)
TEXTS = st.text(max_size=40)


@st.composite
def observations(draw: st.DrawFn) -> pb.Observation:
    kind = draw(st.sampled_from(["none", "artifact", "logs", "check", "field", "grade"]))
    result = pb.ActionResult()
    if kind == "artifact":
        result.artifact.name = draw(st.integers(0, 6))
        result.artifact.content = draw(TEXTS)
    elif kind == "logs":
        result.logs.log_filter, result.logs.content = draw(TEXTS), draw(TEXTS)
        result.logs.matched_lines, result.logs.total_lines = draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 99))
    elif kind == "check":
        result.sanity_check.summary = draw(TEXTS)
        result.sanity_check.metrics.update(draw(st.dictionaries(TEXTS, FLOATS, max_size=4)))
        result.sanity_check.details.extend(draw(st.lists(TEXTS, max_size=3)))
    elif kind == "field":
        result.field.found = draw(st.booleans())
        result.field.value_json = draw(st.one_of(JSON.map(convert.encode_text), JSON_SCALARS.map(str), TEXTS))
        result.field.available_keys.extend(draw(st.lists(TEXTS, max_size=3)))
    elif kind == "grade":
        result.grade.score, result.grade.raw_score = draw(FLOATS), draw(FLOATS)
    return pb.Observation(
        task_id=draw(TEXTS), task_description=draw(TEXTS), run_id=draw(TEXTS),
        run_summary=pb.RunSummary(run_id=draw(TEXTS), final_train_loss=draw(FLOATS), epochs_planned=draw(st.integers(0, 99))),
        available_artifacts=[pb.ArtifactMeta(name=draw(st.integers(0, 6)), file_name=draw(TEXTS), description=draw(TEXTS))],
        artifacts_read=draw(st.lists(TEXTS, max_size=3)), last_action_result=result,
        step_count=draw(st.integers(0, 2**31 - 1)), max_steps=draw(st.integers(0, 99)), done=draw(st.booleans()),
        messages=draw(st.lists(TEXTS, max_size=3)), terminated=draw(st.booleans()), truncated=draw(st.booleans()),
        reward=draw(FLOATS), cumulative_reward=draw(FLOATS),
    )  # fmt: skip


@given(observations(), TEXTS)
@examples(300)
def test_observation_frame_is_the_general_encoding(observation, episode_id):
    general = {"type": "observation", "data": convert.step_payload(observation, episode_id, after_reset=False)}
    static = convert.StaticObservation(observation, episode_id)
    assert convert.observation_frame(observation, episode_id, static) == convert.encode_text(general)

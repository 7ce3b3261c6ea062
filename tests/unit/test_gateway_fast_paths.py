"""The gateway's per-frame fast paths give exactly what the general paths give.

A WebSocket step's action is checked without pydantic when it is certainly valid (anything else goes
through pydantic, which names the errors), and its reply is written with the episode's static
observation fields encoded once. Both must be invisible on the wire: the same action message, the same
reply text, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from pydantic import ValidationError

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_common.domain import ACTION_TYPES, ARTIFACT_FILES, CATEGORIES, SANITY_CHECKS
from mlopsdebug_gateway import convert
from mlopsdebug_gateway.models import ACTION_FIELD_RULES, MLOpsAction, parse_action
from mlopsdebug_gateway.session import EpisodeSession


def _general(data):
    """What the general path makes of an action: its message, or None when pydantic refuses it."""
    try:
        return convert.action_to_pb(parse_action(data))
    except ValidationError:
        return None


def _assert_same(data) -> None:
    fast = convert.checked_action_to_pb(data)
    assert fast == _general(data), data
    assert (fast is None) == (_general(data) is None), data  # declines exactly what pydantic refuses


SUBMISSION = {
    "action_type": "submit_diagnosis",
    "failure_category": CATEGORIES[0],
    "root_cause_file": "config.yaml",
    "root_cause_field": "learning_rate",
    "diagnosis": "too high",
    "proposed_fix": "lower it",
}
VALID = [
    *({"action_type": kind} for kind in ACTION_TYPES if kind not in {"run_sanity_check", "query_artifact", "submit_diagnosis"}),
    {"action_type": "read_logs", "log_filter": "epoch:1-3"},
    {"action_type": "read_logs", "log_filter": ""},
    {"action_type": "read_logs", "log_filter": None},
    *({"action_type": "run_sanity_check", "sanity_check_type": check} for check in SANITY_CHECKS),
    *({"action_type": "query_artifact", "artifact_name": name, "field_path": "a.b"} for name in ARTIFACT_FILES),
    SUBMISSION,
    {**SUBMISSION, "diagnosis": None, "metadata": {"k": [1, {"x": None}]}},
    {"action_type": "read_config", "metadata": {}, "diagnosis": "ignored", "artifact_name": None},
]
INVALID = [
    None, [], "read_config", {}, {"action_type": None}, {"action_type": "READ_CONFIG"}, {"action_type": 1},
    {"action_type": "read_config", "bogus": 1},
    {"action_type": "read_config", "metadata": None},
    {"action_type": "read_config", "metadata": []},
    {"action_type": "read_logs", "log_filter": 7},
    {"action_type": "read_logs", "log_filter": True},
    {"action_type": "run_sanity_check"},
    {"action_type": "run_sanity_check", "sanity_check_type": "no_such_check"},
    {"action_type": "query_artifact", "artifact_name": "config.yaml"},
    {"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": ""},
    {"action_type": "query_artifact", "artifact_name": "nope.json", "field_path": "a"},
    {**SUBMISSION, "proposed_fix": ""},
    {**SUBMISSION, "proposed_fix": None},
    {**SUBMISSION, "failure_category": "Config_Error"},
    {**SUBMISSION, "root_cause_field": ["learning_rate"]},
]


class TestCheckedAction:
    @pytest.mark.parametrize("data", VALID, ids=lambda d: str(d)[:60])
    def test_valid_actions_take_the_fast_path_to_the_same_message(self, data):
        assert convert.checked_action_to_pb(data) is not None
        _assert_same(data)

    @pytest.mark.parametrize("data", INVALID, ids=lambda d: str(d)[:60])
    def test_invalid_actions_are_left_to_pydantic(self, data):
        assert convert.checked_action_to_pb(data) is None
        _assert_same(data)

    @pytest.mark.parametrize("name", [n for n, rule in ACTION_FIELD_RULES.items() if isinstance(rule, tuple)])
    def test_length_limits_are_the_models_to_the_character(self, name):
        """At, below and beyond each limit, in ASCII and in characters outside the BMP (one code point
        each, several bytes): the fast path accepts exactly what the model accepts."""
        low, high = ACTION_FIELD_RULES[name]
        base = dict(SUBMISSION) if name in SUBMISSION else {"action_type": "read_logs"}
        for char in ("x", "\U0001f600"):
            for length in sorted({0, low - 1, low, high, high + 1} - {-1}):
                _assert_same({**base, name: char * length})

    def test_the_rules_cover_every_field_of_the_model(self):
        assert set(ACTION_FIELD_RULES) | {"action_type"} == set(MLOpsAction.model_fields)


def _observation(result: pb.ActionResult, **overrides) -> pb.Observation:
    obs = pb.Observation(
        task_id="hard",
        task_description="debug it \u2014 \"quoted\" \\ and \n newlines",
        run_id="run-7",
        run_summary=pb.RunSummary(run_id="run-7", model="m", training_status=pb.TRAINING_STATUS_DIVERGED,
                                  final_train_loss=math.nan, final_val_loss=math.inf, val_metric=0.25),
        available_artifacts=[
            pb.ArtifactMeta(name=pb.ARTIFACT_NAME_CONFIG_YAML, file_name="config.yaml", description="d", size_hint="1"),
            pb.ArtifactMeta(name=pb.ARTIFACT_NAME_TRAIN_LOG, description="no file name"),
        ],
        artifacts_read=["config.yaml"],
        last_action_result=result,
        step_count=3,
        max_steps=40,
        reward=-0.02,
        cumulative_reward=0.04,
        messages=["37 steps left"],
    )
    for name, value in overrides.items():
        setattr(obs, name, value)
    return obs


def _field(value_json: str) -> pb.ActionResult:
    return pb.ActionResult(field=pb.FieldValue(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="a", found=True,
                                               value_json=value_json))


RESULTS = {
    "empty": pb.ActionResult(),
    "artifact": pb.ActionResult(artifact=pb.ArtifactContent(name=pb.ARTIFACT_NAME_CONFIG_YAML, content="a: 1\n\u00e9")),
    "logs": pb.ActionResult(logs=pb.LogExcerpt(log_filter="nan", content="x", matched_lines=1, total_lines=9)),
    "check": pb.ActionResult(sanity_check=pb.SanityCheckResult(
        check=pb.SANITY_CHECK_TYPE_DATA_LEAKAGE, status=pb.CHECK_STATUS_WARN, summary="s",
        metrics={"overlap": math.nan, "count": 3.0, "big": math.inf}, details=["d"])),
    "field": _field('{"x": [1, 2.5, null, "s"]}'),
    "field, missing": pb.ActionResult(field=pb.FieldValue(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="zz",
                                                          available_keys=["a", "b"])),
    "field, not JSON": _field("not json"),
    "field, NaN (json.loads only)": _field("NaN"),
    "field, integer beyond 64 bits": _field(str(2**70)),
    "field, lone surrogate": _field('"\\ud800"'),
    "field, float exponent": _field("1e400"),
    "grade": pb.ActionResult(grade=pb.Grade(score=0.5, raw_score=0.5, components=[
        pb.GradeComponent(kind=pb.GRADE_COMPONENT_KIND_FIELD, weight=0.3, credit=1.0, reason="r")])),
}


def _general_frame(observation: pb.Observation, episode_id: str) -> str:
    return convert.encode_text({"type": "observation", "data": convert.step_payload(observation, episode_id, after_reset=False)})


class TestObservationFrame:
    @pytest.mark.parametrize("kind", sorted(RESULTS))
    def test_frame_is_the_general_encoding_to_the_byte(self, kind):
        observation = _observation(RESULTS[kind])
        static = convert.StaticObservation(_observation(pb.ActionResult()), "ep-1")
        frame = convert.observation_frame(observation, "ep-1", static)
        assert frame == _general_frame(observation, "ep-1")
        assert json.loads(frame)["data"]["observation"]["run_id"] == "run-7"

    def test_ended_episode(self):
        observation = _observation(RESULTS["grade"], done=True, terminated=True, reward=math.nan)
        static = convert.StaticObservation(observation, "ep-1")
        assert convert.observation_frame(observation, "ep-1", static) == _general_frame(observation, "ep-1")

    def test_field_values_decode_as_json_loads_decodes_them(self):
        texts = ['{"a": 1, "a": 2}', "-0.0", "-0", "1E2", "1e400", "1.7976931348623157e308", "5e-324", "0.1",
                 str(2**64 - 1), str(2**64), "[]", '"\\u00e9"', '"\\ud800"', "NaN", "-Infinity"]
        for text in texts:
            value = convert.action_result_json(_field(text))["value"]
            expected = json.loads(text)
            assert type(value) is type(expected), text
            assert convert.encode_text(value) == convert.encode_text(expected), text


class _FakeTransport:
    """Answers reset and step with prepared observations (a unit test: no episode service)."""

    generation = 0
    closes_episodes_on_end = True

    def __init__(self, observations: list[pb.Observation]) -> None:
        self.observations = observations
        self.steps: list[ep_pb.StepRequest] = []

    async def reset(self, request):
        return ep_pb.ResetResponse(episode_id="ep-9", observation=self.observations.pop(0))

    async def step(self, request, *, timeout_s=None):
        self.steps.append(request)
        return ep_pb.StepResponse(observation=self.observations.pop(0))

    async def close(self, request):
        return ep_pb.CloseEpisodeResponse()

    async def aclose(self):
        return None


class TestSessionFrames:
    def test_step_frames_match_the_general_path_and_follow_a_new_scenario(self):
        """Every step's frame is the general path's text; an observation of another run (which an episode
        never sends) is encoded from its own static fields, not the cached ones."""
        first = _observation(pb.ActionResult())
        steps = [_observation(RESULTS["artifact"]), _observation(RESULTS["check"]), _observation(RESULTS["field"])]
        other = _observation(RESULTS["logs"], run_id="run-8", task_description="another scenario")
        transport = _FakeTransport([first, *steps, other])
        session = EpisodeSession(transport, default_task_id="hard")

        async def play():
            await session.reset({"seed": 1})
            return [await session.step_frame({"action_type": "read_config"}) for _ in range(4)]

        frames = asyncio.run(play())
        assert frames == [_general_frame(observation, "ep-9") for observation in [*steps, other]]
        assert json.loads(frames[-1])["data"]["observation"]["task_description"] == "another scenario"
        assert all(request.episode_id == "ep-9" and request.action.HasField("read_config") for request in transport.steps)

    def test_an_invalid_action_still_raises_pydantics_errors(self):
        session = EpisodeSession(_FakeTransport([_observation(pb.ActionResult())]), default_task_id="hard")

        async def play():
            await session.reset({})
            await session.step_frame({"action_type": "run_sanity_check"})

        with pytest.raises(ValidationError) as info:
            asyncio.run(play())
        assert info.value.errors()[0]["loc"] == ("sanity_check_type",)

"""Hypothesis strategies for hostile input: protobuf requests with odd values, raw bytes, and JSON.

Odd values on purpose: int64 extremes, negative and huge seeds, enum numbers nobody defined (proto3
enums are open, so they decode), empty or mixed-up oneofs, strings at and past their caps, unicode,
unknown fields. Valid values appear too, so that the fuzzer also reaches the code behind validation.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
from mlopsdebug_common.domain import ACTION_TYPES, ARTIFACT_FILES, CATEGORIES, SANITY_CHECKS
from mlopsdebug_common.tasks import MAX_SEED, TASK_ORDER

INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
SEEDS = st.one_of(
    st.sampled_from([0, 1, 7, MAX_SEED, MAX_SEED + 1, -1, -(2**63), 2**63 - 1]), st.integers(0, 10_000), INT64
)
# Text: short, exactly-at and just-past the 200 / 4000 character caps, unicode, control characters.
# (Long strings are built, not listed, so that a failing example prints short.)
TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from(["", " ", "\x00", "config.yaml", "optimizer.learning_rate"]),
    st.builds(lambda char, n: char * n, st.sampled_from(["a", "é", "\u2028", "😀"]),
              st.sampled_from([199, 200, 201, 3999, 4000, 4001, 70_000])),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=190, max_size=260),
)
TASK_IDS = st.one_of(st.sampled_from([*TASK_ORDER, "", "EASY", "expert", "easy "]), TEXT)
EPISODE_IDS = st.one_of(
    st.sampled_from(["", "ep-1", "no-such-episode", "bad id", "../x"]),
    st.builds(lambda n: "e" * n, st.sampled_from([128, 129])),
    TEXT,
)
ENUMS = st.one_of(st.integers(0, 12), INT32)  # defined values, then anything an open enum decodes


def diagnoses() -> st.SearchStrategy[pb.Diagnosis]:
    return st.builds(
        pb.Diagnosis,
        failure_category=ENUMS,
        root_cause_file=TEXT,
        root_cause_field=TEXT,
        diagnosis=TEXT,
        proposed_fix=TEXT,
    )


def actions() -> st.SearchStrategy[pb.Action]:
    """Every oneof variant with odd values, plus the empty oneof."""
    return st.one_of(
        st.just(pb.Action()),
        st.just(pb.Action(read_config=pb.ReadConfig())),
        st.builds(lambda f: pb.Action(read_logs=pb.ReadLogs(log_filter=f)),
                  st.one_of(TEXT, st.sampled_from(["epoch:1-2", "epoch:0", "epoch:5-1", "epoch:-1--3",
                                                   f"epoch:1-{2**70}", "epoch:", "EPOCH:1"]))),
        st.just(pb.Action(check_dataset_stats=pb.CheckDatasetStats())),
        st.just(pb.Action(inspect_preprocessing=pb.InspectPreprocessing())),
        st.just(pb.Action(read_eval_results=pb.ReadEvalResults())),
        st.builds(lambda c: pb.Action(run_sanity_check=pb.RunSanityCheck(check=c)), ENUMS),
        st.builds(lambda a, p: pb.Action(query_artifact=pb.QueryArtifact(artifact=a, field_path=p)), ENUMS,
                  st.one_of(TEXT, st.sampled_from(["splits.0", "splits.-1", "a..b", ".", "splits.99999999999"]))),
        st.builds(lambda d: pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=d)), diagnoses()),
        st.just(pb.Action(submit_diagnosis=pb.SubmitDiagnosis())),
    )


def reset_requests() -> st.SearchStrategy[ep_pb.ResetRequest]:
    def build(task_id: str, seed: int | None, episode_id: str) -> ep_pb.ResetRequest:
        request = ep_pb.ResetRequest(task_id=task_id, episode_id=episode_id)
        if seed is not None:
            request.seed = seed
        return request

    return st.builds(build, TASK_IDS, st.none() | SEEDS, st.one_of(st.just(""), EPISODE_IDS))


def step_requests(episode_ids: st.SearchStrategy[str]) -> st.SearchStrategy[ep_pb.StepRequest]:
    return st.builds(
        lambda episode_id, action, has_action: ep_pb.StepRequest(episode_id=episode_id, action=action)
        if has_action else ep_pb.StepRequest(episode_id=episode_id),
        episode_ids, actions(), st.booleans(),
    )


def step_batches(episode_ids: st.SearchStrategy[str]) -> st.SearchStrategy[ep_pb.StepBatchRequest]:
    """Empty, normal, duplicated and over-long (> 64) batches."""
    items = step_requests(episode_ids)
    return st.one_of(
        st.builds(lambda steps: ep_pb.StepBatchRequest(steps=steps), st.lists(items, max_size=6)),
        st.builds(lambda step, n: ep_pb.StepBatchRequest(steps=[step] * n), items, st.integers(2, 70)),
    )


def session_requests(episode_ids: st.SearchStrategy[str]) -> st.SearchStrategy[ep_pb.SessionRequest]:
    request_ids = st.one_of(st.just(""), st.text(max_size=80))
    return st.one_of(
        st.builds(lambda rid: ep_pb.SessionRequest(request_id=rid), request_ids),  # no oneof set
        st.builds(lambda rid, r: ep_pb.SessionRequest(request_id=rid, reset=r), request_ids, reset_requests()),
        st.builds(lambda rid, s: ep_pb.SessionRequest(request_id=rid, step=s), request_ids,
                  step_requests(st.one_of(st.just(""), episode_ids))),
        st.builds(lambda rid, e: ep_pb.SessionRequest(request_id=rid, get_state=ep_pb.GetStateRequest(episode_id=e)),
                  request_ids, st.one_of(st.just(""), episode_ids)),
        st.builds(lambda rid, e: ep_pb.SessionRequest(request_id=rid, close=ep_pb.CloseEpisodeRequest(episode_id=e)),
                  request_ids, EPISODE_IDS),
        st.builds(lambda rid, b: ep_pb.SessionRequest(request_id=rid, step_batch=b), request_ids,
                  step_batches(st.one_of(st.just(""), episode_ids))),
    )


def generate_requests() -> st.SearchStrategy[gen_pb.GenerateScenarioRequest]:
    return st.builds(gen_pb.GenerateScenarioRequest, task_id=TASK_IDS, seed=SEEDS)


def sealed_keys(real: list[pb.SealedAnswerKey]) -> st.SearchStrategy[pb.SealedAnswerKey]:
    """Real keys, keys with a flipped byte or a swapped scenario id, and junk."""

    def tamper(key: pb.SealedAnswerKey, where: str, index: int) -> pb.SealedAnswerKey:
        copy = pb.SealedAnswerKey()
        copy.CopyFrom(key)
        if where in ("scenario_id", "key_id"):
            setattr(copy, where, getattr(copy, where) + "x")
        else:
            data = bytearray(getattr(copy, where))
            if data:
                data[index % len(data)] ^= 0x01
            setattr(copy, where, bytes(data))
        return copy

    junk = st.builds(pb.SealedAnswerKey, key_id=TEXT, nonce=st.binary(max_size=40), ciphertext=st.binary(max_size=300),
                     scenario_id=TEXT)
    return st.one_of(
        st.sampled_from(real),
        st.builds(tamper, st.sampled_from(real), st.sampled_from(["nonce", "ciphertext", "key_id", "scenario_id"]),
                  st.integers(0, 1000)),
        st.just(pb.SealedAnswerKey()),
        junk,
    )


def grade_requests(real_keys: list[pb.SealedAnswerKey]) -> st.SearchStrategy[grader_pb.GradeRequest]:
    def build(key: pb.SealedAnswerKey | None, diagnosis: pb.Diagnosis | None, reveal: bool) -> grader_pb.GradeRequest:
        request = grader_pb.GradeRequest(reveal_answer=reveal)
        if key is not None:
            request.answer_key.CopyFrom(key)
        if diagnosis is not None:
            request.diagnosis.CopyFrom(diagnosis)
        return request

    return st.builds(build, st.none() | sealed_keys(real_keys), st.none() | diagnoses(), st.booleans())


def raw_messages() -> st.SearchStrategy[bytes]:
    """Raw request bytes: random (mostly undecodable), truncated varints, wrong wire types, unknown fields."""
    return st.one_of(
        st.binary(max_size=200),
        st.sampled_from([
            b"\x08",  # field 1 varint, truncated
            b"\x0a\xff\xff\xff\xff\x0f",  # field 1 length-delimited, absurd length
            b"\x0a\x02\xff\xfe",  # field 1 string that is not UTF-8
            b"\x10\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # an 11-byte varint
            b"\x0f",  # wire type 7 (invalid)
            b"\xf8\xff\xff\xff\x0f\x01",  # an unknown, valid field 536870911 (decodes; must be ignored)
            b"",
        ]),
    )


# -- JSON, for the gateway --

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                              max_size=4), max_leaves=12)
ODD_VALUES = st.one_of(JSON_SCALARS, st.sampled_from([True, "12", 12.0, -1, 2**64, "", [], {}, [1]]),
                       st.builds(lambda n: "x" * n, st.sampled_from([201, 4001, 100_000])))


def seed_actions() -> st.SearchStrategy[dict[str, Any]]:
    """Seed-shaped action dicts: valid ones, ones with a wrong-typed or out-of-range field, unknown keys."""
    valid_values = {
        "action_type": st.sampled_from(ACTION_TYPES),
        "log_filter": st.one_of(st.text(max_size=20), st.just("epoch:1-3")),
        "sanity_check_type": st.sampled_from(SANITY_CHECKS),
        "artifact_name": st.sampled_from(ARTIFACT_FILES),
        "field_path": st.sampled_from(["optimizer.learning_rate", "splits.0", "x"]),
        "failure_category": st.sampled_from(CATEGORIES),
        "root_cause_file": st.sampled_from(ARTIFACT_FILES),
        "root_cause_field": st.text(min_size=1, max_size=20),
        "diagnosis": st.text(max_size=40),
        "proposed_fix": st.text(min_size=1, max_size=40),
    }
    keys = st.sets(st.sampled_from(sorted(valid_values)), max_size=5)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        action = {"action_type": draw(valid_values["action_type"])}
        for key in draw(keys):
            action[key] = draw(st.one_of(valid_values[key], ODD_VALUES))
        if draw(st.booleans()):
            action[draw(st.text(min_size=1, max_size=10))] = draw(JSON_SCALARS)
        return action

    return build()

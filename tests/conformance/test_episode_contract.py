"""The episode service's contract, checked as a black box over gRPC: reset, step, state and close, every
action type, the step rewards, the budget, submission, determinism, and the status of every refusal.

Each rule here is documented in README.md ("Episode rules", "Errors") and in the .proto comments.
"""

from __future__ import annotations

import math
import queue
import threading

import grpc
import pytest
from conformance.contract import (
    FAMILY_BUDGETS,
    GRADE_WEIGHTS,
    READ_ACTIONS,
    REWARD_NEW_ARTIFACT,
    REWARD_NEW_SANITY_CHECK,
    REWARD_REPEATED_READ,
    Episodes,
    action,
    canonical,
    diagnosis,
    enum_number,
    every_action,
    refused,
)

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep
from mlopsdebug_client import vocabulary

MAX_SEED = 2**53 - 1
# The documented rewards of every_action(): five first reads, a differently filtered log read, eight
# first sanity checks, field queries of the three structured artifacts already read, and of
# model_card.json, which no read action reads: a first read.
EVERY_ACTION_REWARDS = [REWARD_NEW_ARTIFACT] * 5 + [0.0] + [REWARD_NEW_SANITY_CHECK] * 8 + [0.0] * 3 + [REWARD_NEW_ARTIFACT]


def state_name(name: str) -> int:
    return enum_number(pb.EpisodeState, name)


class TestTasks:
    def test_the_three_families_come_first_with_their_budgets(self, episodes: Episodes):
        tasks = episodes.list_tasks().tasks
        assert [(t.task_id, t.max_steps) for t in tasks[:3]] == list(FAMILY_BUDGETS.items())
        assert len({t.task_id for t in tasks}) == len(tasks)
        for task in tasks:
            assert task.reward_min <= 0.0 < 1.0 <= task.reward_max and task.max_steps > 0
        assert tasks[2].asymmetric_penalty and not tasks[0].asymmetric_penalty


class TestReset:
    @pytest.mark.parametrize("task_id", list(FAMILY_BUDGETS))
    def test_a_reset_starts_a_fresh_episode(self, episodes: Episodes, budgets, task_id):
        reset = episodes.reset(task_id, 5)
        obs = reset.observation
        assert reset.episode_id and reset.seed == 5 and obs.task_id == task_id and obs.run_id
        assert (obs.step_count, obs.max_steps) == (0, budgets[task_id])
        assert not (obs.done or obs.terminated or obs.truncated)
        assert (obs.reward, obs.cumulative_reward) == (0.0, 0.0)
        assert not obs.artifacts_read and not obs.HasField("last_action_result")
        assert [a.name for a in obs.available_artifacts] == [enum_number(pb.ArtifactName, a) for a in vocabulary.ARTIFACTS]
        state = episodes.state(reset.episode_id)
        assert (state.episode_id, state.task_id, state.seed, state.step_count) == (reset.episode_id, task_id, 5, 0)
        assert state.state == state_name("running") and not state.HasField("grade")
        episodes.close(reset.episode_id)

    def test_a_reset_without_a_seed_draws_one_and_reports_it(self, episodes: Episodes):
        drawn = episodes.reset("easy")
        assert 0 <= drawn.seed <= MAX_SEED
        again = episodes.reset("easy", drawn.seed)
        assert canonical(again.observation) == canonical(drawn.observation)

    def test_a_caller_chosen_episode_id_is_kept_and_unique(self, episodes: Episodes):
        reset = episodes.reset("easy", 1, episode_id="conformance-chosen-id")
        assert reset.episode_id == "conformance-chosen-id"
        assert refused(episodes.reset, "easy", 1, episode_id="conformance-chosen-id").code == grpc.StatusCode.ALREADY_EXISTS
        episodes.close("conformance-chosen-id")
        assert episodes.reset("easy", 1, episode_id="conformance-chosen-id").episode_id == "conformance-chosen-id"
        episodes.close("conformance-chosen-id")

    @pytest.mark.parametrize(("request_fields", "field"), [
        ({"task_id": "expert", "seed": 1}, "task_id"),
        ({"task_id": "", "seed": 1}, "task_id"),
        ({"task_id": "easy", "seed": -1}, "seed"),
        ({"task_id": "easy", "seed": MAX_SEED + 1}, "seed"),
        ({"task_id": "easy", "seed": 1, "episode_id": "spaces are not allowed"}, "episode_id"),
    ])
    def test_bad_resets_are_invalid_argument_naming_the_field(self, episodes: Episodes, request_fields, field):
        refusal = refused(episodes.call, "Reset", ep.ResetRequest(**request_fields))
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT
        assert refusal.reason and refusal.domain and field in refusal.fields


class TestDeterminism:
    @pytest.mark.parametrize("task_id", list(FAMILY_BUDGETS))
    def test_one_task_and_seed_observe_alike_in_every_episode(self, episodes: Episodes, task_id):
        """Two episodes of (task, seed) see byte-identical observations for the same actions, the
        submission's grade included; another seed is another scenario."""
        first, second = episodes.reset(task_id, 424242), episodes.reset(task_id, 424242)
        assert first.episode_id != second.episode_id
        assert canonical(first.observation) == canonical(second.observation)
        for act in [*every_action(), action("submit_diagnosis")]:
            assert canonical(episodes.step(first.episode_id, act)) == canonical(episodes.step(second.episode_id, act))
        other = episodes.reset(task_id, 424243).observation
        assert other.run_id != first.observation.run_id


class TestActions:
    def test_every_read_returns_its_artifact(self, episodes: Episodes):
        episode_id = episodes.reset("medium", 3).episode_id
        for kind, name in READ_ACTIONS.items():
            result = episodes.step(episode_id, action(kind)).last_action_result
            kind_of_result = result.WhichOneof("result")
            if kind == "read_logs":
                assert kind_of_result == "logs" and result.logs.content
                assert 0 < result.logs.matched_lines <= result.logs.total_lines
            else:
                assert kind_of_result == "artifact" and result.artifact.content
                assert result.artifact.name == enum_number(pb.ArtifactName, name)
        obs = episodes.step(episode_id, action("read_logs", log_filter="epoch:1-2"))
        assert obs.last_action_result.logs.log_filter == "epoch:1-2"
        assert obs.last_action_result.logs.matched_lines <= obs.last_action_result.logs.total_lines
        assert list(obs.artifacts_read) == list(READ_ACTIONS.values())

    def test_every_sanity_check_answers_for_itself(self, episodes: Episodes):
        episode_id = episodes.reset("hard", 3).episode_id
        statuses = {enum_number(pb.CheckStatus, s) for s in vocabulary.CHECK_STATUSES}
        for check in vocabulary.SANITY_CHECKS:
            result = episodes.step(episode_id, action("run_sanity_check", check=check)).last_action_result
            assert result.WhichOneof("result") == "sanity_check"
            assert result.sanity_check.check == enum_number(pb.SanityCheckType, check)
            assert result.sanity_check.status in statuses and result.sanity_check.summary
        assert episodes.state(episode_id).sanity_checks_run == [
            enum_number(pb.SanityCheckType, c) for c in vocabulary.SANITY_CHECKS]

    @pytest.mark.parametrize("artifact", vocabulary.STRUCTURED_ARTIFACTS)
    def test_a_field_query_finds_a_listed_key_and_reports_a_missing_one(self, episodes: Episodes, artifact):
        episode_id = episodes.reset("easy", 8).episode_id
        missing = episodes.step(episode_id, action("query_artifact", artifact=artifact, field_path="no_such_key"))
        lookup = missing.last_action_result.field
        assert missing.last_action_result.WhichOneof("result") == "field" and not lookup.found
        assert lookup.available_keys
        found = episodes.step(episode_id, action("query_artifact", artifact=artifact,
                                                 field_path=lookup.available_keys[0])).last_action_result.field
        assert found.found and found.value_json

    def test_a_submission_is_graded_and_ends_the_episode(self, episodes: Episodes):
        episode_id = episodes.reset("medium", 6).episode_id
        episodes.step(episode_id, action("read_config"))
        obs = episodes.step(episode_id, action("submit_diagnosis", category="data_leakage", file="preprocessing.py",
                                               field="scaler", fix="fit the scaler on the training split only"))
        grade = obs.last_action_result.grade
        assert obs.last_action_result.WhichOneof("result") == "grade"
        assert obs.terminated and obs.done and not obs.truncated and obs.step_count == 2
        assert 0.0 <= grade.score <= 1.0 and obs.reward == pytest.approx(grade.score)
        assert obs.cumulative_reward == pytest.approx(REWARD_NEW_ARTIFACT + grade.score)
        kinds = [vocabulary.GRADE_COMPONENTS[c.kind - 1] for c in grade.components]
        assert kinds == list(GRADE_WEIGHTS) and [c.weight for c in grade.components] == pytest.approx(
            list(GRADE_WEIGHTS.values()))
        assert all(0.0 <= c.credit <= 1.0 and c.reason for c in grade.components)
        state = episodes.state(episode_id)
        assert state.state == state_name("terminated") and state.grade.score == pytest.approx(grade.score)


class TestRewards:
    def test_every_action_earns_the_documented_reward(self, episodes: Episodes):
        episode_id = episodes.reset("easy", 12).episode_id
        rewards, total = [], 0.0
        for step_count, act in enumerate(every_action(), start=1):
            obs = episodes.step(episode_id, act)
            rewards.append(obs.reward)
            total += obs.reward
            assert obs.step_count == step_count and obs.cumulative_reward == pytest.approx(total)
        assert rewards == pytest.approx(EVERY_ACTION_REWARDS)

    def test_repeats(self, episodes: Episodes):
        """An identical read costs -0.02 every time; a sanity check earns only its first run."""
        episode_id = episodes.reset("medium", 12).episode_id
        script = [action("read_config"), action("read_config"), action("read_config"),
                  action("run_sanity_check", check="class_balance"), action("run_sanity_check", check="class_balance"),
                  action("read_logs", log_filter="loss"), action("read_logs", log_filter="loss"),
                  action("read_logs", log_filter="warning")]
        rewards = [episodes.step(episode_id, act).reward for act in script]
        assert rewards == pytest.approx([REWARD_NEW_ARTIFACT, REWARD_REPEATED_READ, REWARD_REPEATED_READ,
                                         REWARD_NEW_SANITY_CHECK, 0.0,
                                         REWARD_NEW_ARTIFACT, REWARD_REPEATED_READ, 0.0])
        assert episodes.state(episode_id).duplicate_reads == 3


class TestEpisodeEnd:
    def test_the_budget_truncates_after_the_last_action_runs(self, episodes: Episodes, budgets):
        episode_id = episodes.reset("easy", 30).episode_id
        budget = budgets["easy"]
        for step_count in range(1, budget + 1):
            obs = episodes.step(episode_id, action("run_sanity_check", check=vocabulary.SANITY_CHECKS[step_count % 8]))
            assert obs.step_count == step_count and obs.last_action_result.WhichOneof("result") == "sanity_check"
            assert obs.truncated == obs.done == (step_count == budget) and not obs.terminated
        assert obs.cumulative_reward == pytest.approx(8 * REWARD_NEW_SANITY_CHECK)
        refusal = refused(episodes.step, episode_id, action("read_config"))
        assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
        refusal = refused(episodes.step, episode_id, action("submit_diagnosis"))
        assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION
        state = episodes.state(episode_id)
        assert (state.state, state.step_count) == (state_name("truncated"), budget) and not state.HasField("grade")

    def test_nothing_acts_after_a_submission_and_close_forgets(self, episodes: Episodes):
        episode_id = episodes.reset("hard", 31).episode_id
        episodes.step(episode_id, action("submit_diagnosis"))
        for act in (action("read_config"), action("submit_diagnosis")):
            assert refused(episodes.step, episode_id, act).code == grpc.StatusCode.FAILED_PRECONDITION
        assert episodes.state(episode_id).step_count == 1
        closed = episodes.close(episode_id)
        assert closed.state == state_name("terminated")
        for call in (episodes.state, episodes.close):
            assert refused(call, episode_id).code == grpc.StatusCode.NOT_FOUND
        assert refused(episodes.step, episode_id, action("read_config")).code == grpc.StatusCode.NOT_FOUND

    def test_a_running_episode_can_be_closed(self, episodes: Episodes):
        episode_id = episodes.reset("easy", 32).episode_id
        episodes.step(episode_id, action("read_config"))
        closed = episodes.close(episode_id)
        assert (closed.step_count, closed.state) == (1, state_name("running")) and not closed.HasField("grade")
        assert refused(episodes.state, episode_id).code == grpc.StatusCode.NOT_FOUND


def long_text(n: int) -> str:
    return "x" * n


BAD_ACTIONS = {
    "no action": None,
    "an empty action": pb.Action(),
    "an unspecified sanity check": pb.Action(run_sanity_check=pb.RunSanityCheck()),
    "an unknown sanity check": pb.Action(run_sanity_check=pb.RunSanityCheck(check=999)),
    "a query of no artifact": pb.Action(query_artifact=pb.QueryArtifact(field_path="a")),
    "a query of a text artifact": action("query_artifact", artifact="train.log", field_path="a"),
    "a query without a path": action("query_artifact", artifact="config.yaml", field_path=""),
    "a log filter over 200 characters": action("read_logs", log_filter=long_text(201)),
    "a diagnosis without a category": pb.Action(submit_diagnosis=pb.SubmitDiagnosis(
        diagnosis=pb.Diagnosis(root_cause_file="config.yaml", root_cause_field="lr", proposed_fix="lower it"))),
    "a fix over 4000 characters": pb.Action(submit_diagnosis=pb.SubmitDiagnosis(
        diagnosis=diagnosis(fix=long_text(4001)))),
    "a field over 200 characters": pb.Action(submit_diagnosis=pb.SubmitDiagnosis(
        diagnosis=diagnosis(field=long_text(201)))),
}


class TestRefusals:
    @pytest.mark.parametrize("name", list(BAD_ACTIONS))
    def test_a_bad_action_is_invalid_argument_and_changes_nothing(self, episodes: Episodes, name):
        episode_id = episodes.reset("easy", 40).episode_id
        refusal = refused(episodes.step, episode_id, BAD_ACTIONS[name])
        assert refusal.code == grpc.StatusCode.INVALID_ARGUMENT and refusal.reason and refusal.message
        state = episodes.state(episode_id)
        assert (state.step_count, state.cumulative_reward, state.state) == (0, 0.0, state_name("running"))
        assert episodes.step(episode_id, action("read_config")).reward == pytest.approx(REWARD_NEW_ARTIFACT)

    @pytest.mark.parametrize("method", ["Step", "GetState", "CloseEpisode"])
    def test_unknown_and_missing_episode_ids(self, episodes: Episodes, method):
        request_type = {"Step": ep.StepRequest, "GetState": ep.GetStateRequest, "CloseEpisode": ep.CloseEpisodeRequest}
        make = request_type[method]
        extra = {"action": action("read_config")} if method == "Step" else {}
        unknown = refused(episodes.call, method, make(episode_id="conformance-no-such-episode", **extra))
        assert unknown.code == grpc.StatusCode.NOT_FOUND and unknown.reason
        missing = refused(episodes.call, method, make(episode_id="", **extra))
        assert missing.code == grpc.StatusCode.INVALID_ARGUMENT and "episode_id" in missing.fields

    @pytest.mark.parametrize("method", ["Reset", "Step", "GetState"])
    def test_undecodable_requests_are_invalid_argument(self, episodes: Episodes, method):
        call = episodes.channel.unary_unary(f"/mlopsdebug.episode.v1.EpisodeService/{method}")
        try:
            call(b"\x0a\xff", timeout=30, metadata=())
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[attr-defined]
        else:
            raise AssertionError("an undecodable request was accepted")

    def test_no_answer_while_an_episode_runs(self, episodes: Episodes):
        """Nothing the agent receives before its submission carries a grade or an answer."""
        reset = episodes.reset("hard", 41)
        for act in every_action():
            assert not episodes.step(reset.episode_id, act).last_action_result.HasField("grade")
            assert not episodes.state(reset.episode_id).HasField("grade")


class TestSessionStream:
    def test_one_stream_carries_a_whole_episode_and_keeps_errors_in_band(self, episodes: Episodes):
        requests: queue.Queue[ep.SessionRequest | None] = queue.Queue()

        def outgoing():
            while (item := requests.get()) is not None:
                yield item

        responses = episodes.session(outgoing())
        lock = threading.Lock()

        def exchange(**fields) -> ep.SessionResponse:
            with lock:
                requests.put(ep.SessionRequest(**fields))
                return next(responses)

        try:
            reset = exchange(request_id="r1", reset=ep.ResetRequest(task_id="easy", seed=50))
            assert reset.request_id == "r1" and reset.WhichOneof("response") == "reset"
            episode_id = reset.reset.episode_id
            stepped = exchange(request_id="r2", step=ep.StepRequest(action=action("read_config")))  # the current one
            assert stepped.step.observation.step_count == 1 and stepped.step.observation.reward == pytest.approx(0.02)
            bad = exchange(request_id="r3", step=ep.StepRequest(episode_id=episode_id, action=pb.Action()))
            assert bad.request_id == "r3" and bad.WhichOneof("response") == "error"
            assert bad.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
            state = exchange(request_id="r4", get_state=ep.GetStateRequest())
            assert (state.get_state.state.episode_id, state.get_state.state.step_count) == (episode_id, 1)
            closed = exchange(request_id="r5", close=ep.CloseEpisodeRequest(episode_id=episode_id))
            assert closed.close.state.episode_id == episode_id
            gone = exchange(request_id="r6", get_state=ep.GetStateRequest(episode_id=episode_id))
            assert gone.error.code == grpc.StatusCode.NOT_FOUND.value[0]
        finally:
            requests.put(None)
            for _ in responses:
                pass

    def test_scores_and_rewards_are_finite(self, episodes: Episodes):
        """No NaN or infinity reaches the agent (rewards, cumulative reward, metrics of the summary)."""
        obs = episodes.reset("hard", 51).observation
        values = [obs.reward, obs.cumulative_reward, obs.run_summary.val_metric, obs.run_summary.test_metric]
        assert all(math.isfinite(v) for v in values)

"""The episode service over real gRPC: full episodes, isolation, bad input, outages, limits."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from answers import gold_diagnosis, open_key, seeds_by_fault
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_client import (
    AlreadyExistsError,
    AsyncEpisodeClient,
    ClientConfig,
    EpisodeClient,
    FailedPreconditionError,
    GeneratorClient,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
    actions,
)
from mlopsdebug_common.faults import FAULTS


def submit_action(diagnosis: pb.Diagnosis) -> pb.Action:
    return pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=diagnosis))


READS = [
    actions.read_config(),
    actions.read_logs(),
    actions.check_dataset_stats(),
    actions.inspect_preprocessing(),
    actions.read_eval_results(),
    actions.run_sanity_check("data_leakage"),
    actions.query_artifact("model_card.json", "model"),
]


@pytest.fixture(scope="module")
def fault_seeds(cluster):
    return seeds_by_fault(cluster.address("generator"), cluster.secret)


@pytest.fixture
def client(cluster):
    with EpisodeClient(cluster.episode_addr, config=ClientConfig(timeout_s=10)) as c:
        yield c


def answer_key(cluster, task_id, seed):
    with GeneratorClient(cluster.address("generator")) as generator:
        return open_key(cluster.secret, generator.generate_scenario(task_id, seed).scenario.answer_key)


class TestFullEpisodes:
    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_unary_episode_per_fault(self, cluster, client, fault_seeds, fault):
        """Investigate then submit the correct diagnosis over unary calls; the grade is the reward."""
        task_id = FAULTS[fault].task_id
        seed = fault_seeds[fault][0]
        reset = client.reset(task_id, seed)
        assert reset.seed == seed and reset.observation.step_count == 0 and reset.observation.max_steps > 0
        rewards = [client.step(reset.episode_id, a).observation.reward for a in READS]
        assert rewards == pytest.approx([0.02] * 5 + [0.01, 0.02])
        key = answer_key(cluster, task_id, seed)
        final = client.step(reset.episode_id, submit_action(gold_diagnosis(key))).observation
        assert final.terminated and final.done and not final.truncated
        assert final.reward == pytest.approx(final.last_action_result.grade.score)
        assert final.reward >= 0.95
        assert final.cumulative_reward == pytest.approx(sum(rewards) + final.reward)
        state = client.get_state(reset.episode_id).state
        assert state.state == pb.EPISODE_STATE_TERMINATED and state.step_count == len(READS) + 1
        client.close_episode(reset.episode_id)

    @pytest.mark.parametrize("fault", sorted(FAULTS))
    def test_session_episode_per_fault(self, cluster, client, fault_seeds, fault):
        """The same episode over the Session stream gives the same observations and grade."""
        task_id = FAULTS[fault].task_id
        seed = fault_seeds[fault][0]
        key = answer_key(cluster, task_id, seed)
        submit = submit_action(gold_diagnosis(key))
        with client.session() as session:
            session.reset(task_id, seed)
            streamed = [session.step(a).observation for a in [*READS, submit]]
        reset = client.reset(task_id, seed)
        unary = [client.step(reset.episode_id, a).observation for a in [*READS, submit]]
        client.close_episode(reset.episode_id)
        for s, u in zip(streamed, unary, strict=True):
            s.ClearField("cumulative_reward"), u.ClearField("cumulative_reward")
            assert s.SerializeToString(deterministic=True) == u.SerializeToString(deterministic=True)

    def test_truncation_after_the_budget(self, client):
        """Running out of steps truncates the episode with no terminal reward; later steps are refused."""
        reset = client.reset("easy", 3)
        for _ in range(reset.observation.max_steps):
            obs = client.step(reset.episode_id, actions.run_sanity_check("gradient_norms")).observation
        assert obs.truncated and obs.done and not obs.terminated and obs.reward == 0.0
        with pytest.raises(FailedPreconditionError) as info:
            client.step(reset.episode_id, actions.read_config())
        assert info.value.reason == "EPISODE_ENDED"
        client.close_episode(reset.episode_id)


class TestIsolation:
    def test_200_concurrent_episodes_see_only_their_own(self, cluster):
        """200 concurrent episodes with mixed tasks and seeds each see their own run, steps and rewards."""
        with GeneratorClient(cluster.address("generator")) as generator:
            expected_run = {
                (t, s): generator.generate_scenario(t, s).scenario.run_summary.run_id
                for t in ("easy", "medium", "hard")
                for s in range(10)
            }

        async def one(client: AsyncEpisodeClient, i: int):
            task_id, seed = ("easy", "medium", "hard")[i % 3], i % 10
            reset = await client.reset(task_id, seed)
            n_reads = 1 + i % 4
            observations = []
            for j in range(n_reads):
                observations.append((await client.step(reset.episode_id, READS[j])).observation)
                await asyncio.sleep(0)
            state = (await client.get_state(reset.episode_id)).state
            await client.close_episode(reset.episode_id)
            return task_id, seed, reset, observations, state, n_reads

        async def main():
            client = AsyncEpisodeClient(cluster.episode_addr, config=ClientConfig(timeout_s=30))
            try:
                return await asyncio.gather(*(one(client, i) for i in range(200)))
            finally:
                await client.close()

        results = asyncio.run(main())
        assert len({r[2].episode_id for r in results}) == 200
        for task_id, seed, reset, observations, state, n_reads in results:
            assert reset.observation.run_id == expected_run[(task_id, seed)]
            assert [o.step_count for o in observations] == list(range(1, n_reads + 1))
            assert all(o.run_id == reset.observation.run_id and o.task_id == task_id for o in observations)
            assert state.step_count == n_reads and state.seed == seed
            assert state.cumulative_reward == pytest.approx(0.02 * n_reads)


class TestBadInput:
    @pytest.mark.parametrize(
        "kwargs,reason",
        [
            ({"task_id": "impossible", "seed": 1}, "UNKNOWN_TASK"),
            ({"task_id": "", "seed": 1}, "UNKNOWN_TASK"),
            ({"task_id": "easy", "seed": -1}, "INVALID_SEED"),
            ({"task_id": "easy", "seed": 2**53}, "INVALID_SEED"),
            ({"task_id": "easy", "seed": 1, "episode_id": "has spaces"}, "INVALID_EPISODE_ID"),
            ({"task_id": "easy", "seed": 1, "episode_id": "x" * 129}, "INVALID_EPISODE_ID"),
        ],
    )
    def test_bad_reset(self, client, kwargs, reason):
        """Bad reset input is INVALID_ARGUMENT with a reason and the field named."""
        with pytest.raises(InvalidArgumentError) as info:
            client.reset(**kwargs)
        assert info.value.reason == reason and info.value.field_violations

    def test_duplicate_episode_id(self, client):
        """Reusing an open episode id is ALREADY_EXISTS and leaves the first episode intact."""
        client.reset("easy", 1, episode_id="dup-test-1")
        client.step("dup-test-1", actions.read_config())
        with pytest.raises(AlreadyExistsError):
            client.reset("medium", 2, episode_id="dup-test-1")
        state = client.get_state("dup-test-1").state
        assert (state.task_id, state.step_count) == ("easy", 1)
        client.close_episode("dup-test-1")

    @pytest.mark.parametrize(
        "action,field",
        [
            (pb.Action(), "action"),
            (pb.Action(run_sanity_check=pb.RunSanityCheck()), "action.run_sanity_check.check"),
            (pb.Action(query_artifact=pb.QueryArtifact(artifact=pb.ARTIFACT_NAME_TRAIN_LOG, field_path="a")),
             "action.query_artifact.artifact"),
            (pb.Action(query_artifact=pb.QueryArtifact(artifact=pb.ARTIFACT_NAME_CONFIG_YAML)),
             "action.query_artifact.field_path"),
            (pb.Action(read_logs=pb.ReadLogs(log_filter="y" * 201)), "action.read_logs.log_filter"),
            (pb.Action(submit_diagnosis=pb.SubmitDiagnosis()), "action.submit_diagnosis.diagnosis"),
            (pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=pb.Diagnosis(
                failure_category=pb.FAILURE_CATEGORY_CONFIG_ERROR, root_cause_file="config.yaml",
                root_cause_field="lr", proposed_fix="x" * 4001))), "action.submit_diagnosis.diagnosis.proposed_fix"),
            (pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=pb.Diagnosis(
                root_cause_file="config.yaml", root_cause_field="lr", proposed_fix="lower it"))),
             "action.submit_diagnosis.diagnosis.failure_category"),
        ],
    )
    def test_bad_actions_change_nothing(self, client, action, field):
        """A malformed action is INVALID_ARGUMENT naming the field, and the episode is unchanged."""
        reset = client.reset("hard", 5)
        client.step(reset.episode_id, actions.read_config())
        before = client.get_state(reset.episode_id).state
        with pytest.raises(InvalidArgumentError) as info:
            client.step(reset.episode_id, action)
        assert field in [v.field for v in info.value.field_violations]
        assert client.get_state(reset.episode_id).state == before
        client.close_episode(reset.episode_id)

    def test_unknown_and_closed_episode_ids(self, client):
        """Step, state and close on unknown or closed ids are NOT_FOUND; an empty id is INVALID_ARGUMENT."""
        with pytest.raises(NotFoundError):
            client.step("ep-does-not-exist", actions.read_config())
        with pytest.raises(NotFoundError):
            client.get_state("ep-does-not-exist")
        reset = client.reset("easy", 1)
        client.close_episode(reset.episode_id)
        for call in (
            lambda: client.step(reset.episode_id, actions.read_config()),
            lambda: client.get_state(reset.episode_id),
            lambda: client.close_episode(reset.episode_id),
        ):
            with pytest.raises(NotFoundError) as info:
                call()
            assert info.value.reason == "EPISODE_NOT_FOUND"
        with pytest.raises(InvalidArgumentError):
            client.get_state("")

    def test_oversized_message_is_refused(self, cluster):
        """A request over the server's message cap is refused without affecting the service."""
        with grpc.insecure_channel(cluster.episode_addr, options=[("grpc.max_send_message_length", 64 << 20)]) as ch:
            stub = ep_grpc.EpisodeServiceStub(ch)
            with pytest.raises(grpc.RpcError) as info:
                stub.Reset(ep_pb.ResetRequest(task_id="easy" * (2 << 20)), timeout=10)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert stub.ListTasks(ep_pb.ListTasksRequest(), timeout=10).tasks

    def test_session_errors_are_in_band_and_keep_the_stream(self, client):
        """Errors on the Session stream come back per request and the stream keeps working."""
        with client.session() as session:
            with pytest.raises(InvalidArgumentError):
                session.reset("nope", 1)
            with pytest.raises(NotFoundError):
                session.step(actions.read_config(), episode_id="ep-missing")
            reset = session.reset("easy", 2)
            assert session.step(actions.read_config()).observation.step_count == 1
            assert session.get_state().state.episode_id == reset.episode_id

    def test_session_episodes_close_with_the_stream(self, client):
        """Episodes started on a Session stream are closed when it ends."""
        with client.session() as session:
            episode_id = session.reset("easy", 2).episode_id
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                client.get_state(episode_id)
            except NotFoundError:
                return
            time.sleep(0.05)
        pytest.fail("the episode outlived its stream")


class TestOutagesAndLimits:
    def test_grader_outage_keeps_the_episode_and_retry_succeeds(self, make_cluster):
        """Grader down: the submission is UNAVAILABLE and changes nothing; once back, it succeeds."""
        c = make_cluster()
        key = answer_key(c, "hard", 4)
        submit = submit_action(gold_diagnosis(key))
        with EpisodeClient(c.episode_addr, config=ClientConfig(timeout_s=15)) as client:
            reset = client.reset("hard", 4)
            client.step(reset.episode_id, actions.read_eval_results())
            before = client.get_state(reset.episode_id).state
            c.stop_service("grader")
            with pytest.raises(UnavailableError):
                client.step(reset.episode_id, submit)
            assert client.get_state(reset.episode_id).state == before
            c.start_service("grader")
            final = client.step(reset.episode_id, submit).observation
            assert final.terminated and final.reward >= 0.95 and final.step_count == 2

    def test_generator_outage_is_unavailable(self, make_cluster):
        """Generator down: a reset with an uncached scenario is UNAVAILABLE and opens nothing."""
        c = make_cluster(max_episodes=1)
        with EpisodeClient(c.episode_addr, config=ClientConfig(timeout_s=15)) as client:
            c.stop_service("generator")
            with pytest.raises(UnavailableError):
                client.reset("easy", 99)
            c.start_service("generator")
            assert client.reset("easy", 99).observation.step_count == 0

    def test_generator_outage_serves_cached_scenarios(self, make_cluster):
        """Generator down: a reset of a scenario already cached still starts, with the same scenario."""
        c = make_cluster()
        with EpisodeClient(c.episode_addr, config=ClientConfig(timeout_s=15)) as client:
            first = client.reset("easy", 4)
            scenario_id = client.get_state(first.episode_id).state.scenario_id
            c.stop_service("generator")
            again = client.reset("easy", 4)
            assert client.get_state(again.episode_id).state.scenario_id == scenario_id
            c.start_service("generator")

    def test_a_changed_generator_replaces_cached_scenarios(self, make_cluster):
        """A generator restarted with another salt (or version) is noticed: the cache does not mask it."""
        c = make_cluster()
        with EpisodeClient(c.episode_addr, config=ClientConfig(timeout_s=15)) as client, \
                GeneratorClient(c.address("generator")) as generator:
            before = {seed: client.get_state(client.reset("medium", seed).episode_id).state.scenario_id
                      for seed in (3, 8)}
            c.stop_service("generator")
            c.salt = b"another deployment"
            c.start_service("generator")
            expected = {seed: generator.generate_scenario("medium", seed).scenario.scenario_id for seed in (3, 8)}
            after = {seed: client.get_state(client.reset("medium", seed).episode_id).state.scenario_id
                     for seed in (3, 8)}
            assert after == expected
            assert all(after[seed] != before[seed] for seed in (3, 8))

    def test_capacity_limit(self, make_cluster):
        """Past max_episodes, Reset is RESOURCE_EXHAUSTED; closing one frees a slot."""
        c = make_cluster(max_episodes=3)
        with EpisodeClient(c.episode_addr) as client:
            ids = [client.reset("easy", s).episode_id for s in range(3)]
            with pytest.raises(ResourceExhaustedError):
                client.reset("easy", 3)
            client.close_episode(ids[0])
            client.reset("easy", 3)

    def test_idle_episodes_expire(self, make_cluster):
        """An episode idle past the timeout is closed and then NOT_FOUND."""
        c = make_cluster(idle_timeout_s=0.3, reap_interval_s=0.05)
        with EpisodeClient(c.episode_addr) as client:
            episode_id = client.reset("easy", 1).episode_id
            time.sleep(0.8)
            with pytest.raises(NotFoundError):
                client.get_state(episode_id)

    def test_health_and_reflection(self, cluster):
        """Each server answers grpc.health.v1 for itself and lists its services by reflection."""
        for service, name in (
            ("episode", "mlopsdebug.episode.v1.EpisodeService"),
            ("generator", "mlopsdebug.generator.v1.GeneratorService"),
            ("grader", "mlopsdebug.grader.v1.GraderService"),
        ):
            with grpc.insecure_channel(cluster.address(service)) as ch:
                reply = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

                stub = reflection_pb2_grpc.ServerReflectionStub(ch)
                responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
                listed = {s.name for r in responses for s in r.list_services_response.service}
                assert name in listed

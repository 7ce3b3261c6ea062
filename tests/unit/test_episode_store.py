"""Unit tests of the episode record (what a shared store keeps) and of the in-memory store behind the core."""

from __future__ import annotations

import asyncio

import pytest
from unit.test_episode_core import CONTENT, FakeGrader, FakeScenarios

from mlopsdebug_common.domain import Diagnosis, Grade, GradeComponent, RevealedAnswer
from mlopsdebug_common.errors import AlreadyExists, FailedPrecondition, ResourceExhausted
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.core import EpisodeConfig, EpisodeManager
from mlopsdebug_episode.store import RECORD_FORMAT, EpisodeRecord, EpisodeStore, MemoryEpisodeStore

PLAY = (
    Action("read_config"),
    Action("read_logs", log_filter="epoch:1-2"),
    Action("read_config"),  # an identical read: penalised, and remembered in seen_reads
    Action("run_sanity_check", check="data_leakage"),
    Action("query_artifact", artifact="config.yaml", field_path="optimizer.name"),
)
DIAG = Diagnosis("config_error", "config.yaml", "optimizer.learning_rate", "lr too high", "set lr to 1e-3")


class RevealingGrader(FakeGrader):
    async def grade(self, key, diagnosis, *, task):
        answer = RevealedAnswer("lr_too_high", "config_error", "config.yaml", "optimizer.learning_rate", ("lr",), "lr")
        return Grade(0.7, 0.7, False, (GradeComponent("field", 0.3, 1.0, "named it"),), "test", answer)


def run(coro):
    return asyncio.run(coro)


def test_a_record_round_trips_everything_the_core_needs_and_no_scenario():
    """Encoded and decoded, a record rebuilds an episode that continues exactly like the original; it
    holds no artifact text (the scenario is regenerated, not stored) and stays small."""
    m = EpisodeManager(FakeScenarios(), RevealingGrader(), EpisodeConfig())

    async def play():
        episode = await m.reset("easy", 7, split="all")
        for action in PLAY:
            await m.step(episode.episode_id, action)
        record = EpisodeRecord.of(episode)
        data = record.encode()
        decoded = EpisodeRecord.decode(data, record.version)
        rebuilt = await m._materialize(decoded)
        return episode, record, data, decoded, rebuilt

    episode, record, data, decoded, rebuilt = run(play())
    assert decoded == record and decoded.version == 1 + len(PLAY)
    for field in ("owner", "episode_id", "seed", "step_count", "cumulative_reward", "artifacts_read",
                  "sanity_checks_run", "duplicate_reads", "seen_reads", "terminated", "truncated", "split"):
        assert getattr(rebuilt, field) == getattr(episode, field), field
    assert rebuilt.scenario.scenario_id == episode.scenario.scenario_id and rebuilt.task is episode.task
    assert len(data) < 2048 and not any(text.encode() in data for text in CONTENT.values())
    # The rebuilt episode earns what the original would: the repeated-read penalty survives the trip.
    assert m._observe(rebuilt, Action("read_config"))[1] == m._observe(episode, Action("read_config"))[1] == -0.02


def test_a_graded_record_keeps_the_grade_and_its_answer():
    m = EpisodeManager(FakeScenarios(), RevealingGrader(), EpisodeConfig())

    async def play():
        episode = await m.reset("easy", 3)
        await m.step(episode.episode_id, Action("submit_diagnosis", diagnosis=DIAG))
        return episode

    episode = run(play())
    record = EpisodeRecord.of(episode)
    decoded = EpisodeRecord.decode(record.encode(), record.version)
    assert decoded.grade == episode.grade and decoded.terminated and decoded.grade.answer.field_aliases == ("lr",)


def test_a_record_of_another_format_is_refused():
    m = EpisodeManager(FakeScenarios(), FakeGrader(), EpisodeConfig())
    episode = run(m.reset("easy", 3))
    data = EpisodeRecord.of(episode).encode().replace(f'"f":{RECORD_FORMAT}'.encode(), b'"f":99')
    with pytest.raises(ValueError, match="format"):
        EpisodeRecord.decode(data, 1)


def test_a_record_whose_scenario_changed_is_refused_not_replayed_on_another_world():
    """A replica whose generator now makes another scenario for (task, seed) refuses the episode."""
    m = EpisodeManager(FakeScenarios(), FakeGrader(), EpisodeConfig())
    record = EpisodeRecord.of(run(m.reset("easy", 3)))
    record.scenario_id = "sc-from-another-generator"
    with pytest.raises(FailedPrecondition) as refused:
        run(m._materialize(record))
    assert refused.value.reason == "SCENARIO_CHANGED"


def test_the_default_store_is_the_memory_store_and_steps_bump_the_version():
    m = EpisodeManager(FakeScenarios(), FakeGrader(), EpisodeConfig())
    assert isinstance(m.store, MemoryEpisodeStore) and not m.store.shared
    store: EpisodeStore = m.store  # the memory store satisfies the interface
    assert store is m.store

    async def play():
        episode = await m.reset("easy", 1)
        await m.step(episode.episode_id, Action("read_config"))
        return episode

    episode = run(play())
    assert (episode.version, episode.step_count) == (2, 1)


def test_the_memory_store_refuses_a_taken_id_and_counts_reservations():
    """A reset under way holds its slot: the capacity cannot be overshot while scenarios are fetched."""
    store = MemoryEpisodeStore(EpisodeConfig(max_episodes=2), clock=lambda: 0.0)

    async def go():
        await store.reserve("a", "ep-1", named=True)
        with pytest.raises(AlreadyExists):
            await store.reserve("a", "ep-1", named=True)
        await store.reserve("b", "ep-1", named=True)  # ids are scoped to their owner
        with pytest.raises(ResourceExhausted):
            await store.reserve("c", "ep-2", named=False)
        await store.release("b", "ep-1")
        await store.reserve("c", "ep-2", named=False)

    run(go())
    assert (store.open_count, store.open_count_of("a"), store.open_count_of("c"), len(store)) == (2, 1, 1, 0)


class TestRedisRetries:
    """redis-py tries a command once for the Redis store (the store sends a script again itself, with the
    token that makes a write safe to repeat), and only its health-check PING once more."""

    @staticmethod
    def attempts(name: str) -> int:
        import asyncio

        from redis.exceptions import ConnectionError as RedisConnectionError

        from mlopsdebug_episode.redis_store import _RetryOnlyPing

        calls = 0

        async def do() -> None:
            nonlocal calls
            calls += 1
            raise RedisConnectionError("connection lost")

        async def fail(error: Exception, failures: int) -> None:
            return None

        do.__name__ = name
        with pytest.raises(RedisConnectionError):
            asyncio.run(_RetryOnlyPing().call_with_retry(do, fail, with_failure_count=True))
        return calls

    def test_a_command_is_tried_once(self):
        assert self.attempts("_send_command_parse_response") == 1

    def test_the_health_check_ping_is_tried_twice(self):
        assert self.attempts("_send_ping") == 2

    def test_redis_py_still_names_its_health_check_ping_so(self):
        """The store recognises the PING by redis-py's method name: an upgrade that renames it fails here."""
        from redis.asyncio.connection import Connection

        assert Connection._send_ping.__name__ == "_send_ping"
        assert "_send_ping" in Connection.check_health.__code__.co_names

    def test_redis_py_still_keeps_what_the_pipelined_connection_takes_over(self):
        """The store's pipe lets redis-py open a connection, then takes its transport (`_writer`) and closes
        it with `_close()`: an upgrade that renames either fails here."""
        from redis.asyncio.connection import Connection

        connection = Connection(host="127.0.0.1", port=1)
        assert connection._writer is None  # set by connect(), to the StreamWriter of the transport
        assert "_writer" in Connection._close.__code__.co_names

"""The evaluation stores against one contract: the memory store (one process) and the Redis store (a real
redis-server on a free port, several clients standing for several replicas), through the episode core.

Every contract test runs on both; "replicas" are distinct store objects for Redis and one object for
memory (its evaluations live in one process). The last tests are Redis-only: what is stored, its TTL.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
import redis
from redisserver import RedisServer
from unit.test_evaluation import KEY, READ, SUBMIT, Grader, Scenarios, full_grade

from mlopsdebug_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from mlopsdebug_episode import convert
from mlopsdebug_episode.core import EpisodeManager
from mlopsdebug_episode.evaluation import (
    GRADED,
    NOT_STARTED,
    TRUNCATED,
    UNFINISHED,
    EvaluationBook,
    EvaluationStore,
    MemoryEvaluationStore,
    planned_seeds,
    score_only,
)
from mlopsdebug_episode.redis_evaluations import RedisEvaluationStore


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


class Backend:
    """Makes stores of one kind: `store()` is one replica's store (memory: every replica shares one)."""

    def __init__(self, kind: str, redis_url: str) -> None:
        self.kind = kind
        self.redis_url = redis_url
        self.prefix = "t" + secrets.token_hex(6)  # each test its own keys in the shared server
        self._memory: MemoryEvaluationStore | None = None
        self._opened: list[EvaluationStore] = []

    def store(self, **settings: Any) -> EvaluationStore:
        if self.kind == "memory":
            if self._memory is None:
                self._memory = MemoryEvaluationStore(EvaluationBook(**settings))
            return self._memory
        made = RedisEvaluationStore.from_url(self.redis_url, prefix=self.prefix, **settings)
        self._opened.append(made)
        return made

    def run(self, body: Callable[[], Awaitable[Any]]) -> Any:
        async def go():
            try:
                return await body()
            finally:
                for store in self._opened:
                    await store.aclose()
                self._opened.clear()

        return asyncio.run(go())


@pytest.fixture(params=["memory", "redis"])
def backend(request) -> Backend:
    url = request.getfixturevalue("redis_server").url if request.param == "redis" else ""
    return Backend(request.param, url)


def manager(store: EvaluationStore) -> tuple[EpisodeManager, Scenarios, Grader]:
    scenarios, grader = Scenarios(), Grader()
    return EpisodeManager(scenarios, grader, evaluations=store), scenarios, grader


def test_replicas_draw_every_planned_scenario_once_in_order_then_refuse(backend: Backend):
    """Resets racing on two replicas take distinct slots, together exactly the planned seeds."""

    async def body():
        a, b = backend.store(), backend.store()
        progress, _ = await a.create([("easy", 12), ("hard", 2)], KEY)
        ev = progress.evaluation_id
        drawn = await asyncio.gather(*(((a, b)[i % 2]).draw(ev, "easy") for i in range(12)))
        with pytest.raises(FailedPrecondition) as err:
            await b.draw(ev, "easy")
        assert err.value.reason == "EVALUATION_EXHAUSTED"
        assert await a.resolve_task(ev, "", None) == "hard"  # the first task with scenarios left
        return drawn

    drawn = backend.run(body)
    assert sorted(slot.index for slot in drawn) == list(range(12))
    assert sorted(slot.seed for slot in drawn) == sorted(planned_seeds(KEY, "easy", 12))
    assert all(slot.seed == planned_seeds(KEY, "easy", 12)[slot.index] for slot in drawn)


@pytest.mark.parametrize(
    "evaluation_id,task,seed,error,reason",
    [
        ("", "easy", None, FailedPrecondition, "EVALUATION_REQUIRED"),
        ("ev-nope", "easy", None, NotFound, "EVALUATION_NOT_FOUND"),
        (None, "easy", 4, InvalidArgument, "SEED_IN_EVALUATION"),
        (None, "medium", None, InvalidArgument, "TASK_NOT_IN_EVALUATION"),
    ],
)
def test_bad_resets_are_refused_and_take_nothing(backend: Backend, evaluation_id, task, seed, error, reason):
    async def body():
        store = backend.store(require_evaluation=True)
        progress, _ = await store.create([("easy", 1)], KEY)
        m, scenarios, _ = manager(store)
        with pytest.raises(error) as err:
            await m.reset(task, seed, evaluation_id=progress.evaluation_id if evaluation_id is None else evaluation_id)
        assert err.value.reason == reason and scenarios.requested == []
        assert (await store.progress(progress.evaluation_id)).tasks[0].started == 0

    backend.run(body)


def test_a_slot_whose_scenario_could_not_be_fetched_goes_back_to_the_front(backend: Backend):
    async def body():
        a, b = backend.store(), backend.store()
        progress, _ = await a.create([("easy", 3)], KEY)
        ev = progress.evaluation_id
        first = await a.draw(ev, "easy")
        second = await a.draw(ev, "easy")
        await b.put_back(second)
        await b.put_back(second)  # twice: still one slot back
        await a.put_back(first)
        again = [await b.draw(ev, "easy") for _ in range(3)]
        with pytest.raises(FailedPrecondition):
            await a.draw(ev, "easy")
        return first, second, again

    first, second, again = backend.run(body)
    assert [slot.index for slot in again] == [0, 1, 2] and again[:2] == [first, second]


def test_a_slot_bound_to_an_episode_or_in_a_closed_evaluation_is_not_put_back(backend: Backend):
    """Once an episode id is bound the scenario stays used (its record may exist although its write
    failed); once closed, nothing changes the report."""

    async def body():
        a, b = backend.store(), backend.store()
        progress, token = await a.create([("easy", 3)], KEY)
        ev = progress.evaluation_id
        bound = await a.draw(ev, "easy")
        await a.attach(bound, "e", "scn")
        await b.put_back(bound)
        loose = await b.draw(ev, "easy")
        report = await a.close(ev, token)
        await b.put_back(loose)
        return bound, loose, report, await b.close(ev, token)

    bound, loose, report, again = backend.run(body)
    assert (bound.index, loose.index) == (0, 1) and report == again
    assert [(e.status, e.episode_id) for e in report.episodes] == [
        (UNFINISHED, "e"), (UNFINISHED, ""), (NOT_STARTED, ""),
    ]  # fmt: skip


def test_a_play_across_replicas_gives_the_same_report_as_one_process(backend: Backend):
    """Reset on one replica, act on the other: the report (statuses, steps, full grades, seeds) is the
    same as the memory store's for the same key and play, and the agent saw only scores."""

    async def body():
        a, b = manager(backend.store()), manager(backend.store())
        progress, token = await a[0].evaluations.create([("easy", 4)], KEY)
        ev = progress.evaluation_id
        graded = await a[0].reset("easy", evaluation_id=ev, episode_id="g")
        result = await a[0].step("g", READ)
        result = await a[0].step("g", SUBMIT)
        assert result.outcome == graded.grade == score_only(full_grade())
        truncated = await a[0].reset("easy", evaluation_id=ev, episode_id="t")
        for _ in range(truncated.task.max_steps):
            await a[0].step("t", READ)
        await a[0].reset("easy", evaluation_id=ev, episode_id="u")
        await a[0].step("u", READ)
        middle = await b[0].evaluations.progress(ev)
        report = await b[0].evaluations.close(ev, token)
        return middle, report

    middle, report = backend.run(body)
    assert (middle.tasks[0].started, middle.tasks[0].ended, middle.closed) == (3, 2, False)
    rows = [(e.index, e.status, e.episode_id, e.step_count, e.score) for e in report.episodes]
    assert rows == [
        (0, GRADED, "g", 2, 0.55),
        (1, TRUNCATED, "t", 20, 0.0),
        (2, UNFINISHED, "u", 1, 0.0),
        (3, NOT_STARTED, "", 0, 0.0),
    ]
    assert report.episodes[0].grade == full_grade() and report.stream_key == KEY
    assert [e.seed for e in report.episodes] == planned_seeds(KEY, "easy", 4)
    assert report.episodes[0].scenario_id == f"scn-easy-{report.episodes[0].seed}"
    wire = convert.report_to_pb(report)
    wire.evaluation_id = ""
    assert wire.SerializeToString(deterministic=True) == REFERENCE_REPORT


def _reference_report() -> bytes:
    """The same play's report from the memory store alone, as the wire carries it (ids cleared)."""
    backend = Backend("memory", "")

    async def body():
        m, _, _ = manager(backend.store())
        progress, token = await m.evaluations.create([("easy", 4)], KEY)
        ev = progress.evaluation_id
        await m.reset("easy", evaluation_id=ev, episode_id="g")
        await m.step("g", READ)
        await m.step("g", SUBMIT)
        truncated = await m.reset("easy", evaluation_id=ev, episode_id="t")
        for _ in range(truncated.task.max_steps):
            await m.step("t", READ)
        await m.reset("easy", evaluation_id=ev, episode_id="u")
        await m.step("u", READ)
        return await m.evaluations.close(ev, token)

    wire = convert.report_to_pb(backend.run(body))
    wire.evaluation_id = ""
    return wire.SerializeToString(deterministic=True)


REFERENCE_REPORT = _reference_report()


def test_closing_freezes_the_evaluation_for_every_replica(backend: Backend):
    """After the operator closes on one replica, the other refuses resets and actions, a late step's
    update changes nothing, and closing again returns the same report."""

    async def body():
        (a, _, grader), (b, _, _) = manager(backend.store()), manager(backend.store())
        progress, token = await a.evaluations.create([("easy", 2)], KEY)
        ev = progress.evaluation_id
        episode = await a.reset("easy", evaluation_id=ev, episode_id="e")
        for wrong in ("", token + "x"):
            with pytest.raises(PermissionDenied):
                await b.evaluations.close(ev, wrong)
        report = await b.evaluations.close(ev, token)
        for action in (READ, SUBMIT):
            with pytest.raises(FailedPrecondition) as err:
                await a.step("e", action)
            assert err.value.reason == "EVALUATION_CLOSED"
        with pytest.raises(FailedPrecondition):
            await b.reset("easy", evaluation_id=ev)
        assert episode.evaluation is not None
        await a.evaluations.observe(episode.evaluation, 7, True, full_grade())  # too late: ignored
        again = await a.evaluations.close(ev, token)
        closed = await a.evaluations.progress(ev)
        return report, again, closed, grader.calls

    report, again, closed, grades = backend.run(body)
    assert report == again and grades == 0 and closed.closed
    assert [(e.status, e.step_count) for e in report.episodes] == [(UNFINISHED, 0), (NOT_STARTED, 0)]


def test_a_scenario_is_graded_once_and_its_first_grade_kept(backend: Backend):
    async def body():
        a, b = backend.store(), backend.store()
        progress, token = await a.create([("easy", 1)], KEY)
        slot = await a.draw(progress.evaluation_id, "easy")
        await a.attach(slot, "e", "scn")
        await a.check_sealable(slot)
        await a.observe(slot, 3, False, full_grade(0.5))
        with pytest.raises(FailedPrecondition) as err:
            await b.check_sealable(slot)
        assert err.value.reason == "SCENARIO_GRADED"
        await b.observe(slot, 3, False, full_grade(0.9))  # a repeated update cannot replace the grade
        return await b.close(progress.evaluation_id, token)

    report = backend.run(body)
    assert report.episodes[0].score == 0.5 and report.episodes[0].status == GRADED


def test_capacity_counts_every_replicas_evaluations_and_evicts_closed_ones(backend: Backend):
    async def body():
        a, b = backend.store(max_evaluations=2), backend.store(max_evaluations=2)
        first, first_token = await a.create([("easy", 1)], KEY)
        await b.create([("easy", 1)], KEY)
        with pytest.raises(ResourceExhausted) as full:
            await b.create([("easy", 1)], KEY)
        assert full.value.reason == "EVALUATION_CAPACITY"
        await b.close(first.evaluation_id, first_token)
        await a.create([("easy", 1)], KEY)  # the closed one makes room
        with pytest.raises(NotFound):
            await b.progress(first.evaluation_id)

    backend.run(body)


def test_bad_plans_and_ids_are_refused(backend: Backend):
    async def body():
        store = backend.store()
        for plan, key in (([], b""), ([("nope", 1)], b""), ([("easy", 0)], b""), ([("easy", 1)], b"short")):
            with pytest.raises(InvalidArgument):
                await store.create(plan, key)
        with pytest.raises(InvalidArgument):
            await store.progress("")
        progress, _ = await store.create([("easy", 2)], KEY)
        await store.draw(progress.evaluation_id, "easy")
        crafted = progress.evaluation_id + ":slots"  # (in Redis, the name of its slots' key)
        for unknown in ("ev-nope", crafted, "x" * 500):
            for call in (store.progress(unknown), store.close(unknown, "t"), store.draw(unknown, "easy"),
                         store.resolve_task(unknown, "easy", None)):  # fmt: skip
                with pytest.raises(NotFound):
                    await call

    backend.run(body)


# -- Redis only --


def test_the_redis_record_keeps_the_secrets_apart_and_expires_when_idle(redis_server):
    """The stream key and the token's digest are only in `meta` (never the token, never a seed); progress
    reads no secret; both keys carry the idle TTL, renewed by activity; an expired evaluation is gone
    for every replica and its episodes' actions are refused."""
    backend = Backend("redis", redis_server.url)
    client = redis.Redis.from_url(redis_server.url)

    async def body():
        a, b = backend.store(idle_timeout_s=2.0), backend.store(idle_timeout_s=2.0)
        progress, token = await a.create([("easy", 2)], KEY)
        ev = progress.evaluation_id
        slot = await a.draw(ev, "easy")
        await b.attach(slot, "e", "scn")
        stored = client.hgetall(f"{backend.prefix}:ev:{ev}")
        slots = client.hgetall(f"{backend.prefix}:ev:{ev}:slots")
        meta = orjson.loads(stored[b"meta"])
        assert bytes.fromhex(meta["key"]) == KEY and token.encode() not in b"".join([*stored.values(), *slots.values()])
        assert str(slot.seed).encode() not in b"".join([*stored.values(), *slots.values()])
        ttls = [client.pttl(f"{backend.prefix}:ev:{ev}{suffix}") for suffix in ("", ":slots")]
        assert all(0 < ttl <= 2000 for ttl in ttls)
        deadline = time.monotonic() + 30
        while client.exists(f"{backend.prefix}:ev:{ev}") and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        with pytest.raises(FailedPrecondition) as closed:
            await b.check_open(slot)
        assert closed.value.reason == "EVALUATION_CLOSED"
        with pytest.raises(NotFound):
            await b.draw(ev, "easy")
        with pytest.raises(NotFound):
            await b.close(ev, token)

    backend.run(body)

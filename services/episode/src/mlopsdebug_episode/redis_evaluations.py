"""Sealed evaluations in Redis, so that any episode replica serves any evaluation call.

Selected with the episode store by MLOPSDEBUG_REDIS_URL. No transport imports.

Layout (every key under PREFIX, beside the episode records of `redis_store`):
- `PREFIX:ev:<id>`: a hash of the evaluation's small state: `meta` (JSON: the stream key and the
  SHA-256 of the operator token, the secrets, read only to derive seeds and to check the token),
  `plan` (JSON [[task, episodes], ...]), `closed` ("0"/"1"), and per task `n:<task>` (planned
  episodes), `next:<task>` (the next index never drawn) and `ret:<task>` (JSON list of indices put
  back after a failed start, taken again first).
- `PREFIX:ev:<id>:slots`: a hash with one field per drawn slot, `s:<task>:<index>` (JSON: episode
  id, scenario id, steps, truncated, graded), and `g:<task>:<index>`, the full grade kept for the
  report.
- `PREFIX:evs`: a sorted set of evaluation ids scored by the time their keys expire, for the
  capacity (MLOPSDEBUG_MAX_EVALUATIONS, across all replicas).
Seeds are not stored: every replica derives them from the stream key (`planned_seeds`), as the memory
store does, so both give the same scenarios for the same key.

Every write is one Lua script, atomic: a draw pops the next index and marks its slot in one step, so
two replicas never hand out one scenario; a grade is recorded only while the evaluation is open and
only if the slot has none. Closing sets `closed`, after which no script changes the evaluation, so the
report built from it is final. Both keys expire MLOPSDEBUG_EVALUATION_IDLE_S after the last activity
(a draw, an action, an applied step, closing): an evaluation nobody uses, open or closed, disappears
with its report. Redis' clock (TIME) scores the sorted set, so replicas' clocks never matter.
"""

from __future__ import annotations

import collections
import hmac
import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mlopsdebug_common.domain import Grade
from mlopsdebug_common.errors import FailedPrecondition, InvalidArgument, ResourceExhausted, Unavailable
from mlopsdebug_episode.evaluation import (
    Progress,
    Report,
    ReportEpisode,
    SlotRef,
    TaskProgress,
    assemble_report,
    check_named,
    check_seed,
    choose_task,
    closed_error,
    exhausted,
    missing_id,
    not_found,
    planned_seeds,
    slot_status,
    token_digest,
    validate_plan,
    wrong_token,
)
from mlopsdebug_episode.redis_store import PREFIX, redis_client
from mlopsdebug_episode.store import _grade_from_json, _grade_to_json

log = logging.getLogger("mlopsdebug.episode")

# Bumped when the layout changes incompatibly: a replica refuses an evaluation it cannot read.
EVALUATION_FORMAT: Final = 1
# The ids `create` makes; nothing else names an evaluation.
_EVALUATION_ID: Final = re.compile(r"ev-[0-9a-f]{32}")
# Evaluations whose derived seeds this replica keeps (they never change).
SEED_CACHE_SIZE: Final = 256

_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# Renews the evaluation's keys and its place in the capacity set. KEYS: ev, slots, evs. ARGV[1]: id,
# ARGV[2]: TTL ms.
_TOUCH = """
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
"""

# Refuses a change to an evaluation that is gone or closed.
_OPEN = """
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then return 'gone' end
if closed == '1' then return 'closed' end
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms, max evaluations, key prefix, meta, plan, then task, episodes,
# task, episodes... Makes room by dropping the least recently used closed evaluation (or an entry whose
# keys are gone); refuses with 'capacity' when every evaluation held is open.
_CREATE = _NOW + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then
  local room = false
  for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local key = ARGV[4] .. ':ev:' .. id
    local closed = redis.call('HGET', key, 'closed')
    if closed ~= '0' then
      redis.call('DEL', key, key .. ':slots')
      redis.call('ZREM', KEYS[3], id)
      room = true
      break
    end
  end
  if not room then return 'capacity' end
end
redis.call('HSET', KEYS[1], 'meta', ARGV[5], 'plan', ARGV[6], 'closed', '0')
for i = 7, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'n:' .. ARGV[i], ARGV[i + 1], 'next:' .. ARGV[i], 0, 'ret:' .. ARGV[i], '[]')
end
""" + _TOUCH + """
return 'ok'
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms, task. Returns {index, meta} of the slot drawn, or 'gone',
# 'closed', 'task' (not in the plan), 'exhausted'.
_DRAW = _NOW + _OPEN + """
local planned = redis.call('HGET', KEYS[1], 'n:' .. ARGV[3])
if not planned then return 'task' end
local returned = cjson.decode(redis.call('HGET', KEYS[1], 'ret:' .. ARGV[3]))
local index
if #returned > 0 then
  index = table.remove(returned, 1)
  redis.call('HSET', KEYS[1], 'ret:' .. ARGV[3], #returned > 0 and cjson.encode(returned) or '[]')
else
  index = tonumber(redis.call('HGET', KEYS[1], 'next:' .. ARGV[3]))
  if index >= tonumber(planned) then return 'exhausted' end
  redis.call('HSET', KEYS[1], 'next:' .. ARGV[3], index + 1)
end
redis.call('HSET', KEYS[2], 's:' .. ARGV[3] .. ':' .. index,
  cjson.encode({k = ARGV[3], e = '', sc = '', n = 0, t = false, g = false}))
""" + _TOUCH + """
return {index, redis.call('HGET', KEYS[1], 'meta')}
"""

# KEYS: ev, slots. ARGV: id, TTL ms, task, index. Un-draws a slot that no episode took (again, or once
# closed: nothing).
_PUT_BACK = """
if redis.call('HGET', KEYS[1], 'closed') ~= '0' then return 'ok' end
local field = 's:' .. ARGV[3] .. ':' .. ARGV[4]
local raw = redis.call('HGET', KEYS[2], field)
if not raw or cjson.decode(raw).e ~= '' then return 'ok' end
redis.call('HDEL', KEYS[2], field)
local returned = cjson.decode(redis.call('HGET', KEYS[1], 'ret:' .. ARGV[3]))
table.insert(returned, tonumber(ARGV[4]))
table.sort(returned)
redis.call('HSET', KEYS[1], 'ret:' .. ARGV[3], cjson.encode(returned))
return 'ok'
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms, task, index, episode id, scenario id.
_ATTACH = _NOW + _OPEN + """
local field = 's:' .. ARGV[3] .. ':' .. ARGV[4]
local raw = redis.call('HGET', KEYS[2], field)
if not raw then return 'gone' end
local slot = cjson.decode(raw)
slot.e = ARGV[5]
slot.sc = ARGV[6]
redis.call('HSET', KEYS[2], field, cjson.encode(slot))
""" + _TOUCH + """
return 'ok'
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms[, task, index]. An action's check: open (and, with a slot,
# not graded yet); counts as activity.
_CHECK = _NOW + _OPEN + """
if ARGV[3] and redis.call('HEXISTS', KEYS[2], 'g:' .. ARGV[3] .. ':' .. ARGV[4]) == 1 then return 'graded' end
""" + _TOUCH + """
return 'ok'
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms, task, index, steps, truncated (1/0), full grade JSON or ''.
# Sets absolute values and keeps a slot's first grade, so running it twice changes nothing more.
_OBSERVE = _NOW + _OPEN + """
local field = ARGV[3] .. ':' .. ARGV[4]
local raw = redis.call('HGET', KEYS[2], 's:' .. field)
if not raw then return 'gone' end
local slot = cjson.decode(raw)
slot.n = tonumber(ARGV[5])
slot.t = ARGV[6] == '1'
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[2], 'g:' .. field) == 0 then
  redis.call('HSET', KEYS[2], 'g:' .. field, ARGV[7])
  slot.g = true
end
redis.call('HSET', KEYS[2], 's:' .. field, cjson.encode(slot))
""" + _TOUCH + """
return 'ok'
"""

# KEYS: ev, slots. Returns nil or {closed, plan, started by task, ended by task} (no secret).
_PROGRESS = """
local closed = redis.call('HGET', KEYS[1], 'closed')
if not closed then return nil end
local started, ended = {}, {}
local fields = redis.call('HGETALL', KEYS[2])
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 2) == 's:' then
    local slot = cjson.decode(fields[i + 1])
    started[slot.k] = (started[slot.k] or 0) + 1
    if slot.g or slot.t then ended[slot.k] = (ended[slot.k] or 0) + 1 end
  end
end
return {closed, redis.call('HGET', KEYS[1], 'plan'), cjson.encode(started), cjson.encode(ended)}
"""

# KEYS: ev, slots, evs. ARGV: id, TTL ms. Closes (once; the token was checked) and returns nil or
# {meta, plan, slot fields...}: after this no script changes the evaluation.
_CLOSE = _NOW + """
local meta = redis.call('HGET', KEYS[1], 'meta')
if not meta then return nil end
redis.call('HSET', KEYS[1], 'closed', '1')
""" + _TOUCH + """
return {meta, redis.call('HGET', KEYS[1], 'plan'), redis.call('HGETALL', KEYS[2])}
"""


def _unavailable() -> Unavailable:
    return Unavailable(
        "the evaluation store (Redis) is unreachable; retry. A refused reset changed nothing", reason="STORE_UNAVAILABLE"
    )


def _decode_meta(raw: bytes) -> dict[str, Any]:
    meta = orjson.loads(raw)
    if meta.get("f") != EVALUATION_FORMAT:
        raise FailedPrecondition(
            f"evaluation format {meta.get('f')!r}; this replica reads {EVALUATION_FORMAT}", reason="EVALUATION_UNREADABLE"
        )
    return meta


def _plan(raw: bytes) -> list[tuple[str, int]]:
    return _plan_of(orjson.loads(raw))


def _plan_of(parts: list[list[Any]]) -> list[tuple[str, int]]:
    return [(str(task_id), int(episodes)) for task_id, episodes in parts]


class RedisEvaluationStore:
    """Sealed evaluations in Redis; see the module docstring. One per process, on one event loop."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        max_evaluations: int = 64,
        idle_timeout_s: float = 86_400.0,
        require_evaluation: bool = False,
        prefix: str = PREFIX,
    ) -> None:
        self._redis = client
        self.max_evaluations = max_evaluations
        self.require_evaluation = require_evaluation
        self._prefix = prefix
        self._ttl_ms = max(1, round(idle_timeout_s * 1000))
        self._create = client.register_script(_CREATE)
        self._draw = client.register_script(_DRAW)
        self._put_back = client.register_script(_PUT_BACK)
        self._attach = client.register_script(_ATTACH)
        self._check = client.register_script(_CHECK)
        self._observe = client.register_script(_OBSERVE)
        self._progress = client.register_script(_PROGRESS)
        self._close = client.register_script(_CLOSE)
        self._state = client.register_script("return redis.call('HGETALL', KEYS[1])")
        self._meta = client.register_script("return redis.call('HGET', KEYS[1], 'meta')")
        # (evaluation id, task) -> its planned seeds, derived from the stream key once per replica.
        self._seeds: collections.OrderedDict[tuple[str, str], list[int]] = collections.OrderedDict()

    @classmethod
    def from_url(cls, url: str, *, timeout_s: float = 5.0, **kwargs: Any) -> RedisEvaluationStore:
        """A store on `url`, with the episode store's connection settings (no blind retries of writes)."""
        return cls(redis_client(url, timeout_s), **kwargs)

    @staticmethod
    def _check_id(evaluation_id: str) -> None:
        """An id this store never made is unknown without asking Redis: a crafted one (`<id>:slots`)
        must not name another key."""
        if not evaluation_id:
            raise missing_id()
        if not _EVALUATION_ID.fullmatch(evaluation_id):
            raise not_found(evaluation_id)

    def _keys(self, evaluation_id: str) -> list[str]:
        base = f"{self._prefix}:ev:{evaluation_id}"
        return [base, base + ":slots", f"{self._prefix}:evs"]

    async def _run(self, script: Any, evaluation_id: str, args: Sequence[Any], *, repeatable: bool) -> Any:
        """Runs a script; Redis unreachable becomes UNAVAILABLE. A script that may run twice (a read, or
        a write that sets what it sets again) is tried twice: after a Redis restart the first attempt
        may meet a pooled connection that Redis closed. A draw or a create is tried once."""
        attempts = 2 if repeatable else 1
        for attempt in range(attempts):
            try:
                return await script(keys=self._keys(evaluation_id), args=[evaluation_id, self._ttl_ms, *args])
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                await self._redis.connection_pool.disconnect()
                if attempt + 1 == attempts:
                    log.warning("the evaluation store is unreachable: %s", exc)
                    raise _unavailable() from exc
            except RedisError as exc:
                log.error("the evaluation store refused a script: %s", exc)
                raise _unavailable() from exc
        raise AssertionError("unreachable")

    def _planned(self, evaluation_id: str, task_id: str, meta: dict[str, Any]) -> list[int]:
        key = (evaluation_id, task_id)
        seeds = self._seeds.get(key)
        if seeds is None:
            episodes = dict(_plan_of(meta["plan"]))[task_id]
            seeds = self._seeds[key] = planned_seeds(bytes.fromhex(meta["key"]), task_id, episodes)
            if len(self._seeds) > SEED_CACHE_SIZE:
                self._seeds.popitem(last=False)
        else:
            self._seeds.move_to_end(key)
        return seeds

    @staticmethod
    def _refused(answer: Any) -> None:
        """An action on an evaluation that is closed, or gone (expired after being idle, or evicted)."""
        if answer == b"gone":
            raise closed_error("or expired after being idle")
        if answer == b"closed":
            raise closed_error("by its operator")

    # -- EvaluationStore --

    async def create(self, plan: Sequence[tuple[str, int]], stream_key: bytes = b"") -> tuple[Progress, str]:
        validate_plan(plan, stream_key)
        token = secrets.token_urlsafe(32)
        evaluation_id = "ev-" + secrets.token_hex(16)
        key = stream_key or secrets.token_bytes(32)
        plan_json = orjson.dumps([[task_id, episodes] for task_id, episodes in plan])
        meta = orjson.dumps(
            {"f": EVALUATION_FORMAT, "key": key.hex(), "token": token_digest(token).hex(), "plan": orjson.loads(plan_json)}
        )
        tasks = [part for task_id, episodes in plan for part in (task_id, episodes)]
        answer = await self._run(
            self._create,
            evaluation_id,
            [self.max_evaluations, self._prefix, meta, plan_json, *tasks],
            repeatable=False,
        )
        if answer == b"capacity":
            raise ResourceExhausted(
                f"{self.max_evaluations} evaluations are open; close one first",
                reason="EVALUATION_CAPACITY",
                metadata={"max_evaluations": str(self.max_evaluations)},
            )
        if answer != b"ok":
            raise _unavailable()  # an id drawn twice (never, at 128 random bits): nothing was created
        progress = Progress(evaluation_id, False, tuple(TaskProgress(t, n, 0, 0) for t, n in plan))
        return progress, token

    async def progress(self, evaluation_id: str) -> Progress:
        self._check_id(evaluation_id)
        answer = await self._run(self._progress, evaluation_id, [], repeatable=True)
        if answer is None:
            raise not_found(evaluation_id)
        closed, plan, started, ended = answer
        started_by, ended_by = orjson.loads(started), orjson.loads(ended)
        tasks = tuple(
            TaskProgress(task_id, episodes, int(started_by.get(task_id, 0)), int(ended_by.get(task_id, 0)))
            for task_id, episodes in _plan(plan)
        )
        return Progress(evaluation_id, closed == b"1", tasks)

    async def close(self, evaluation_id: str, operator_token: str) -> Report:
        self._check_id(evaluation_id)
        # The secrets, read to check the token here: never part of a reply but the operator's report.
        raw_meta = await self._run(self._meta, evaluation_id, [], repeatable=True)
        if raw_meta is None:
            raise not_found(evaluation_id)
        meta = _decode_meta(raw_meta)
        if not operator_token or not hmac.compare_digest(token_digest(operator_token), bytes.fromhex(meta["token"])):
            raise wrong_token()
        answer = await self._run(self._close, evaluation_id, [], repeatable=True)
        if answer is None:
            raise not_found(evaluation_id)
        _, plan_raw, flat = answer
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        plan = _plan(plan_raw)
        episodes: list[ReportEpisode] = []
        for task_id, _ in plan:
            for index, seed in enumerate(self._planned(evaluation_id, task_id, meta)):
                raw_slot = fields.get(f"s:{task_id}:{index}".encode())
                raw_grade = fields.get(f"g:{task_id}:{index}".encode())
                slot = orjson.loads(raw_slot) if raw_slot is not None else {}
                grade: Grade | None = _grade_from_json(orjson.loads(raw_grade)) if raw_grade is not None else None
                truncated = bool(slot.get("t"))
                episodes.append(
                    ReportEpisode(
                        task_id=task_id,
                        index=index,
                        seed=seed,
                        scenario_id=slot.get("sc", ""),
                        episode_id=slot.get("e", ""),
                        status=slot_status(drawn=raw_slot is not None, graded=grade is not None, truncated=truncated),
                        step_count=int(slot.get("n", 0)),
                        score=grade.score if grade is not None else 0.0,
                        grade=grade,
                    )
                )
        return assemble_report(evaluation_id, plan, episodes, bytes.fromhex(meta["key"]))

    async def resolve_task(self, evaluation_id: str, task_id: str, seed: int | None) -> str:
        check_named(evaluation_id)
        self._check_id(evaluation_id)
        flat = await self._run(self._state, evaluation_id, [], repeatable=True)
        state: dict[bytes, bytes] = dict(zip(flat[::2], flat[1::2], strict=True))
        if not state:
            raise not_found(evaluation_id)
        check_seed(seed)
        if state[b"closed"] == b"1":
            raise closed_error("by its operator")
        plan = _plan(state[b"plan"])

        def remaining(task: str) -> int:
            planned, drawn = int(state[f"n:{task}".encode()]), int(state[f"next:{task}".encode()])
            return planned - drawn + len(orjson.loads(state[f"ret:{task}".encode()]))

        return choose_task(plan, remaining, task_id)

    async def draw(self, evaluation_id: str, task_id: str) -> SlotRef:
        self._check_id(evaluation_id)
        answer = await self._run(self._draw, evaluation_id, [task_id], repeatable=False)
        if answer == b"gone":
            raise not_found(evaluation_id)
        self._refused(answer)
        if answer == b"task":
            raise InvalidArgument.for_field("task_id", f"task {task_id[:40]!r} is not part of this evaluation",
                                            reason="TASK_NOT_IN_EVALUATION")  # fmt: skip
        if answer == b"exhausted":
            raise exhausted(task_id)
        index, raw_meta = int(answer[0]), answer[1]
        return SlotRef(evaluation_id, task_id, index, self._planned(evaluation_id, task_id, _decode_meta(raw_meta))[index])

    async def put_back(self, slot: SlotRef) -> None:
        await self._run(self._put_back, slot.evaluation_id, [slot.task_id, slot.index], repeatable=True)

    async def attach(self, slot: SlotRef, episode_id: str, scenario_id: str) -> None:
        answer = await self._run(
            self._attach, slot.evaluation_id, [slot.task_id, slot.index, episode_id, scenario_id], repeatable=True
        )
        self._refused(answer)

    def slot_of(self, evaluation_id: str, task_id: str, index: int, seed: int) -> SlotRef | None:
        """Any replica reaches every evaluation: the stored episode's own fields name its slot."""
        return SlotRef(evaluation_id, task_id, index, seed)

    async def check_open(self, slot: SlotRef) -> None:
        self._refused(await self._run(self._check, slot.evaluation_id, [], repeatable=True))

    async def check_sealable(self, slot: SlotRef) -> None:
        answer = await self._run(self._check, slot.evaluation_id, [slot.task_id, slot.index], repeatable=True)
        self._refused(answer)
        if answer == b"graded":
            raise FailedPrecondition("this scenario has already been graded", reason="SCENARIO_GRADED")

    async def observe(self, slot: SlotRef, step_count: int, truncated: bool, full_grade: Grade | None = None) -> None:
        grade = orjson.dumps(_grade_to_json(full_grade)) if full_grade is not None else b""
        # 'closed' or 'gone': the report is final (or gone), so there is nothing to record.
        await self._run(
            self._observe,
            slot.evaluation_id,
            [slot.task_id, slot.index, step_count, 1 if truncated else 0, grade],
            repeatable=True,
        )

    async def aclose(self) -> None:
        await self._redis.aclose()

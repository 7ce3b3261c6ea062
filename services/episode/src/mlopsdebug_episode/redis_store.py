"""The shared episode store: episode records in Redis, so that any replica serves any episode.

Selected by MLOPSDEBUG_REDIS_URL (e.g. redis://127.0.0.1:6379/0). No transport imports.

Layout (one Redis database; every key under PREFIX):
- `PREFIX:ep:<owner digest>:<episode id>`: a hash {v: version, r: the record (store.EpisodeRecord)},
  with a TTL of the idle timeout, renewed by every write: the idle timeout is the TTL.
- `PREFIX:open` and `PREFIX:open:<owner digest>`: sorted sets of running episodes (and resets under
  way), scored by the time their record expires. The limits count their members, after dropping the
  expired ones, inside the same script that adds one: quotas hold across replicas.

Every write is one Lua script (EVALSHA), so it runs atomically in one round trip. Scripts that calls
on different episodes send in the same turn of the event loop travel together in one pipeline (one
write and one read on the socket instead of one each): each script is still atomic on its own. A step's commit
replaces the record only if its version is the one the step was computed on: two replicas can never
both advance one episode, and a step computed on a stale copy is never applied (ABORTED).

When Redis cannot be reached, a call fails with UNAVAILABLE and no episode changes: a script runs
entirely or not at all. A write whose reply is lost (Redis failed after running it) may have been
applied; the client learns which from GetState's step count, as after any lost reply.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mlopsdebug_common.errors import Aborted, AlreadyExists, NotFound, Unavailable
from mlopsdebug_episode.store import EpisodeRecord, Materialize, capacity_exhausted, quota_exhausted

if TYPE_CHECKING:
    from mlopsdebug_episode.core import Episode, EpisodeConfig

log = logging.getLogger("mlopsdebug.episode")

PREFIX: Final = "mlopsdebug"
# How long a reset under way holds its slot before the scenario arrives (longer than any peer timeout).
RESERVATION_MS: Final = 120_000
# Episodes whose latest state this replica keeps, to skip decoding a record that has not changed.
LOCAL_CACHE_SIZE: Final = 10_000

# Every script reads Redis' own clock (TIME), so replicas' clocks never matter.
_NOW = "local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

# KEYS: record, open, owner's open. ARGV: member, reservation ms, max episodes, owner quota (0: none),
# named (1: the id was chosen by the caller, so it may be taken), owner set TTL ms.
_RESERVE = _NOW + """
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if ARGV[5] == '1' and (redis.call('EXISTS', KEYS[1]) == 1 or redis.call('ZSCORE', KEYS[2], ARGV[1])) then
  return 'exists'
end
local quota = tonumber(ARGV[4])
if quota > 0 and redis.call('ZCARD', KEYS[3]) >= quota then return 'quota' end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 'capacity' end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return 'ok'
"""

# KEYS: record, open, owner's open. ARGV: member. Gives back a reservation whose reset failed.
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return 'ok'
"""

# KEYS: record, open, owner's open. ARGV: member, record, TTL ms.
_CREATE = _NOW + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], 'v', 1, 'r', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 'ok'
"""

# KEYS: record. ARGV: the version this replica holds (0: none). Returns nil (no record), 'current'
# (the held version is the latest: nothing to transfer), or {version, record}.
_LOAD = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return nil end
if v == ARGV[1] then return 'current' end
return {v, redis.call('HGET', KEYS[1], 'r')}
"""

# KEYS: record, open, owner's open. ARGV: member, expected version, new record, TTL ms, ended (1/0).
# Returns 'ok', 'gone' (closed or expired), or the stored version (another call advanced the episode).
_COMMIT = _NOW + """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return 'gone' end
if v ~= ARGV[2] then return v end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[2]) + 1, 'r', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[1])
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
return 'ok'
"""

# KEYS: record, open, owner's open. ARGV: member. Returns nil or {version, record} of the deleted episode.
_DELETE = """
local fields = redis.call('HMGET', KEYS[1], 'v', 'r')
if not fields[1] then return nil end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return fields
"""


def _unavailable() -> Unavailable:
    return Unavailable(
        "the episode store (Redis) is unreachable; retry. A refused reset or read changed nothing; a step "
        "whose answer is lost may have been applied: its episode's step count tells",
        reason="STORE_UNAVAILABLE",
    )


# Seconds a pooled connection may sit unused before it is checked with a PING.
HEALTH_CHECK_INTERVAL_S: Final = 1.0


class _RetryOnlyPing(Retry):
    """Tries every command once, except redis-py's health-check PING, which gets one more try on a new
    connection: a PING changes nothing, so retrying it is safe where retrying a write is not."""

    def __init__(self) -> None:
        super().__init__(NoBackoff(), 0)
        self._ping = Retry(NoBackoff(), 1)

    async def call_with_retry(
        self,
        do: Callable[[], Awaitable[Any]],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        if getattr(do, "__name__", "") == "_send_ping":
            return await self._ping.call_with_retry(do, fail, is_retryable, with_failure_count)
        return await super().call_with_retry(do, fail, is_retryable, with_failure_count)


class RedisEpisodeStore:
    """Episode records in Redis; see the module docstring. One per process, on one event loop."""

    shared = True

    def __init__(self, client: aioredis.Redis, config: EpisodeConfig, *, prefix: str = PREFIX) -> None:
        self._redis = client
        self.config = config
        self._prefix = prefix
        self._ttl_ms = max(1, round(config.idle_timeout_s * 1000))
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._create = client.register_script(_CREATE)
        self._load = client.register_script(_LOAD)
        self._commit = client.register_script(_COMMIT)
        self._delete = client.register_script(_DELETE)
        # The latest state seen of recently used episodes: a load that finds it current transfers nothing.
        self._cache: collections.OrderedDict[tuple[str, str], Episode] = collections.OrderedDict()
        # Scripts waiting for the end of this loop turn, to go out in one pipeline; flushes in flight.
        self._queued: list[tuple[Any, list[str], list[Any], asyncio.Future[Any]]] = []
        self._flushes: set[asyncio.Task[None]] = set()

    @classmethod
    def from_url(cls, url: str, config: EpisodeConfig, *, timeout_s: float = 5.0, prefix: str = PREFIX) -> RedisEpisodeStore:
        """A store on `url`. redis-py's own retries are off: a write retried after a lost reply could be
        refused as a conflict although it was applied, so failures surface as UNAVAILABLE instead."""
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=min(timeout_s, 2.0),
            retry=_RetryOnlyPing(),
            # A pooled connection idle this long is PINGed before its next command: after a Redis
            # restart a stale one is replaced there, instead of failing the write sent on it.
            health_check_interval=HEALTH_CHECK_INTERVAL_S,
            decode_responses=False,
        )
        return cls(client, config, prefix=prefix)

    def describe(self) -> str:
        """Where the records are, for the log (never the password)."""
        kwargs = self._redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return f"redis {where} db {kwargs.get('db', 0)}"

    # -- keys --

    def _keys(self, owner: str, episode_id: str) -> tuple[list[str], str]:
        owner_digest = hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        member = f"{owner_digest}:{episode_id}"
        return [f"{self._prefix}:ep:{member}", f"{self._prefix}:open", f"{self._prefix}:open:{owner_digest}"], member

    async def _run(self, script: Any, keys: list[str], args: list[Any], *, read_only: bool = False) -> Any:
        """Runs a script; Redis unreachable becomes UNAVAILABLE. A read is tried twice: the first attempt
        after a Redis restart may meet a pooled connection that Redis closed."""
        attempts = 2 if read_only else 1
        for attempt in range(attempts):
            try:
                return await self._pipelined(script, keys, args)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Drop every pooled connection: after a restart they are all dead, and the next write
                # must not meet one.
                await self._redis.connection_pool.disconnect()
                if attempt + 1 == attempts:
                    log.warning("the episode store is unreachable: %s", exc)
                    raise _unavailable() from exc
            except RedisError as exc:  # read-only replica, out of memory, a script error: not the caller's fault
                log.error("the episode store refused a script: %s", exc)
                raise _unavailable() from exc
        raise AssertionError("unreachable")

    async def _pipelined(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Runs the script with the others queued in this loop turn (a lone one goes by itself)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queued.append((script, keys, args, future))
        if len(self._queued) == 1:
            loop.call_soon(self._flush_queued)
        return await future

    def _flush_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.ensure_future(self._send(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _send(self, batch: list[tuple[Any, list[str], list[Any], asyncio.Future[Any]]]) -> None:
        try:
            if len(batch) == 1:
                script, keys, args, _ = batch[0]
                results: list[Any] = [await script(keys=keys, args=args)]
            else:
                # Plain EVALSHA: a script registered on the pipeline would cost a SCRIPT EXISTS round trip
                # per pipeline. One that Redis lost (a restart) is NOSCRIPT, did not run, and runs alone.
                pipe = self._redis.pipeline(transaction=False)
                for script, keys, args, _ in batch:
                    pipe.evalsha(script.sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
                for index, result in enumerate(results):
                    if isinstance(result, NoScriptError):
                        script, keys, args, _ = batch[index]
                        try:
                            results[index] = await script(keys=keys, args=args)
                        except Exception as exc:  # noqa: BLE001 - that call's own answer
                            results[index] = exc
        except BaseException as exc:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _remember(self, episode: Episode) -> None:
        """Caches the latest state seen (a load that awaited its scenario may return an older one)."""
        key = (episode.owner, episode.episode_id)
        known = self._cache.get(key)
        if known is not None and known.version > episode.version:
            return
        self._cache[key] = episode
        self._cache.move_to_end(key)
        if len(self._cache) > LOCAL_CACHE_SIZE:
            self._cache.popitem(last=False)

    # -- EpisodeStore --

    async def reserve(self, owner: str, episode_id: str, *, named: bool) -> None:
        keys, member = self._keys(owner, episode_id)
        quota = self.config.max_episodes_per_owner or 0
        answer = await self._run(
            self._reserve,
            keys,
            [member, RESERVATION_MS, self.config.max_episodes, quota, 1 if named else 0, self._ttl_ms + RESERVATION_MS],
        )
        if answer == b"exists":
            raise AlreadyExists(f"episode {episode_id!r} already exists", reason="EPISODE_EXISTS")
        if answer == b"quota":
            raise quota_exhausted(quota)
        if answer == b"capacity":
            raise capacity_exhausted(self.config.max_episodes)

    async def release(self, owner: str, episode_id: str) -> None:
        keys, member = self._keys(owner, episode_id)
        await self._run(self._release, keys, [member])

    async def create(self, episode: Episode) -> None:
        keys, member = self._keys(episode.owner, episode.episode_id)
        answer = await self._run(self._create, keys, [member, EpisodeRecord.of(episode).encode(), self._ttl_ms])
        if answer == b"exists":
            raise AlreadyExists(f"episode {episode.episode_id!r} already exists", reason="EPISODE_EXISTS")
        self._remember(episode)

    async def get(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        key = (owner, episode_id)
        cached = self._cache.get(key)
        keys, _ = self._keys(owner, episode_id)
        answer = await self._run(self._load, keys[:1], [cached.version if cached is not None else 0], read_only=True)
        if answer is None:
            self._cache.pop(key, None)
            return None
        if not isinstance(answer, list):  # b"current": the version held here (never 0) is the latest
            assert cached is not None
            if key in self._cache:  # (a conflict seen meanwhile may have dropped it)
                self._cache.move_to_end(key)
            return cached
        version, raw = answer
        episode = await materialize(EpisodeRecord.decode(raw, int(version)))
        self._remember(episode)
        return episode

    async def commit(self, episode: Episode) -> None:
        keys, member = self._keys(episode.owner, episode.episode_id)
        answer = await self._run(
            self._commit,
            keys,
            [member, episode.version - 1, EpisodeRecord.of(episode).encode(), self._ttl_ms, 1 if episode.done else 0],
        )
        if answer == b"ok":
            self._remember(episode)
            return
        self._cache.pop((episode.owner, episode.episode_id), None)
        if answer == b"gone":
            raise NotFound(f"episode {episode.episode_id!r} was closed", reason="EPISODE_NOT_FOUND")
        stored = int(answer)
        raise Aborted(
            f"episode {episode.episode_id!r} was advanced by another call (it is at step {stored - 1}, this step "
            f"was computed at step {episode.version - 2}); this step was not applied: read its state and decide",
            reason="EPISODE_CONFLICT",
            metadata={"step_count": str(stored - 1)},
        )

    async def delete(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        """Loads the episode first (a replica that cannot rebuild it changes nothing), then deletes it."""
        episode = await self.get(owner, episode_id, materialize)
        if episode is None:
            return None
        keys, member = self._keys(owner, episode_id)
        self._cache.pop((owner, episode_id), None)
        answer = await self._run(self._delete, keys, [member])
        if answer is None:
            return None  # closed by another call meanwhile
        version, raw = answer
        if int(version) == episode.version:
            return episode
        return await materialize(EpisodeRecord.decode(raw, int(version)))  # a step landed meanwhile

    def reap_idle(self) -> list[str]:
        return []  # records expire by their TTL

    async def close(self) -> None:
        await self._redis.aclose()

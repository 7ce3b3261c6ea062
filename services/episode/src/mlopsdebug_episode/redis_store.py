"""The shared episode store: episode records in Redis, so that any replica serves any episode.

Selected by MLOPSDEBUG_REDIS_URL (e.g. redis://127.0.0.1:6379/0). No transport imports.

Layout (one Redis database; every key under PREFIX):
- `PREFIX:ep:<owner digest>:<episode id>`: a hash {v: version, r: the record (store.EpisodeRecord)},
  with a TTL of the idle timeout, renewed by every write: the idle timeout is the TTL.
- `PREFIX:open` and `PREFIX:open:<owner digest>`: sorted sets of running episodes (and resets under
  way), scored by the time their record expires. The limits count their members, after dropping the
  expired ones, inside the same script that adds one: quotas hold across replicas.
- `PREFIX:reserved:<member>` (a reset's reservation token, until its record is created) and
  `PREFIX:closed:<member>` (a closed record, kept CLOSED_KEPT_MS): what a write sent again is checked against.

Every write is one Lua script (EVALSHA), so it runs atomically in one round trip. Scripts that calls
on different episodes send in the same turn of the event loop travel together in one write on one
pipelined connection (`_Pipe`): each script is still atomic on its own. A step is computed on this
replica's latest copy of its episode, and its commit replaces the record only if it is still that
version and revision: two replicas can never both advance one episode, and a step computed on a stale
copy is never applied (it is computed again on the stored state if that was already there when the
call arrived, else ABORTED).

Every write carries a random token that the record keeps, so a script is sent a second time when the
first attempt fails on the connection (a Redis restart, a lost reply): a write already applied is
recognised and answered as applied, never applied twice. When Redis cannot be reached, a call fails
with UNAVAILABLE and no episode changes: a script runs entirely or not at all.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final

import hiredis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mlopsdebug_common.errors import Aborted, AlreadyExists, NotFound, Unavailable
from mlopsdebug_episode.store import (
    EpisodeRecord,
    Materialize,
    StaleCopy,
    capacity_exhausted,
    quota_exhausted,
)

if TYPE_CHECKING:
    from mlopsdebug_episode.core import Episode, EpisodeConfig

log = logging.getLogger("mlopsdebug.episode")

PREFIX: Final = "mlopsdebug"
# How long a reset under way holds its slot before the scenario arrives (longer than any peer timeout).
RESERVATION_MS: Final = 120_000
# Episodes whose latest state this replica keeps: a step computes on it without reading the record first.
LOCAL_CACHE_SIZE: Final = 10_000
# A write's token: random hex characters, so that a write sent again is recognised (the odds that two
# writes of one episode draw the same token are 16**-16).
TOKEN_CHARS: Final = 16
# The tokens a record keeps of its latest writes: a write sent again after that many others were applied
# to its episode meanwhile would be taken for a new one (and refused, its version being past).
REVISIONS_KEPT: Final = 4
# How long a closed episode's record is kept to answer its close sent again (longer than a reconnect).
CLOSED_KEPT_MS: Final = 60_000

# Every script reads Redis' own clock (TIME), so replicas' clocks never matter: `now` in ms, `now_us` in
# microseconds (a string: a Lua number would be printed in exponent notation).
_NOW = """local t = redis.call('TIME'); local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now_us = t[1] .. string.format('%06d', tonumber(t[2]))
"""

# Every write carries a token (TOKEN_CHARS random hex characters) that names it, so that a write sent
# again after its reply was lost is recognised as already applied. A record's `w` field holds the
# tokens of its last REVISIONS_KEPT writes, newest first: the first one is the record's revision.

# KEYS: record, open, owner's open, reservation. ARGV: member, reservation ms, max episodes, owner quota
# (0: none), named (1: the id was chosen by the caller, so it may be taken), owner set TTL ms, token.
_RESERVE = _NOW + """
if redis.call('GET', KEYS[4]) == ARGV[7] then return 'ok' end
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
redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[2])
return 'ok'
"""

# KEYS: record, open, owner's open, reservation. ARGV: member. Gives back a reservation whose reset failed.
_RELEASE = """
redis.call('DEL', KEYS[4])
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return 'ok'
"""

# Whether the token ARGV[i] is among a record's last writes (`w`): the write was applied already.
_APPLIED = """
local function applied(written, token)
  for i = 1, #written, TOKEN_CHARS do
    if string.sub(written, i, i + TOKEN_CHARS - 1) == token then return true end
  end
  return false
end
"""

# KEYS: record, open, owner's open, reservation. ARGV: member, record, TTL ms, token.
_CREATE = _NOW + _APPLIED + """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if applied(redis.call('HGET', KEYS[1], 'w') or '', ARGV[4]) then return 'ok' end
  return 'exists'
end
redis.call('HSET', KEYS[1], 'v', 1, 'r', ARGV[2], 'w', ARGV[4], 't', now_us)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('DEL', KEYS[4])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 'ok'
"""

# KEYS: record. ARGV: the version and revision this replica holds (0 and '': none). Returns nil (no
# record), 'current' (the held version is the latest: nothing to transfer), or {version, record, revision}.
_LOAD = """
local f = redis.call('HMGET', KEYS[1], 'v', 'w')
if not f[1] then return nil end
local revision = string.sub(f[2] or '', 1, TOKEN_CHARS)
if f[1] == ARGV[1] and revision == ARGV[2] then return 'current' end
return {f[1], redis.call('HGET', KEYS[1], 'r'), revision}
"""

# KEYS: record, open, owner's open. ARGV: member, expected version, expected revision, token, new record,
# TTL ms, ended (1/0), microseconds since the call arrived ('': unknown). Replaces the record only if it
# is still the expected version and revision (a revision tells an episode from another one closed and
# started again under its id). Returns 'ok'; {'applied', version} (this very write, sent again);
# 'gone' (closed or expired); {'stale', version, record, revision} if the record moved before the call
# arrived (the caller's copy was out of date: it may compute again on this state); {'moved', version}
# if it moved since (a race lost).
_COMMIT = _NOW + _APPLIED + """
local f = redis.call('HMGET', KEYS[1], 'v', 'w', 't')
if not f[1] then return 'gone' end
local written = f[2] or ''
if applied(written, ARGV[4]) then return {'applied', f[1]} end
if f[1] ~= ARGV[2] or string.sub(written, 1, TOKEN_CHARS) ~= ARGV[3] then
  local age = tonumber(ARGV[8])
  if age and tonumber(f[3] or '0') <= tonumber(now_us) - age then
    return {'stale', f[1], redis.call('HGET', KEYS[1], 'r'), string.sub(written, 1, TOKEN_CHARS)}
  end
  return {'moved', f[1]}
end
redis.call('HSET', KEYS[1], 'v', tonumber(ARGV[2]) + 1, 'r', ARGV[5], 't', now_us,
           'w', string.sub(ARGV[4] .. written, 1, TOKEN_CHARS * REVISIONS_KEPT))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if ARGV[7] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[1])
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
return 'ok'
"""

# KEYS: record, open, owner's open, closed. ARGV: member, token, ms the closed record is kept, the version
# and revision this replica holds. Returns nil, or the deleted episode's {version} (the one held here) or
# {version, record}. The record is kept a while under `closed`, marked with the token, so that this close
# sent again gets the same answer instead of NOT_FOUND.
_DELETE = """
local function answer(key, version, written)
  if version == ARGV[4] and string.sub(written or '', 1, TOKEN_CHARS) == ARGV[5] then return {version} end
  return {version, redis.call('HGET', key, 'r')}
end
local f = redis.call('HMGET', KEYS[1], 'v', 'w')
if not f[1] then
  local closed = redis.call('HMGET', KEYS[4], 'c', 'v', 'w')
  if closed[1] == ARGV[2] then return answer(KEYS[4], closed[2], closed[3]) end
  return nil
end
local reply = answer(KEYS[1], f[1], f[2])
redis.call('RENAME', KEYS[1], KEYS[4])
redis.call('HSET', KEYS[4], 'c', ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return reply
"""



def _lua(script: str) -> str:
    return script.replace("TOKEN_CHARS", str(TOKEN_CHARS)).replace("REVISIONS_KEPT", str(REVISIONS_KEPT))


def _token() -> bytes:
    return os.urandom(TOKEN_CHARS // 2).hex().encode()


def _packed(sha: str, keys: list[str], args: list[Any]) -> bytes:
    """EVALSHA in the Redis protocol (RESP): an array of bulk strings."""
    parts = [b"EVALSHA", sha.encode(), str(len(keys)).encode()]
    parts += [key.encode() for key in keys]
    parts += [arg if arg.__class__ is bytes else str(arg).encode() for arg in args]
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out += (b"$%d\r\n" % len(part), part, b"\r\n")
    return b"".join(out)


def _unavailable() -> Unavailable:
    return Unavailable(
        "the episode store (Redis) is unreachable; retry. A refused reset or read changed nothing; a step "
        "whose answer is lost may have been applied: its episode's step count tells",
        reason="STORE_UNAVAILABLE",
    )


# Seconds a pooled connection may sit unused before it is checked with a PING.
HEALTH_CHECK_INTERVAL_S: Final = 1.0


class _RetryOnlyPing(Retry):
    """Tries every command once (the store sends a script again itself, with the same token), except
    redis-py's health-check PING, which gets one more try on a new connection."""

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


# A queued script: the script, its keys, its arguments, and the future its caller awaits.
_Call = tuple[Any, list[str], list[Any], "asyncio.Future[Any]"]


class _Replies(asyncio.Protocol):
    """Takes over a connection's transport once redis-py has opened it: replies go straight to the pipe."""

    def __init__(self, pipe: _Pipe) -> None:
        self._pipe = pipe
        self.parser = hiredis.Reader(replyError=ResponseError)

    def data_received(self, data: bytes) -> None:
        self._pipe.received(self, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._pipe.lost(self, exc)


class _Pipe:
    """One connection on which every batch of scripts is written the moment it is ready, never waiting
    for the replies of the batches before it; each reply, parsed by hiredis as it arrives, answers its
    caller directly. redis-py's per-call machinery (pool checkout, packing, retry and timeout wrappers, a
    task per write) cost more CPU per batch than the rest of the store's work per step, and extra turns
    of the event loop per step; its connection class still opens the connection (TCP, unix socket or
    TLS; AUTH, SELECT). A connection that fails, closes, or leaves a reply unanswered past the timeout
    fails every call waiting on it (the store sends each again) and the next batch reconnects: after a
    Redis restart the old connection's close is seen at once."""

    def __init__(self, pool: aioredis.ConnectionPool, timeout_s: float, rerun: Callable[[_Call], None]) -> None:
        self._pool = pool
        self._timeout_s = timeout_s
        self._rerun = rerun
        self._connection: Any = None  # redis-py's, kept for its lifetime
        self._transport: asyncio.WriteTransport | None = None
        self._protocol: _Replies | None = None
        self._waiting: collections.deque[tuple[_Call, float]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._connect_lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def connect(self) -> None:
        async with self._connect_lock:
            if self.connected:
                return
            connection = self._pool.make_connection()
            await connection.connect()  # raises redis' ConnectionError / TimeoutError
            writer = connection._writer  # noqa: SLF001 - the stream it opened
            assert writer is not None
            transport = writer.transport
            protocol = _Replies(self)
            transport.set_protocol(protocol)
            self._connection, self._transport, self._protocol = connection, transport, protocol

    def send(self, batch: list[_Call]) -> None:
        """Writes the batch's EVALSHAs in one write (the pipe must be connected)."""
        assert self._transport is not None
        self._transport.write(b"".join(_packed(script.sha, keys, args) for script, keys, args, _ in batch))
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._waiting.extend((call, now) for call in batch)
        if self._timer is None:
            self._timer = loop.call_later(self._timeout_s, self._check_deadline)

    def received(self, protocol: _Replies, data: bytes) -> None:
        if protocol is not self._protocol:
            return
        protocol.parser.feed(data)
        try:
            while (reply := protocol.parser.gets()) is not False:
                (call, _) = self._waiting.popleft()
                future = call[3]
                if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
                    self._rerun(call)  # Redis lost the script (a restart, SCRIPT FLUSH): it did not run
                elif future.done():
                    continue
                elif isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        except (hiredis.ProtocolError, IndexError) as exc:
            self._fail(RedisConnectionError(f"unreadable reply from Redis: {exc!r}"))

    def lost(self, protocol: _Replies, exc: Exception | None) -> None:
        if protocol is self._protocol:
            self._fail(RedisConnectionError(f"Connection closed by server ({exc!r})."))

    def _check_deadline(self) -> None:
        self._timer = None
        if not self._waiting:
            return
        waited = asyncio.get_running_loop().time() - self._waiting[0][1]
        if waited >= self._timeout_s:
            self._fail(RedisTimeoutError(f"no reply from Redis within {self._timeout_s:g} s"))
        else:
            self._timer = asyncio.get_running_loop().call_later(self._timeout_s - waited, self._check_deadline)

    def _fail(self, failure: Exception) -> None:
        """Closes the connection and fails every call still waiting on it."""
        if self._connection is not None:
            self._connection._close()  # noqa: SLF001 - closes its transport and forgets its streams
        self._connection = self._transport = self._protocol = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, collections.deque()
        for (*_, future), _ in waiting:
            if not future.done():
                future.set_exception(failure)

    def close(self) -> None:
        self._fail(RedisConnectionError("the episode store is closed"))


def redis_client(url: str, timeout_s: float) -> aioredis.Redis:
    """The client every Redis store of a replica uses: redis-py's own retries off (the stores send a
    script again themselves, with the same token), except its health-check PING."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=min(timeout_s, 2.0),
        retry=_RetryOnlyPing(),
        # A pooled connection idle this long is PINGed before its next command: after a Redis restart a
        # stale one is replaced there.
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        decode_responses=False,
    )


class RedisEpisodeStore:
    """Episode records in Redis; see the module docstring. One per process, on one event loop."""

    shared = True

    def __init__(self, client: aioredis.Redis, config: EpisodeConfig, *, prefix: str = PREFIX) -> None:
        self._redis = client
        self.config = config
        self._prefix = prefix
        self._ttl_ms = max(1, round(config.idle_timeout_s * 1000))
        self._reserve = client.register_script(_lua(_RESERVE))
        self._release = client.register_script(_lua(_RELEASE))
        self._create = client.register_script(_lua(_CREATE))
        self._load = client.register_script(_lua(_LOAD))
        self._commit = client.register_script(_lua(_COMMIT))
        self._delete = client.register_script(_lua(_DELETE))
        # The latest state seen of recently used episodes: a load that finds it current transfers nothing.
        self._cache: collections.OrderedDict[tuple[str, str], Episode] = collections.OrderedDict()
        # Scripts waiting for the end of this loop turn, to go out in one write; connects and reruns in flight.
        self._queued: list[_Call] = []
        self._flushes: set[asyncio.Task[None]] = set()
        timeout_s = client.connection_pool.connection_kwargs.get("socket_timeout") or 5.0
        self._pipe = _Pipe(client.connection_pool, timeout_s, self._rerun)

    @classmethod
    def from_url(cls, url: str, config: EpisodeConfig, *, timeout_s: float = 5.0, prefix: str = PREFIX) -> RedisEpisodeStore:
        """A store on `url`. redis-py's own retries are off (the store sends a script again itself, with
        the same token), except for its health-check PING on the connections it uses to load scripts."""
        return cls(redis_client(url, timeout_s), config, prefix=prefix)

    def describe(self) -> str:
        """Where the records are, for the log (never the password)."""
        kwargs = self._redis.connection_pool.connection_kwargs
        where = kwargs.get("path") or f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        return f"redis {where} db {kwargs.get('db', 0)}"

    # -- keys --

    def _keys(self, owner: str, episode_id: str) -> tuple[list[str], str]:
        """The record's keys (record, open, owner's open, reservation, closed) and its member name."""
        owner_digest = hashlib.sha256(owner.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        member = f"{owner_digest}:{episode_id}"
        prefix = self._prefix
        return [
            f"{prefix}:ep:{member}", f"{prefix}:open", f"{prefix}:open:{owner_digest}",
            f"{prefix}:reserved:{member}", f"{prefix}:closed:{member}",
        ], member  # fmt: skip

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Runs a script; Redis unreachable becomes UNAVAILABLE. Every script is tried twice: the first
        attempt after a Redis restart may meet a pooled connection that Redis closed, and each is safe to
        send again (a read changes nothing; a write carries a token, so one already applied is recognised
        and answered as it was, never applied twice)."""
        for attempt in range(2):
            try:
                return await self._pipelined(script, keys, args)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Drop every pooled connection: after a restart they are all dead, and the second attempt
                # must not meet one.
                await self._redis.connection_pool.disconnect()
                if attempt == 1:
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
        if self._pipe.connected:
            self._pipe.send(batch)
        else:
            self._spawn(self._connect_and_send(batch))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _connect_and_send(self, batch: list[_Call]) -> None:
        try:
            await self._pipe.connect()
        except BaseException as exc:
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._pipe.send(batch)

    def _rerun(self, call: _Call) -> None:
        """Runs a script that Redis answered NOSCRIPT through redis-py, which loads it first."""

        async def run() -> None:
            script, keys, args, future = call
            try:
                result = await script(keys=keys, args=args)
            except Exception as exc:  # noqa: BLE001 - that call's own answer
                if not future.done():
                    future.set_exception(exc)
                return
            if not future.done():
                future.set_result(result)

        self._spawn(run())

    def _remember(self, episode: Episode, *, latest: bool = False) -> None:
        """Caches the latest state seen (a load that awaited its scenario may return an older one, unless
        `latest`: the state just read, of an episode that may have been closed and started again)."""
        key = (episode.owner, episode.episode_id)
        known = self._cache.get(key)
        if known is not None and known.version > episode.version and not latest:
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
            keys[:4],
            [member, RESERVATION_MS, self.config.max_episodes, quota, 1 if named else 0,
             self._ttl_ms + RESERVATION_MS, _token()],
        )  # fmt: skip
        if answer == b"exists":
            raise AlreadyExists(f"episode {episode_id!r} already exists", reason="EPISODE_EXISTS")
        if answer == b"quota":
            raise quota_exhausted(quota)
        if answer == b"capacity":
            raise capacity_exhausted(self.config.max_episodes)

    async def release(self, owner: str, episode_id: str) -> None:
        keys, member = self._keys(owner, episode_id)
        await self._run(self._release, keys[:4], [member])

    async def create(self, episode: Episode) -> None:
        keys, member = self._keys(episode.owner, episode.episode_id)
        token = _token()
        answer = await self._run(self._create, keys[:4], [member, EpisodeRecord.of(episode).encode(), self._ttl_ms, token])
        if answer == b"exists":
            raise AlreadyExists(f"episode {episode.episode_id!r} already exists", reason="EPISODE_EXISTS")
        episode.revision = token
        self._remember(episode, latest=True)

    async def get(
        self, owner: str, episode_id: str, materialize: Materialize, *, for_step: bool = False
    ) -> Episode | None:
        key = (owner, episode_id)
        cached = self._cache.get(key)
        if for_step and cached is not None and not cached.done:
            # The commit checks that this is still the stored version (an ended copy is read again: the
            # episode may have been closed and started anew under its id).
            self._cache.move_to_end(key)
            return cached
        keys, _ = self._keys(owner, episode_id)
        held = [cached.version, cached.revision] if cached is not None else [0, b""]
        answer = await self._run(self._load, keys[:1], held)
        if answer is None:
            self._cache.pop(key, None)
            return None
        if not isinstance(answer, list):  # b"current": the version held here (never 0) is the latest
            assert cached is not None
            if key in self._cache:  # (a conflict seen meanwhile may have dropped it)
                self._cache.move_to_end(key)
            return cached
        version, raw, revision = answer
        episode = await materialize(EpisodeRecord.decode(raw, int(version)))
        episode.revision = revision
        self._remember(episode)
        return episode

    async def commit(
        self, episode: Episode, *, materialize: Materialize | None = None, arrived: float | None = None
    ) -> None:
        keys, member = self._keys(episode.owner, episode.episode_id)
        key = (episode.owner, episode.episode_id)
        token = _token()
        # Microseconds since the call arrived, for the script to tell a copy already stale then (compute
        # again) from a version that moved since (a race lost). Unknown: every move is a race lost.
        age_us = "" if arrived is None or materialize is None else max(0, round((time.monotonic() - arrived) * 1e6))
        answer = await self._run(
            self._commit,
            keys[:3],
            [member, episode.version - 1, episode.revision, token, EpisodeRecord.of(episode).encode(),
             self._ttl_ms, 1 if episode.done else 0, age_us],
        )  # fmt: skip
        if answer == b"ok":
            episode.revision = token
            self._remember(episode)
            return
        if answer == b"gone":
            self._cache.pop(key, None)
            raise NotFound(f"episode {episode.episode_id!r} was closed", reason="EPISODE_NOT_FOUND")
        outcome, stored = answer[0], int(answer[1])
        if outcome == b"applied":  # this write, sent again after its answer was lost: applied once
            episode.revision = token
            if stored == episode.version:
                self._remember(episode)
            else:
                self._cache.pop(key, None)
            return
        conflict = Aborted(
            f"episode {episode.episode_id!r} was advanced by another call (it is at step {stored - 1}, this step "
            f"was computed at step {episode.version - 2}); this step was not applied: read its state and decide",
            reason="EPISODE_CONFLICT",
            metadata={"step_count": str(stored - 1)},
        )
        if outcome == b"stale" and materialize is not None:
            current = await materialize(EpisodeRecord.decode(answer[2], stored))
            current.revision = answer[3]
            self._remember(current, latest=True)
            raise StaleCopy(conflict, current)
        self._cache.pop(key, None)
        raise conflict

    async def delete(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        """Deletes the episode in one round trip when this replica holds a copy of it (the reply carries
        the record only if it moved since); otherwise loads it first, so that a replica that cannot
        rebuild it changes nothing."""
        key = (owner, episode_id)
        episode = self._cache.get(key)
        if episode is None:
            episode = await self.get(owner, episode_id, materialize)
            if episode is None:
                return None
        keys, member = self._keys(owner, episode_id)
        self._cache.pop(key, None)
        answer = await self._run(
            self._delete, [*keys[:3], keys[4]], [member, _token(), CLOSED_KEPT_MS, episode.version, episode.revision]
        )
        if answer is None:
            return None  # closed by another call meanwhile
        if len(answer) == 1:
            return episode
        return await materialize(EpisodeRecord.decode(answer[1], int(answer[0])))  # a step landed meanwhile

    def reap_idle(self) -> list[str]:
        return []  # records expire by their TTL

    async def close(self) -> None:
        self._pipe.close()
        await self._redis.aclose()

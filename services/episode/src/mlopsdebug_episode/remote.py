"""The episode service's view of its peers over gRPC: a cached scenario source and a grader.

Peer failures become domain errors here, so the core sees UNAVAILABLE and changes nothing. A peer
that is down fails a call fast, with UNAVAILABLE, instead of holding it until its deadline: a call
waits at most CONNECT_WINDOW_S for the channel to (re)connect (long enough to ride out a peer's
restart: the channel retries a lost connection at least every 1.2 s), then goes out without
wait_for_ready, so a connection lost meanwhile fails it at once. With MLOPSDEBUG_MTLS_DIR the channels present the
episode identity's certificate and accept only a server whose certificate names the peer's identity.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as gen_grpc
from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc
from mlopsdebug_common.convert import (
    SPLIT_TO_PB,
    diagnosis_to_pb,
    grade_from_pb,
    sealed_key_to_pb,
)
from mlopsdebug_common.domain import Diagnosis, Grade, Scenario
from mlopsdebug_common.errors import InvalidArgument, Unavailable
from mlopsdebug_common.rpc import MutualTls, internal_channel
from mlopsdebug_common.sealing import SealedKey
from mlopsdebug_common.tasks import TaskSpec
from mlopsdebug_episode.wire import scenario_from_wire

log = logging.getLogger("mlopsdebug.episode")

_TRANSIENT = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


# Reasons with which the grader refuses a diagnosis (the caller's fault, not ours).
_DIAGNOSIS_REASONS = frozenset({"DIAGNOSIS_TOO_LONG", "INVALID_DIAGNOSIS", "DIAGNOSIS_MISSING"})


def _error_reason(err: grpc.aio.AioRpcError) -> str:
    status = rpc_status.from_call(err)  # pyright: ignore[reportArgumentType] - an AioRpcError has what from_call reads (code, details, trailing metadata)
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


def _unavailable(peer: str) -> Unavailable:
    return Unavailable(
        f"the {peer} service is unreachable; nothing was changed, retry", reason=f"{peer.upper()}_UNAVAILABLE"
    )


def _peer_error(peer: str, err: grpc.aio.AioRpcError) -> Exception:
    """UNAVAILABLE for outages (the caller may retry); anything else from a peer is our bug: INTERNAL."""
    if err.code() in _TRANSIENT:
        return _unavailable(peer)
    return RuntimeError(f"{peer} failed with {err.code().name}: {err.details()}")


# How long a call waits for a peer's channel to become READY before failing with UNAVAILABLE. The
# channels retry a lost connection at least every 1.2 s (rpc.CHANNEL_OPTIONS' 1 s maximum backoff
# plus gRPC's 20% jitter), so a peer that has restarted is reconnected to within this window; one that
# is down fails calls after it, long before their deadline.
CONNECT_WINDOW_S = 1.5


async def _until_ready(channel: grpc.aio.Channel, peer: str, window_s: float) -> None:
    """Returns once the channel is READY (at once when it is); UNAVAILABLE if not within window_s."""
    state = channel.get_state(try_to_connect=True)
    if state == grpc.ChannelConnectivity.READY:
        return
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + window_s
    while state != grpc.ChannelConnectivity.READY:
        remaining = give_up_at - loop.time()
        if remaining <= 0:
            raise _unavailable(peer)
        try:
            await asyncio.wait_for(channel.wait_for_state_change(state), remaining)
        except TimeoutError:
            raise _unavailable(peer) from None
        state = channel.get_state(try_to_connect=True)


class RemoteScenarioSource:
    """Fetches scenarios from the generator; an LRU cache plus in-flight sharing of identical requests.

    A scenario is a pure function of (task, seed) only for one generator version and salt, and a
    generator restarted with either changed would otherwise be masked by the cache for as long as the
    episode service runs. So whenever the connection to the generator drops, the next lookup first
    regenerates its most recently used scenario and compares the scenario id (which covers version and
    salt); if it differs, the whole cache is dropped. Open episodes keep the scenario they started with.
    The check waits up to REVALIDATE_TIMEOUT_S for the generator to be reachable (a restarted one is
    reconnecting); if it is not, cached scenarios are served, and the check runs again once the
    connection is back, or after RECHECK_S. Replicas share version and salt: one replica restarting
    while others stay up leaves the connection up and triggers no check.
    """

    REVALIDATE_TIMEOUT_S = 2.0  # short: while the generator is down, cached scenarios are still served
    RECHECK_S = 5.0  # after a check that could not reach the generator, unless it is reachable sooner

    def __init__(
        self, target: str, *, cache_size: int = 2048, timeout_s: float = 10.0, tls: MutualTls | None = None
    ) -> None:
        self._channel = internal_channel(target, tls, "generator")
        self._stub = gen_grpc.GeneratorServiceStub(self._channel)
        self._cache: collections.OrderedDict[tuple[str, int, str], Scenario] = collections.OrderedDict()
        self._inflight: dict[tuple[str, int, str], asyncio.Future[Scenario]] = {}
        self._cache_size = cache_size
        self._timeout_s = timeout_s
        self._watcher: asyncio.Task[None] | None = None
        self._revalidate_pending = False
        self._recheck_at = 0.0  # loop time before which a pending check is not retried
        self._revalidate_lock = asyncio.Lock()
        self.hits = 0
        self.misses = 0
        self.invalidations = 0  # times the cache was dropped for a changed generator

    async def _watch_connection(self) -> None:
        """Flags a check whenever the channel leaves READY (the generator may come back different), and
        lets a failed check run again as soon as the channel is READY again."""
        state = self._channel.get_state(try_to_connect=False)
        while True:
            await self._channel.wait_for_state_change(state)
            previous, state = state, self._channel.get_state(try_to_connect=False)
            if previous == grpc.ChannelConnectivity.READY:
                self._revalidate_pending = True
            if state == grpc.ChannelConnectivity.READY:
                self._recheck_at = 0.0

    def _check_due(self) -> bool:
        return self._revalidate_pending and asyncio.get_running_loop().time() >= self._recheck_at

    async def _revalidate(self) -> None:
        """Drops the cache if the generator now answers its latest scenario differently; quiet if it is down."""
        key, cached = next(reversed(self._cache.items()))
        try:
            # wait_for_ready: a generator that has just restarted is still being reconnected to (under
            # round-robin the channel fails fast meanwhile), and a stale answer must not win the race.
            response = await self._stub.GenerateScenario(
                gen_pb.GenerateScenarioRequest(task_id=key[0], seed=key[1], split=SPLIT_TO_PB[key[2]]),
                timeout=self.REVALIDATE_TIMEOUT_S,
                wait_for_ready=True,
            )
        except grpc.aio.AioRpcError:
            # Unreachable: serve the cache, and check again once the channel is READY (or in a while).
            self._recheck_at = asyncio.get_running_loop().time() + self.RECHECK_S
            return
        self._revalidate_pending = False
        fresh = scenario_from_wire(response.scenario)
        if fresh.scenario_id != cached.scenario_id:
            log.warning(
                "the generator changed (version %s -> %s, or its salt): dropping %d cached scenarios",
                cached.generator_version, fresh.generator_version, len(self._cache),
            )
            self._cache.clear()
            self.invalidations += 1
            self._cache[key] = fresh

    async def get(self, task_id: str, seed: int, split: str = "all") -> Scenario:
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch_connection())
        if (self._check_due() or self._revalidate_lock.locked()) and self._cache:
            async with self._revalidate_lock:  # lookups during a revalidation wait for its verdict
                if self._check_due() and self._cache:
                    await self._revalidate()
        key = (task_id, seed, split)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return cached
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[Scenario] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            scenario = await self._fetch(task_id, seed, split)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]
        future.set_result(scenario)
        self._cache[key] = scenario
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return scenario

    async def _fetch(self, task_id: str, seed: int, split: str) -> Scenario:
        await _until_ready(self._channel, "generator", min(CONNECT_WINDOW_S, self._timeout_s))
        try:
            response = await self._stub.GenerateScenario(
                gen_pb.GenerateScenarioRequest(task_id=task_id, seed=seed, split=SPLIT_TO_PB[split]),
                timeout=self._timeout_s,
            )
        except grpc.aio.AioRpcError as err:
            raise _peer_error("generator", err) from err
        return scenario_from_wire(response.scenario)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self._channel.close()


class RemoteGrader:
    """The grader over gRPC. Whether a grade reveals the answer is the grader's own setting."""

    def __init__(self, target: str, *, timeout_s: float = 10.0, tls: MutualTls | None = None) -> None:
        self._channel = internal_channel(target, tls, "grader")
        self._stub = grader_grpc.GraderServiceStub(self._channel)
        self._timeout_s = timeout_s

    async def grade(self, key: SealedKey, diagnosis: Diagnosis, *, task: TaskSpec) -> Grade:
        request = grader_pb.GradeRequest(answer_key=sealed_key_to_pb(key), diagnosis=diagnosis_to_pb(diagnosis))
        await _until_ready(self._channel, "grader", min(CONNECT_WINDOW_S, self._timeout_s))
        try:
            response = await self._stub.Grade(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as err:
            if err.code() == grpc.StatusCode.INVALID_ARGUMENT and _error_reason(err) in _DIAGNOSIS_REASONS:
                raise InvalidArgument(err.details() or "invalid diagnosis", reason=_error_reason(err)) from err
            raise _peer_error("grader", err) from err
        return grade_from_pb(response.grade)

    async def close(self) -> None:
        await self._channel.close()

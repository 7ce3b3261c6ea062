"""The episode service's gRPC servicer and server: unary RPCs, the Session stream, idle reaping."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from mlopsdebug.common.v1 import common_pb2 as common_pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_common import eventloop, principals, rpc
from mlopsdebug_common.convert import split_from_pb, task_to_pb
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_episode import convert
from mlopsdebug_episode.actions import Action
from mlopsdebug_episode.config import EpisodeServerConfig
from mlopsdebug_episode.core import Episode, EpisodeManager, Grader, ScenarioSource, StepResult
from mlopsdebug_episode.evaluation import EvaluationBook, EvaluationStore, MemoryEvaluationStore
from mlopsdebug_episode.remote import RemoteGrader, RemoteScenarioSource

DOMAIN = "episode.mlopsdebug"
SERVICE_NAME = ep_pb.DESCRIPTOR.services_by_name["EpisodeService"].full_name
REQUEST_ID_MAX_CHARS = 64
# Session call metadata by which a client keeps the stream's episodes open after the stream ends.
RESUMABLE_METADATA = "mlopsdebug-session-resumable"
# Observation templates kept, by scenario: rebuilding one costs about 160 µs, copying it about 3.
TEMPLATE_CACHE_SIZE = 4096
# Encoded action results kept, by (scenario, action), in bytes: a read's result is the whole artifact.
RESULT_CACHE_BYTES = 64 * 1024 * 1024
# Field numbers of the envelopes around a pre-encoded observation.
_STEP_OBSERVATION = ep_pb.StepResponse.DESCRIPTOR.fields_by_name["observation"].number
_SESSION_REQUEST_ID = ep_pb.SessionResponse.DESCRIPTOR.fields_by_name["request_id"].number
_SESSION_STEP = ep_pb.SessionResponse.DESCRIPTOR.fields_by_name["step"].number
_SESSION_STEP_BATCH = ep_pb.SessionResponse.DESCRIPTOR.fields_by_name["step_batch"].number
_BATCH_RESULTS = ep_pb.StepBatchResponse.DESCRIPTOR.fields_by_name["results"].number
_BATCH_RESULT_STEP = ep_pb.StepBatchResult.DESCRIPTOR.fields_by_name["step"].number
_BATCH_RESULT_ERROR = ep_pb.StepBatchResult.DESCRIPTOR.fields_by_name["error"].number
# Where a step's observation sits in each response, outermost field first (see `convert.nested`).
_SESSION_STEP_OBSERVATION = (_SESSION_STEP, _STEP_OBSERVATION)
_BATCH_STEP_OBSERVATION = (_BATCH_RESULTS, _BATCH_RESULT_STEP, _STEP_OBSERVATION)
_BATCH_ERROR = (_BATCH_RESULTS, _BATCH_RESULT_ERROR)
# Methods whose behavior may answer with its response already encoded (bytes), see `_encode`.
PRE_ENCODED_METHODS = frozenset({"Step", "StepBatch", "Session"})
log = logging.getLogger("mlopsdebug.episode")


class EpisodeServicer(ep_grpc.EpisodeServiceServicer):
    """Thin adapter: proto in, core call, proto out. Errors become statuses in rpc.ServerGuard.

    Each call's owner (principal, client token or connection) comes from its metadata and scopes
    every episode it creates or names; a call with keys on but no valid key gets UNAUTHENTICATED.
    """

    def __init__(
        self,
        manager: EpisodeManager,
        *,
        api_keys: principals.ApiKeys | None = None,
        trust_proxy_peer: bool = False,
    ) -> None:
        self._manager = manager
        self._keys = api_keys
        self._trust_proxy_peer = trust_proxy_peer  # see EpisodeServerConfig.trust_proxy_peer
        # The static part of observations by scenario id, shared by every episode on that scenario.
        self._templates: collections.OrderedDict[str, convert.ObservationParts] = collections.OrderedDict()
        # A non-submitting action's result is a function of the scenario and the action alone.
        self._results: collections.OrderedDict[tuple[str, Action], bytes] = collections.OrderedDict()
        self._results_bytes = 0

    def _parts(self, episode: Episode) -> convert.ObservationParts:
        key = episode.scenario.scenario_id
        parts = self._templates.get(key)
        if parts is None:
            parts = self._templates[key] = convert.ObservationParts.of(episode)
            if len(self._templates) > TEMPLATE_CACHE_SIZE:
                self._templates.popitem(last=False)
        else:
            self._templates.move_to_end(key)
        return parts

    def _encoded_result(self, result: StepResult, action: Action) -> bytes:
        """The observation's last_action_result, encoded; cached unless graded (a grade is the episode's own)."""
        if action.kind == "submit_diagnosis":
            return convert.action_result_field(result.outcome)
        key = (result.episode.scenario.scenario_id, action)
        encoded = self._results.get(key)
        if encoded is None:
            encoded = self._results[key] = convert.action_result_field(result.outcome)
            self._results_bytes += len(encoded)
            while self._results_bytes > RESULT_CACHE_BYTES:
                _, dropped = self._results.popitem(last=False)
                self._results_bytes -= len(dropped)
        else:
            self._results.move_to_end(key)
        return encoded

    def _template(self, episode: Episode) -> common_pb.Observation:
        return self._parts(episode).template

    def _owner(self, context: grpc.aio.ServicerContext) -> str:
        return principals.owner_of_call(
            context.invocation_metadata() or (), context.peer(), self._keys, trust_proxy_peer=self._trust_proxy_peer
        )

    def _step_owner(self, step: ep_pb.StepRequest, call_owner: str) -> str:
        """A step's own client token (keys off only) stands in for the call's: see StepRequest.client_token."""
        if step.client_token and self._keys is None:
            return principals.token_owner(step.client_token)
        return call_owner

    # -- shared implementations (used by unary RPCs and the Session stream) --

    async def _reset(self, request: ep_pb.ResetRequest, owner: str) -> tuple[Episode, ep_pb.ResetResponse]:
        if not request.task_id and not request.evaluation_id:  # an evaluation picks the task when none is named
            raise InvalidArgument.for_field("task_id", "required; one of easy, medium, hard", reason="UNKNOWN_TASK")
        seed = request.seed if request.HasField("seed") else None
        split = split_from_pb(request.split)
        episode = await self._manager.reset(
            request.task_id, seed, request.episode_id, split, evaluation_id=request.evaluation_id, owner=owner
        )
        observation = convert.fill_observation(self._template(episode), episode)
        return episode, convert.reset_to_pb(episode, observation)

    async def _step(self, request: ep_pb.StepRequest, owner: str) -> bytes:
        """The step's encoded Observation: the scenario's pre-encoded static fields plus this step's own
        (callers put it in their response's fields with `convert.nested`, copying it once)."""
        if not request.HasField("action"):
            raise InvalidArgument.for_field("action", "required", reason="ACTION_MISSING")
        action = convert.action_from_pb(request.action)
        owner = self._step_owner(request, owner)
        result: StepResult = await self._manager.step(request.episode_id, action, owner=owner)
        return self._encoded_observation(result, action)

    def _encoded_observation(self, result: StepResult, action: Action) -> bytes:
        episode = result.episode
        return convert.observation_bytes(self._parts(episode), episode, result, self._encoded_result(result, action))

    async def _step_batch(
        self, request: ep_pb.StepBatchRequest, owner: str, default_episode_id: str = ""
    ) -> bytes:
        """The encoded StepBatchResponse; an empty episode id means `default_episode_id` (Session's current)."""
        steps = request.steps
        items = [
            (
                step.episode_id or default_episode_id,
                convert.action_from_pb(step.action) if step.HasField("action") else None,
            )
            for step in steps
        ]
        owners = [self._step_owner(step, owner) for step in steps]
        outcomes = await self._manager.step_batch(items, owners=owners)
        encoded: list[bytes] = []
        for (_, action), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, StepResult):
                assert action is not None  # a step without an action fails (ACTION_MISSING)
                observation = self._encoded_observation(outcome, action)
                encoded.append(convert.nested(_BATCH_STEP_OBSERVATION, observation))
            else:
                status = rpc.status_from_exception(outcome, DOMAIN).SerializeToString()
                encoded.append(convert.nested(_BATCH_ERROR, status))
        return b"".join(encoded)

    async def _get_state(self, episode_id: str, owner: str) -> ep_pb.GetStateResponse:
        return ep_pb.GetStateResponse(state=convert.state_to_pb(await self._manager.get(episode_id, owner=owner)))

    async def _close(self, episode_id: str, owner: str) -> ep_pb.CloseEpisodeResponse:
        episode = await self._manager.close(episode_id, owner=owner)
        return ep_pb.CloseEpisodeResponse(state=convert.state_to_pb(episode))

    def reap_idle(self) -> int:
        return len(self._manager.reap_idle())

    # -- unary RPCs --

    async def ListTasks(  # noqa: N802
        self, request: ep_pb.ListTasksRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.ListTasksResponse:
        self._owner(context)  # with keys on, even the task list needs one
        return ep_pb.ListTasksResponse(tasks=[task_to_pb(task) for task in self._manager.list_tasks()])

    async def Reset(  # noqa: N802
        self, request: ep_pb.ResetRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.ResetResponse:
        _, response = await self._reset(request, self._owner(context))
        return response

    async def Step(  # noqa: N802
        self, request: ep_pb.StepRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        """An encoded StepResponse (the server registers this method with `_encode`)."""
        return convert.length_delimited(_STEP_OBSERVATION, await self._step(request, self._owner(context)))

    async def StepBatch(  # noqa: N802
        self, request: ep_pb.StepBatchRequest, context: grpc.aio.ServicerContext
    ) -> bytes:
        """An encoded StepBatchResponse (the server registers this method with `_encode`)."""
        return await self._step_batch(request, self._owner(context))

    async def GetState(  # noqa: N802
        self, request: ep_pb.GetStateRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.GetStateResponse:
        return await self._get_state(request.episode_id, self._owner(context))

    async def CloseEpisode(  # noqa: N802
        self, request: ep_pb.CloseEpisodeRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.CloseEpisodeResponse:
        return await self._close(request.episode_id, self._owner(context))

    # -- sealed evaluations (the operator's calls, and progress) --

    async def CreateEvaluation(  # noqa: N802
        self, request: ep_pb.CreateEvaluationRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.CreateEvaluationResponse:
        self._owner(context)  # with keys on, only a keyed caller may open an evaluation
        plan = [(task.task_id, task.episodes) for task in request.tasks]
        progress, token = await self._manager.evaluations.create(plan, request.scenario_stream_key)
        return ep_pb.CreateEvaluationResponse(
            evaluation_id=progress.evaluation_id, operator_token=token, progress=convert.progress_to_pb(progress)
        )

    async def GetEvaluation(  # noqa: N802
        self, request: ep_pb.GetEvaluationRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.GetEvaluationResponse:
        self._owner(context)
        progress = await self._manager.evaluations.progress(request.evaluation_id)
        return ep_pb.GetEvaluationResponse(progress=convert.progress_to_pb(progress))

    async def CloseEvaluation(  # noqa: N802
        self, request: ep_pb.CloseEvaluationRequest, context: grpc.aio.ServicerContext
    ) -> ep_pb.CloseEvaluationResponse:
        self._owner(context)
        report = await self._manager.evaluations.close(request.evaluation_id, request.operator_token)
        return ep_pb.CloseEvaluationResponse(report=convert.report_to_pb(report))

    # -- the bidirectional stream --

    async def Session(  # noqa: N802
        self, request_iterator: AsyncIterator[ep_pb.SessionRequest], context: grpc.aio.ServicerContext
    ) -> None:
        """Writes each answer (a step or batch already encoded) with context.write rather than
        yielding it: an async generator here, and the ServerGuard's around it, cost a layer each per message.

        Closes the episodes reset on the stream when it ends, unless the client declared the
        session resumable (it then closes them itself, and may resume them on a new stream after a
        break: a cut stream and a clean end look alike here)."""
        owner = self._owner(context)  # a refusal here ends the call (ServerGuard) before the stream carries anything
        resumable = (RESUMABLE_METADATA, "1") in tuple(context.invocation_metadata() or ())
        owned: list[str] = []
        current = ""
        try:
            async for request in request_iterator:
                request_id = request.request_id
                answer: ep_pb.SessionResponse | bytes
                try:
                    kind = request.WhichOneof("request")
                    if len(request_id) > REQUEST_ID_MAX_CHARS:
                        request_id = request_id[:REQUEST_ID_MAX_CHARS]
                        raise InvalidArgument.for_field("request_id", f"longer than {REQUEST_ID_MAX_CHARS} characters")
                    if kind == "step" or kind == "step_batch":
                        # The request id (field 1) first, then the answer: the order protobuf encodes them in.
                        prefix = convert.length_delimited(_SESSION_REQUEST_ID, request_id.encode()) if request_id else b""
                        if kind == "step":
                            step = request.step
                            if not step.episode_id:
                                step.episode_id = current
                            answer = convert.nested(_SESSION_STEP_OBSERVATION, await self._step(step, owner), prefix)
                        else:
                            batch = await self._step_batch(request.step_batch, owner, current)
                            answer = convert.nested((_SESSION_STEP_BATCH,), batch, prefix)
                    else:
                        answer = ep_pb.SessionResponse(request_id=request_id)
                        if kind == "reset":
                            episode, reset = await self._reset(request.reset, owner)
                            if not resumable:
                                owned.append(episode.episode_id)
                            current = episode.episode_id
                            answer.reset.CopyFrom(reset)
                        elif kind == "get_state":
                            answer.get_state.CopyFrom(
                                await self._get_state(request.get_state.episode_id or current, owner)
                            )
                        elif kind == "close":
                            answer.close.CopyFrom(await self._close(request.close.episode_id or current, owner))
                        else:
                            raise InvalidArgument.for_field(
                                "request", "exactly one of reset, step, step_batch, get_state, close"
                            )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - in-band errors keep the stream open
                    answer = ep_pb.SessionResponse(
                        request_id=request_id, error=rpc.status_from_exception(exc, DOMAIN)
                    )
                await context.write(answer)  # pyright: ignore[reportArgumentType] - bytes pass through `_encode`
        finally:
            for episode_id in owned:
                with contextlib.suppress(Exception):
                    await self._close(episode_id, owner)


def _encode(response: Any) -> bytes:
    """The response serializer of PRE_ENCODED_METHODS: their behaviors may answer with bytes."""
    return response if type(response) is bytes else response.SerializeToString()


class _PreEncodingRegistration:
    """Stands in for the server while the generated code registers a servicer: registers the same
    handlers, with `_encode` as the response serializer of PRE_ENCODED_METHODS."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server
        self.registered = False

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Ignored: add_registered_method_handlers registers the same methods, serializers swapped."""

    def add_registered_method_handlers(self, service_name: str, handlers: dict[str, Any]) -> None:
        swapped = {
            name: handler._replace(response_serializer=_encode) if name in PRE_ENCODED_METHODS else handler
            for name, handler in handlers.items()
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service_name, swapped),))
        self.registered = True
        self._server.add_registered_method_handlers(service_name, swapped)  # pyright: ignore[reportAttributeAccessIssue] - newer than typeshed's grpc stubs


def register(servicer: EpisodeServicer, server: grpc.aio.Server) -> None:
    """Adds the episode service to `server` (Step and Session may answer with pre-encoded bytes)."""
    registration = _PreEncodingRegistration(server)
    ep_grpc.add_EpisodeServiceServicer_to_server(servicer, registration)
    if not registration.registered:
        raise RuntimeError("the generated stubs no longer call add_registered_method_handlers: regenerate or adapt")


async def build_server(
    config: EpisodeServerConfig,
    *,
    scenarios: ScenarioSource | None = None,
    grader: Grader | None = None,
    reap_interval_s: float | None = None,
) -> tuple[grpc.aio.Server, int, rpc.HealthServicer, EpisodeServicer, Callable[[], Awaitable[None]]]:
    """Starts an episode server; returns (server, bound port, health, servicer, stop callback)."""
    remote_scenarios = scenarios or RemoteScenarioSource(
        config.generator_addr, cache_size=config.scenario_cache_size, timeout_s=config.peer_timeout_s,
        tls=config.mtls,
    )
    remote_grader = grader or RemoteGrader(config.grader_addr, timeout_s=config.peer_timeout_s, tls=config.mtls)
    if config.mtls is None and (scenarios is None or grader is None):
        log.warning(
            "%s is not set: calls to generator and grader are plaintext, and those services accept calls "
            "from any process that reaches them", rpc.MTLS_DIR_ENV,
        )
    evaluations: EvaluationStore = MemoryEvaluationStore(
        EvaluationBook(
            max_evaluations=config.max_evaluations,
            idle_timeout_s=config.evaluation_idle_s,
            require_evaluation=config.require_evaluation,
        )
    )
    store = None
    if config.redis_url:
        from mlopsdebug_episode.redis_evaluations import RedisEvaluationStore  # noqa: PLC0415 - only with Redis
        from mlopsdebug_episode.redis_store import RedisEpisodeStore  # noqa: PLC0415 - only with Redis

        store = RedisEpisodeStore.from_url(config.redis_url, config.episode_config(), timeout_s=config.peer_timeout_s)
        log.info("episodes are kept in %s (MLOPSDEBUG_REDIS_URL), shared with every replica on it", store.describe())
        evaluations = RedisEvaluationStore.from_url(
            config.redis_url,
            max_evaluations=config.max_evaluations,
            idle_timeout_s=config.evaluation_idle_s,
            require_evaluation=config.require_evaluation,
            timeout_s=config.peer_timeout_s,
        )
    manager = EpisodeManager(
        remote_scenarios, remote_grader, config.episode_config(), evaluations=evaluations, store=store
    )
    servicer = EpisodeServicer(manager, api_keys=config.api_keys, trust_proxy_peer=config.trust_proxy_peer)
    server, port, health = await rpc.start_server(
        lambda s: register(servicer, s),
        [SERVICE_NAME],
        host=config.host,
        port=config.port,
        domain=DOMAIN,
        credentials=config.edge_credentials,
    )
    interval = reap_interval_s if reap_interval_s is not None else max(1.0, min(60.0, config.idle_timeout_s / 4))

    async def reap_forever() -> None:
        while True:
            await asyncio.sleep(interval)
            expired = servicer.reap_idle()
            if expired:
                log.info("closed %d idle episodes", expired)

    reaper = asyncio.get_running_loop().create_task(reap_forever())

    async def stop_extras() -> None:
        """After the server has drained: in-flight resets and submissions needed these peer channels."""
        reaper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reaper
        for peer in (remote_scenarios, remote_grader, manager.store):
            close = getattr(peer, "close", None)
            if close is not None:
                await close()
        await manager.evaluations.aclose()

    return server, port, health, servicer, stop_extras


async def serve(config: EpisodeServerConfig) -> None:
    """Serves until SIGTERM or SIGINT, then drains."""
    server, port, health, _, stop_extras = await build_server(config)
    print(f"episode listening on {config.host}:{port}", flush=True)
    await rpc.serve_until_signal(server, health, grace_s=config.grace_s, on_stop=stop_extras)


def main() -> None:
    """Entry point of `mlopsdebug serve episode`."""
    rpc.configure_logging("episode")
    eventloop.run(serve(EpisodeServerConfig.from_env()))

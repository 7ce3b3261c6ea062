"""Unary clients of the agent-facing episode service: `EpisodeClient` (sync) and `AsyncEpisodeClient`
(grpc.aio), which also open sessions (`session()`, `batching_session()`).

Only ListTasks, GetState, GetEvaluation and CloseEvaluation are retried on UNAVAILABLE; Reset, Step,
CloseEpisode and CreateEvaluation never are, because a lost response may already have changed state
(sessions can do better: they know the episodes' step counts and choose reset ids themselves).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mlopsdebug.episode.v1 import episode_service_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as pb_grpc

from ._requests import (
    BATCH_MAX_STEPS,
    StepOutcome,
    batch_outcomes,
    batch_request,
    create_evaluation_request,
    reset_request,
)
from ._resume import EpisodeBook, new_episode_id
from ._transport import AsyncChannelClient, ChannelClient, acall_unary, call_unary
from .actions import ActionLike, as_action
from .batching import AsyncBatchingSession
from .config import EPISODE_TARGET
from .session import AsyncEpisodeSession, EpisodeSession

__all__ = ["AsyncEpisodeClient", "EpisodeClient"]


def batch_route(steps: Sequence[tuple[str, ActionLike]]) -> str:
    """The routing header of a StepBatch: its first episode's id. A vector environment that steps the
    same episodes every round so keeps landing on one server; the others' state comes from the store."""
    return steps[0][0] if steps else ""


class EpisodeClient(ChannelClient):
    """Sync client of the episode service.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens a channel to `target` (default localhost:50052; TLS as the config says) and `close()` closes it.
    """

    _default_target = EPISODE_TARGET
    _stub_type = pb_grpc.EpisodeServiceStub
    _stub: pb_grpc.EpisodeServiceStub

    def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = call_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
        timeout_s: float | None = None,
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (of `task_id`, or
        of its next task when empty): pass no seed; the response's seed is 0 and `sealed` is true.
        Without `episode_id` the client draws one, so that the reset already carries the routing
        header (`x-episode-id`) that the episode's later calls carry.
        """
        episode_id = episode_id or new_episode_id()
        response: pb.ResetResponse = call_unary(
            self.config,
            self._stub.Reset,
            reset_request(task_id, seed, episode_id, evaluation_id, split),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    def step(self, episode_id: str, action: ActionLike, *, timeout_s: float | None = None) -> pb.StepResponse:
        """Applies one action (an Action or a specification-style dict). Never retried."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = call_unary(
            self.config, self._stub.Step, request, idempotent=False, timeout_s=timeout_s, episode_id=episode_id
        )
        return response

    def step_batch(
        self, steps: Sequence[tuple[str, ActionLike]], *, timeout_s: float | None = None
    ) -> list[StepOutcome]:
        """One action on each of several distinct episodes; outcomes in order. Never retried.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = call_unary(
            self.config,
            self._stub.StepBatch,
            batch_request(steps),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=batch_route(steps),
        )
        return batch_outcomes(response)

    def get_state(self, episode_id: str, *, timeout_s: float | None = None) -> pb.GetStateResponse:
        """The episode's state (never the answer while it runs)."""
        response: pb.GetStateResponse = call_unary(
            self.config,
            self._stub.GetState,
            pb.GetStateRequest(episode_id=episode_id),
            idempotent=True,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    def close_episode(self, episode_id: str, *, timeout_s: float | None = None) -> pb.CloseEpisodeResponse:
        """Closes an episode and frees its slot; returns its final state. Never retried."""
        response: pb.CloseEpisodeResponse = call_unary(
            self.config,
            self._stub.CloseEpisode,
            pb.CloseEpisodeRequest(episode_id=episode_id),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    def create_evaluation(
        self,
        tasks: Mapping[str, int] | Sequence[tuple[str, int]],
        *,
        scenario_stream_key: bytes = b"",
        timeout_s: float | None = None,
    ) -> pb.CreateEvaluationResponse:
        """Creates a sealed evaluation (the operator's call): `tasks` maps task ids to episode counts.

        Give the response's `evaluation_id` to the agent and keep its `operator_token` for
        `close_evaluation`. Never retried (a lost response would leave an evaluation nobody can close).
        """
        response: pb.CreateEvaluationResponse = call_unary(
            self.config,
            self._stub.CreateEvaluation,
            create_evaluation_request(tasks, scenario_stream_key),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    def get_evaluation(self, evaluation_id: str, *, timeout_s: float | None = None) -> pb.GetEvaluationResponse:
        """The evaluation's progress: episodes started and ended per task (no scores)."""
        response: pb.GetEvaluationResponse = call_unary(
            self.config,
            self._stub.GetEvaluation,
            pb.GetEvaluationRequest(evaluation_id=evaluation_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def close_evaluation(
        self, evaluation_id: str, operator_token: str, *, timeout_s: float | None = None
    ) -> pb.CloseEvaluationResponse:
        """Closes the evaluation and returns its full report (the operator's call). Retried on
        UNAVAILABLE: closing again returns the same report."""
        response: pb.CloseEvaluationResponse = call_unary(
            self.config,
            self._stub.CloseEvaluation,
            pb.CloseEvaluationRequest(evaluation_id=evaluation_id, operator_token=operator_token),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> EpisodeSession:
        """Opens a Session stream on this client's channel (reopened after a break; see the class)."""
        return EpisodeSession(self._stub, self.config)


class AsyncEpisodeClient(AsyncChannelClient):
    """grpc.aio client of the episode service; create it inside the event loop that uses it."""

    _default_target = EPISODE_TARGET
    _stub_type = pb_grpc.EpisodeServiceStub
    _stub: pb_grpc.EpisodeServiceStub

    async def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks, ordered easy, medium, hard."""
        response: pb.ListTasksResponse = await acall_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

    async def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        *,
        evaluation_id: str = "",
        split: str = "all",
        timeout_s: float | None = None,
    ) -> pb.ResetResponse:
        """Starts an episode; without a seed the service draws one and reports it. Never retried.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (of `task_id`, or
        of its next task when empty): pass no seed; the response's seed is 0 and `sealed` is true.
        Without `episode_id` the client draws one, so that the reset already carries the routing
        header (`x-episode-id`) that the episode's later calls carry.
        """
        episode_id = episode_id or new_episode_id()
        response: pb.ResetResponse = await acall_unary(
            self.config,
            self._stub.Reset,
            reset_request(task_id, seed, episode_id, evaluation_id, split),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    async def step(
        self, episode_id: str, action: ActionLike, *, timeout_s: float | None = None
    ) -> pb.StepResponse:
        """Applies one action (an Action or a specification-style dict). Never retried."""
        request = pb.StepRequest(episode_id=episode_id, action=as_action(action))
        response: pb.StepResponse = await acall_unary(
            self.config, self._stub.Step, request, idempotent=False, timeout_s=timeout_s, episode_id=episode_id
        )
        return response

    async def step_batch(
        self, steps: Sequence[tuple[str, ActionLike]], *, timeout_s: float | None = None
    ) -> list[StepOutcome]:
        """One action on each of several distinct episodes; outcomes in order. Never retried.

        A step's error is returned in its place; only a malformed batch raises.
        """
        response: pb.StepBatchResponse = await acall_unary(
            self.config,
            self._stub.StepBatch,
            batch_request(steps),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=batch_route(steps),
        )
        return batch_outcomes(response)

    async def get_state(self, episode_id: str, *, timeout_s: float | None = None) -> pb.GetStateResponse:
        """The episode's state (never the answer while it runs)."""
        response: pb.GetStateResponse = await acall_unary(
            self.config,
            self._stub.GetState,
            pb.GetStateRequest(episode_id=episode_id),
            idempotent=True,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    async def close_episode(
        self, episode_id: str, *, timeout_s: float | None = None
    ) -> pb.CloseEpisodeResponse:
        """Closes an episode and frees its slot; returns its final state. Never retried."""
        response: pb.CloseEpisodeResponse = await acall_unary(
            self.config,
            self._stub.CloseEpisode,
            pb.CloseEpisodeRequest(episode_id=episode_id),
            idempotent=False,
            timeout_s=timeout_s,
            episode_id=episode_id,
        )
        return response

    async def create_evaluation(
        self,
        tasks: Mapping[str, int] | Sequence[tuple[str, int]],
        *,
        scenario_stream_key: bytes = b"",
        timeout_s: float | None = None,
    ) -> pb.CreateEvaluationResponse:
        """Creates a sealed evaluation (the operator's call): `tasks` maps task ids to episode counts.

        Give the response's `evaluation_id` to the agent and keep its `operator_token` for
        `close_evaluation`. Never retried (a lost response would leave an evaluation nobody can close).
        """
        response: pb.CreateEvaluationResponse = await acall_unary(
            self.config,
            self._stub.CreateEvaluation,
            create_evaluation_request(tasks, scenario_stream_key),
            idempotent=False,
            timeout_s=timeout_s,
        )
        return response

    async def get_evaluation(self, evaluation_id: str, *, timeout_s: float | None = None) -> pb.GetEvaluationResponse:
        """The evaluation's progress: episodes started and ended per task (no scores)."""
        response: pb.GetEvaluationResponse = await acall_unary(
            self.config,
            self._stub.GetEvaluation,
            pb.GetEvaluationRequest(evaluation_id=evaluation_id),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    async def close_evaluation(
        self, evaluation_id: str, operator_token: str, *, timeout_s: float | None = None
    ) -> pb.CloseEvaluationResponse:
        """Closes the evaluation and returns its full report (the operator's call). Retried on
        UNAVAILABLE: closing again returns the same report."""
        response: pb.CloseEvaluationResponse = await acall_unary(
            self.config,
            self._stub.CloseEvaluation,
            pb.CloseEvaluationRequest(evaluation_id=evaluation_id, operator_token=operator_token),
            idempotent=True,
            timeout_s=timeout_s,
        )
        return response

    def session(self) -> AsyncEpisodeSession:
        """Opens a Session stream on this client's channel (call from inside the event loop); it is
        reopened after a break (see the class)."""
        return AsyncEpisodeSession(self._stub, self.config)

    def batching_session(
        self, *, max_batch: int = BATCH_MAX_STEPS, max_in_flight: int = 2, side_streams: int = 4
    ) -> AsyncBatchingSession:
        """Opens a Session stream that many tasks share, each stepping its own episode; see the class."""
        book = EpisodeBook()  # shared, so a step on the main stream knows an episode reset on a side one
        return AsyncBatchingSession(
            AsyncEpisodeSession(self._stub, self.config, book=book),
            max_batch=max_batch,
            max_in_flight=max_in_flight,
            open_side_stream=lambda: AsyncEpisodeSession(self._stub, self.config, book=book),
            side_streams=side_streams,
        )

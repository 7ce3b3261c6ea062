"""Gymnasium-style wrappers: `reset()` and `step()` over the wire, one episode at a time.

The wrappers drive the episode over one `Session` stream (the lowest-latency path), follow
Gymnasium's return shapes, and keep terminated (a diagnosis was graded) apart from truncated (the
step budget ran out). Observations are `common_pb2.Observation` messages; pass them to
`mlopsdebug_client.observation_to_dict` for the specification's dict shape. Actions are `Action`
messages (see `mlopsdebug_client.actions`) or specification-style dicts.

    with MLOpsDebugGymEnv("localhost:50052") as env:
        obs, info = env.reset("easy", seed=7)
        obs, reward, terminated, truncated, info = env.step({"action_type": "read_config"})
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as pb

from .actions import ActionLike
from .config import ClientConfig
from .convert import grade_to_dict
from .episode import CLIENT_DOMAIN, AsyncEpisodeClient, AsyncEpisodeSession, EpisodeClient, EpisodeSession
from .errors import MLOpsDebugError, NotFoundError, StatusCode, make_error

__all__ = ["AsyncMLOpsDebugGymEnv", "MLOpsDebugGymEnv", "StepResult"]

StepResult = tuple[common_pb2.Observation, float, bool, bool, dict[str, Any]]
"""(observation, reward, terminated, truncated, info), as Gymnasium's `Env.step` returns."""


def _no_episode_error() -> MLOpsDebugError:
    return make_error(
        StatusCode.FAILED_PRECONDITION,
        "call reset() before step()",
        reason="NO_EPISODE",
        domain=CLIENT_DOMAIN,
    )


class _EnvBase:
    """Episode bookkeeping shared by the sync and async wrappers."""

    def __init__(self) -> None:
        self._episode_id = ""
        self._task_id = ""
        self._seed: int | None = None

    @property
    def episode_id(self) -> str:
        """Id of the current episode ("" before the first reset)."""
        return self._episode_id

    @property
    def seed(self) -> int | None:
        """Seed of the current episode (drawn by the service when reset had none; None when sealed)."""
        return self._seed

    def _after_reset(
        self, task_id: str, response: pb.ResetResponse
    ) -> tuple[common_pb2.Observation, dict[str, Any]]:
        self._episode_id = response.episode_id
        self._task_id = task_id
        self._seed = None if response.sealed else response.seed
        observation = response.observation
        info = {
            "episode_id": response.episode_id,
            "seed": self._seed,
            "task_id": observation.task_id or task_id,
            "max_steps": observation.max_steps,
            "sealed": response.sealed,
        }
        return observation, info

    def _after_step(self, response: pb.StepResponse) -> StepResult:
        observation = response.observation
        info: dict[str, Any] = {
            "episode_id": self._episode_id,
            "seed": self._seed,
            "task_id": observation.task_id or self._task_id,
            "step_count": observation.step_count,
            "max_steps": observation.max_steps,
            "cumulative_reward": observation.cumulative_reward,
            "messages": list(observation.messages),
        }
        if observation.terminated and observation.last_action_result.WhichOneof("result") == "grade":
            info["grade"] = grade_to_dict(observation.last_action_result.grade)
        return observation, observation.reward, observation.terminated, observation.truncated, info


class MLOpsDebugGymEnv(_EnvBase):
    """Sync Gymnasium-style environment over an episode `Session` stream.

    Give a `target` or `config` to let the wrapper open (and later close) its own client, or pass
    an `EpisodeClient` you manage. A new `reset()` closes the previous episode first.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        client: EpisodeClient | None = None,
    ) -> None:
        super().__init__()
        self._owns_client = client is None
        self._client = client if client is not None else EpisodeClient(target, config=config)
        self._session: EpisodeSession | None = None

    def _live_session(self) -> EpisodeSession:
        if self._session is None or self._session.closed:
            self._session = self._client.session()
            self._episode_id = ""  # a session fails for good only on a fault no reopening cures
        return self._session

    def reset(
        self, task_id: str = "easy", seed: int | None = None, *, episode_id: str = "", evaluation_id: str = ""
    ) -> tuple[common_pb2.Observation, dict[str, Any]]:
        """Starts an episode; returns (observation, info): episode_id, seed, task_id, max_steps and sealed.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (give no seed): the
        seed is then withheld (None) and grades hold only the score.
        """
        session = self._live_session()
        if self._episode_id:
            try:
                session.close_episode(self._episode_id)
            except NotFoundError:
                pass  # already expired on the server
            self._episode_id = ""
        return self._after_reset(task_id, session.reset(task_id, seed, episode_id, evaluation_id=evaluation_id))

    def step(self, action: ActionLike) -> StepResult:
        """Applies one action; info holds the grade (as a dict) once the episode is terminated."""
        if not self._episode_id or self._session is None or self._session.closed:
            raise _no_episode_error()
        return self._after_step(self._session.step(action, self._episode_id))

    def state(self) -> pb.EpisodeStateInfo:
        """The current episode's state (step count, reads, checks, and the grade once graded)."""
        if not self._episode_id or self._session is None or self._session.closed:
            raise _no_episode_error()
        return self._session.get_state(self._episode_id).state

    def close(self) -> None:
        """Ends the stream (the server closes the episode) and closes the client if the wrapper opened it."""
        if self._session is not None:
            self._session.close()
            self._session = None
        self._episode_id = ""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> MLOpsDebugGymEnv:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncMLOpsDebugGymEnv(_EnvBase):
    """grpc.aio Gymnasium-style environment; the coroutine twin of `MLOpsDebugGymEnv`.

    Create it inside the event loop that uses it.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        client: AsyncEpisodeClient | None = None,
    ) -> None:
        super().__init__()
        self._owns_client = client is None
        self._client = client if client is not None else AsyncEpisodeClient(target, config=config)
        self._session: AsyncEpisodeSession | None = None

    def _live_session(self) -> AsyncEpisodeSession:
        if self._session is None or self._session.closed:
            self._session = self._client.session()
            self._episode_id = ""
        return self._session

    async def reset(
        self, task_id: str = "easy", seed: int | None = None, *, episode_id: str = "", evaluation_id: str = ""
    ) -> tuple[common_pb2.Observation, dict[str, Any]]:
        """Starts an episode; returns (observation, info): episode_id, seed, task_id, max_steps and sealed.

        With `evaluation_id` the episode plays the sealed evaluation's next scenario (give no seed): the
        seed is then withheld (None) and grades hold only the score.
        """
        session = self._live_session()
        if self._episode_id:
            try:
                await session.close_episode(self._episode_id)
            except NotFoundError:
                pass  # already expired on the server
            self._episode_id = ""
        response = await session.reset(task_id, seed, episode_id, evaluation_id=evaluation_id)
        return self._after_reset(task_id, response)

    async def step(self, action: ActionLike) -> StepResult:
        """Applies one action; info holds the grade (as a dict) once the episode is terminated."""
        if not self._episode_id or self._session is None or self._session.closed:
            raise _no_episode_error()
        return self._after_step(await self._session.step(action, self._episode_id))

    async def state(self) -> pb.EpisodeStateInfo:
        """The current episode's state (step count, reads, checks, and the grade once graded)."""
        if not self._episode_id or self._session is None or self._session.closed:
            raise _no_episode_error()
        return (await self._session.get_state(self._episode_id)).state

    async def close(self) -> None:
        """Ends the stream (the server closes the episode) and closes the client if the wrapper opened it."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._episode_id = ""
        if self._owns_client:
            await self._client.close()

    async def __aenter__(self) -> AsyncMLOpsDebugGymEnv:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

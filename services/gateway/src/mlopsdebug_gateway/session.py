"""One OpenEnv session: the episode a WebSocket (or MCP session) is playing, over some transport.

OpenEnv gives each session one environment that `reset` restarts. Here a reset starts a new episode
upstream and then closes the session's previous one, so a long-lived connection holds one episode at
a time, never an unbounded pile of them.
"""

from __future__ import annotations

import contextlib
from typing import Any

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_gateway import convert
from mlopsdebug_gateway.errors import UpstreamError
from mlopsdebug_gateway.models import ResetRequest, parse_action
from mlopsdebug_gateway.upstream import Transport


class NoEpisodeError(Exception):
    """A step before any reset (or after the session's episode was lost)."""

    def __init__(self) -> None:
        super().__init__("no episode is running on this session; send reset first")


class EpisodeSession:
    """Tracks the session's current episode and turns OpenEnv messages into episode-service calls."""

    def __init__(self, transport: Transport, *, default_task_id: str, episode_id: str | None = None) -> None:
        self.transport = transport
        self.default_task_id = default_task_id
        self._episode_id = episode_id
        self._generation = transport.generation
        self._static: convert.StaticObservation | None = None  # the current episode's, encoded once

    @property
    def episode_id(self) -> str | None:
        if self._generation != self.transport.generation:
            self._episode_id = None  # the stream broke and its episodes went with it
        return self._episode_id

    async def reset(self, data: dict[str, Any]) -> dict[str, Any]:
        """Starts an episode from reset kwargs (task_id, seed, episode_id); raises ValidationError on bad kwargs."""
        args = ResetRequest.model_validate(data)
        previous = self.episode_id
        if previous is not None and args.episode_id == previous:
            await self._close_quietly(previous)  # reusing the id restarts that episode
            previous = None
        request = convert.reset_to_pb(args.task_id or self.default_task_id, args.seed, args.episode_id, args.split)
        try:
            response = await self.transport.reset(request)
        except UpstreamError as exc:
            if exc.code != "RESOURCE_EXHAUSTED" or previous is None:
                raise
            # At capacity: this session's own old episode is the one to give up.
            await self._close_quietly(previous)
            previous = None
            response = await self.transport.reset(request)
        if previous is not None:
            await self._close_quietly(previous)
        self._episode_id = response.episode_id
        self._generation = self.transport.generation
        self._static = convert.StaticObservation(response.observation, response.episode_id)
        payload = convert.step_payload(response.observation, response.episode_id, after_reset=True)
        ignored = args.ignored_keys()
        if ignored:
            payload["observation"]["messages"].append(f"ignored unknown reset argument(s): {', '.join(ignored)}")
        return payload

    async def step(self, data: Any, *, timeout_s: float | None = None) -> dict[str, Any]:
        """Applies one seed-shaped action; raises ValidationError on a bad action, NoEpisodeError before reset."""
        episode_id, observation = await self._step(data, timeout_s)
        return convert.step_payload(observation, episode_id, after_reset=False)

    async def step_frame(self, data: Any) -> str:
        """`step`, answered as the WebSocket reply's JSON text, `{"type": "observation", "data": ...}`.

        The observation's static fields (task, run summary, artifact list: most of its JSON on a step
        that reads little) are converted and encoded once per episode, not on every step."""
        episode_id, observation = await self._step(data, None)
        static = self._static
        if static is None or not static.fits(observation, episode_id):
            static = self._static = convert.StaticObservation(observation, episode_id)
        return convert.observation_frame(observation, episode_id, static)

    async def _step(self, data: Any, timeout_s: float | None) -> tuple[str, pb.Observation]:
        action = convert.checked_action_to_pb(data)
        if action is None:  # not certainly valid: pydantic decides, and names the errors
            action = convert.action_to_pb(parse_action(data))
        episode_id = self.episode_id
        if episode_id is None:
            raise NoEpisodeError()
        request = ep_pb.StepRequest(episode_id=episode_id, action=action)
        response = await self.transport.step(request, timeout_s=timeout_s)
        return episode_id, response.observation

    async def state(self) -> dict[str, Any]:
        """The current episode's state, or OpenEnv's empty state before the first reset."""
        episode_id = self.episode_id
        if episode_id is None:
            return dict(convert.EMPTY_STATE)
        response = await self.transport.get_state(ep_pb.GetStateRequest(episode_id=episode_id))
        return convert.state_json(response.state)

    async def close_episode(self) -> dict[str, Any] | None:
        """Ends the current episode and returns its final state; None when there is none."""
        episode_id = self.episode_id
        if episode_id is None:
            return None
        self._episode_id = None
        response = await self.transport.close(ep_pb.CloseEpisodeRequest(episode_id=episode_id))
        return convert.state_json(response.state)

    async def aclose(self) -> None:
        """Frees everything the session holds upstream."""
        episode_id = self.episode_id
        self._episode_id = None
        if episode_id is not None and not self.transport.closes_episodes_on_end:
            await self._close_quietly(episode_id)
        await self.transport.aclose()

    async def _close_quietly(self, episode_id: str) -> None:
        with contextlib.suppress(UpstreamError):
            await self.transport.close(ep_pb.CloseEpisodeRequest(episode_id=episode_id))

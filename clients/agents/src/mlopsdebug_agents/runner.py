"""Plays one episode with one agent over an episode Session and records everything that happened.

The runner is the only place that talks to the service: the agent sees observation dicts and
returns actions. The record keeps, per step, the action, the reward and the observation's key
fields; the grade with its components; and, apart in `timing`, everything that differs between two
runs of the same episode (episode id, latencies). Without `timing` a record is a pure function of
(agent, task, seed), whatever the concurrency.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_agents.base import Agent
from mlopsdebug_agents.lines import action_str, end_line, start_line, step_line
from mlopsdebug_client import (
    EpisodeLostError,
    InvalidArgumentError,
    NotFoundError,
    ResponseLostError,
    grade_to_dict,
    observation_to_dict,
)
from mlopsdebug_client.actions import ActionLike, as_action, to_dict

__all__ = [
    "SUCCESS_THRESHOLD",
    "EpisodeRecord",
    "EpisodeSessionLike",
    "StepRecord",
    "json_safe",
    "observation_key_fields",
    "run_episode",
    "run_episode_replaying",
]

# An episode counts as a success when its score reaches this.
SUCCESS_THRESHOLD: Final[float] = 0.5
# Longest field value (JSON text) kept in a step record.
_VALUE_CHARS: Final[int] = 300
# Plays of one episode after the first that `run_episode_replaying` allows.
MAX_REPLAYS: Final[int] = 2


class EpisodeSessionLike(Protocol):
    """What the runner needs of a session: `mlopsdebug_client.AsyncEpisodeSession` provides it."""

    async def reset(
        self, task_id: str, seed: int | None = None, episode_id: str = "", *, split: str = "all"
    ) -> ep_pb.ResetResponse:
        """Starts an episode (the runner passes `split` only when it is not "all")."""
        ...

    async def step(self, action: ActionLike, episode_id: str) -> ep_pb.StepResponse:
        """Applies one action to the episode."""
        ...

    async def close_episode(self, episode_id: str) -> ep_pb.CloseEpisodeResponse:
        """Ends the episode and frees its slot."""
        ...


@dataclasses.dataclass(slots=True)
class StepRecord:
    """One action: accepted (a step) or refused by the service (`error` set, nothing changed)."""

    step: int
    action: dict[str, Any]
    action_str: str
    reward: float
    done: bool
    error: str | None
    observation: dict[str, Any] | None

    def fields(self) -> dict[str, Any]:
        """The fields by name, values shared (not copied: dataclasses.asdict's deep copy cost more
        than the rest of a record)."""
        return {field.name: getattr(self, field.name) for field in _STEP_FIELDS}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready copy of the step's fields."""
        return json_safe(self.fields())  # json_safe copies every dict and list


_STEP_FIELDS: Final = dataclasses.fields(StepRecord)


@dataclasses.dataclass(slots=True)
class EpisodeRecord:
    """Everything about one played episode; `to_json()` is the eval file's line."""

    task: str
    seed: int
    agent: str
    status: str  # "terminated" | "truncated" | "aborted" (too many refused actions)
    score: float
    steps: list[StepRecord]
    grade: dict[str, Any] | None
    timing: dict[str, Any]
    # The fault split the reset asked for; "all" (the default) is left out of the JSON line.
    split: str = "all"

    @property
    def success(self) -> bool:
        """Whether the episode scored at least SUCCESS_THRESHOLD."""
        return self.score >= SUCCESS_THRESHOLD

    @property
    def n_steps(self) -> int:
        """Steps the service counted (refused actions excluded)."""
        return sum(1 for s in self.steps if s.error is None)

    @property
    def fault(self) -> str | None:
        """The planted fault, known only when the service revealed the answer after grading."""
        answer = (self.grade or {}).get("answer") or {}
        return answer.get("fault_id") or None

    @property
    def rewards(self) -> list[float]:
        """The reward of each step that the service applied."""
        return [s.reward for s in self.steps if s.error is None]

    def to_json(self) -> dict[str, Any]:
        """The episode's JSON line, as `mlopsdebug eval` writes it."""
        return json_safe(
            {
                "task": self.task,
                **({"split": self.split} if self.split != "all" else {}),
                "seed": self.seed,
                "agent": self.agent,
                "fault": self.fault,
                "status": self.status,
                "score": self.score,
                "success": self.success,
                "n_steps": self.n_steps,
                "steps": [s.fields() for s in self.steps],
                "grade": self.grade,
                "timing": self.timing,
            }
        )


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats (a diverged run's NaN loss) as None, so it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _result_key_fields(result: Mapping[str, Any]) -> dict[str, Any]:
    kind = result.get("type")
    if kind == "artifact":
        return {"type": kind, "name": result["name"], "chars": len(result["content"])}
    if kind == "logs":
        return {
            "type": kind,
            "log_filter": result["log_filter"],
            "matched_lines": result["matched_lines"],
            "total_lines": result["total_lines"],
        }
    if kind == "sanity_check":
        return {
            "type": kind,
            "check": result["check"],
            "status": result["status"],
            "summary": result["summary"],
            "metrics": dict(result["metrics"]),
        }
    if kind == "field":
        return {
            "type": kind,
            "artifact": result["artifact"],
            "field_path": result["field_path"],
            "found": result["found"],
            "value_json": result["value_json"][:_VALUE_CHARS],
        }
    if kind == "grade":
        return {"type": kind, "score": result["score"]}
    return {}


def observation_key_fields(observation: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an observation dict worth keeping per step (artifact contents summarised)."""
    return {
        "step_count": observation["step_count"],
        "reward": observation["reward"],
        "cumulative_reward": observation["cumulative_reward"],
        "done": observation["done"],
        "terminated": observation["terminated"],
        "truncated": observation["truncated"],
        "artifacts_read": list(observation["artifacts_read"]),
        "messages": list(observation["messages"]),
        "result": _result_key_fields(observation["last_action_result"]),
    }


def _action_dict(action: ActionLike) -> dict[str, Any]:
    return to_dict(as_action(action))


async def run_episode(
    session: EpisodeSessionLike,
    agent: Agent,
    task_id: str,
    seed: int,
    *,
    agent_name: str,
    emit: Callable[[str], None] | None = None,
    max_refusals: int | None = None,
    executor: concurrent.futures.Executor | None = None,
    split: str = "all",
) -> EpisodeRecord:
    """Plays (task_id, seed) with `agent` until the episode ends, then closes it.

    A blocking agent's `act` runs on `executor` (default: the event loop's default executor, which
    has only min(32, CPUs + 4) threads; callers playing more blocking agents at once pass their own).

    `emit` receives the [START]/[STEP]/[END] lines as they happen. Refused actions
    (INVALID_ARGUMENT) are recorded with their error and the agent is asked again; after
    `max_refusals` of them (default: the task's step budget) the episode is abandoned with status
    "aborted" and score 0. Any other service error, and any exception from the agent, propagates:
    the episode has no record then.
    """
    wall_start = time.perf_counter()
    if emit is not None:
        emit(start_line(task_id, agent_name))
    started = time.perf_counter()
    reset = await (session.reset(task_id, seed, split=split) if split != "all" else session.reset(task_id, seed))
    reset_ms = (time.perf_counter() - started) * 1000
    episode_id = reset.episode_id
    observation = reset.observation
    view = observation_to_dict(observation)
    refusals_left = max_refusals if max_refusals is not None else observation.max_steps
    steps: list[StepRecord] = []
    step_ms: list[float] = []
    agent_s = 0.0
    last_error: str | None = None
    status = "aborted"
    try:
        while True:
            shown = view if last_error is None else {**view, "last_action_error": last_error}
            started = time.perf_counter()
            if agent.blocking:
                action = await asyncio.get_running_loop().run_in_executor(executor, agent.act, shown)
            else:
                action = agent.act(shown)
            agent_s += time.perf_counter() - started
            try:
                action_dict = _action_dict(action)
            except (ValueError, TypeError) as exc:
                action_dict, error = {"invalid": repr(action)[:_VALUE_CHARS]}, f"malformed action: {exc}"
            else:
                error = None
            if error is None:
                started = time.perf_counter()
                try:
                    response = await session.step(action, episode_id)
                except InvalidArgumentError as exc:
                    error = exc.message
                else:
                    step_ms.append((time.perf_counter() - started) * 1000)
            if error is not None:
                steps.append(
                    StepRecord(observation.step_count, action_dict, action_str(action), 0.0, False, error, None)
                )
                if emit is not None:
                    emit(step_line(observation.step_count, steps[-1].action_str, 0.0, False, error))
                last_error = error
                refusals_left -= 1
                if refusals_left <= 0:
                    break
                continue
            last_error = None
            observation = response.observation
            view = observation_to_dict(observation)
            record = StepRecord(
                observation.step_count,
                action_dict,
                action_str(action),
                observation.reward,
                observation.done,
                None,
                observation_key_fields(view),
            )
            steps.append(record)
            if emit is not None:
                emit(step_line(record.step, record.action_str, record.reward, record.done, None))
            if observation.done:
                status = "terminated" if observation.terminated else "truncated"
                break
    finally:
        try:
            await session.close_episode(episode_id)
        except NotFoundError:
            pass  # already gone (expired, or closed with its stream)
    grade: dict[str, Any] | None = None
    if status == "terminated" and observation.last_action_result.WhichOneof("result") == "grade":
        grade = grade_to_dict(observation.last_action_result.grade)
    score = float(grade["score"]) if grade is not None else 0.0
    result = EpisodeRecord(
        task=task_id,
        seed=seed,
        agent=agent_name,
        status=status,
        score=score,
        steps=steps,
        grade=grade,
        timing={
            "episode_id": episode_id,
            "wall_s": round(time.perf_counter() - wall_start, 6),
            "reset_ms": round(reset_ms, 3),
            "step_ms": [round(ms, 3) for ms in step_ms],
            "agent_s": round(agent_s, 6),
        },
        split=split,
    )
    if emit is not None:
        emit(end_line(result.success, result.n_steps, result.score, result.rewards))
    return result


async def run_episode_replaying(
    session: Callable[[], EpisodeSessionLike],
    agent: Callable[[], Agent],
    task_id: str,
    seed: int,
    *,
    agent_name: str,
    emit: Callable[[str], None] | None = None,
    max_replays: int = MAX_REPLAYS,
    **kwargs: Any,
) -> EpisodeRecord:
    """`run_episode`, played again from the start when a restart of the service lost the episode
    (EpisodeLostError) or a step's answer (ResponseLostError): a new episode of the same task and
    seed, with a new agent from `agent()`, on the session `session()` returns then; at most
    `max_replays` times, after which the error propagates.

    The record is the finished play's, so it equals an uninterrupted run's except in `timing`, where
    `replays` counts the plays abandoned; `emit` gets only the finished play's lines.
    """
    for replay in range(max_replays + 1):
        lines: list[str] = []
        try:
            record = await run_episode(
                session(), agent(), task_id, seed, agent_name=agent_name, emit=lines.append, **kwargs
            )
        except (EpisodeLostError, ResponseLostError):
            if replay == max_replays:
                raise
            continue
        record.timing["replays"] = replay
        if emit is not None:
            for line in lines:
                emit(line)
        return record
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

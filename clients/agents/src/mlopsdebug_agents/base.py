"""What an agent is: one object per episode with one method, `act(observation) -> action`.

Observations are the specification-style dicts of `mlopsdebug_client.observation_to_dict` (task_id,
run_summary, available_artifacts, artifacts_read, last_action_result, step_count, max_steps, ...).
Actions are specification-style dicts (`{"action_type": "run_sanity_check", "sanity_check_type":
"data_leakage"}`) or `common_pb2.Action` messages; `mlopsdebug_client.actions` builds either.

When the service refuses an action (INVALID_ARGUMENT: a malformed action), the episode is unchanged
and the runner calls `act` again with the same observation plus `"last_action_error"`, the server's
message; such refusals do not count as steps.

Write your own:

    from mlopsdebug_agents import Agent

    class MyAgent(Agent):
        def act(self, observation):
            if observation["step_count"] == 0:
                return {"action_type": "read_config"}
            return {"action_type": "submit_diagnosis", ...}

and run it with `mlopsdebug eval --agent my_module:MyAgent`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from mlopsdebug_client import ActionLike

__all__ = ["AGENT_NAMES", "Agent", "AgentFactory", "load_agent_factory"]


class Agent:
    """Base class of agents: one instance plays one episode; subclasses implement `act`.

    Attributes:
        seed: The episode's seed. Agents that draw random numbers seed their generator from it, so
            that an episode plays the same way in every run and under any concurrency.
        blocking: True for agents whose `act` waits on I/O (a model endpoint); the runner then calls
            `act` in a worker thread so that other episodes keep moving.
    """

    blocking: ClassVar[bool] = False

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def act(self, observation: Mapping[str, Any]) -> ActionLike:
        """The next action for this observation."""
        raise NotImplementedError


class AgentFactory(Protocol):
    """Makes the agent for one episode (an `Agent` subclass is itself a factory)."""

    def __call__(self, seed: int) -> Agent:
        """A fresh agent for one episode, seeded for reproducible play."""
        ...


def _builtin(name: str) -> Callable[[], AgentFactory]:
    """Imports a built-in agent lazily, so `random` works without the llm agent's settings."""

    def load() -> AgentFactory:
        if name == "random":
            from mlopsdebug_agents.random_agent import RandomAgent  # noqa: PLC0415

            return RandomAgent
        if name == "heuristic":
            from mlopsdebug_agents.heuristic import HeuristicAgent  # noqa: PLC0415

            return HeuristicAgent
        if name in ("checks-only", "prior"):
            # Blind baselines: the factory has no table until a harness trains it (mlopsdebug eval --train-seeds).
            from mlopsdebug_agents.blind import BlindAgentFactory  # noqa: PLC0415

            return BlindAgentFactory(name)
        from mlopsdebug_agents.llm import LLMAgentFactory  # noqa: PLC0415

        return LLMAgentFactory.from_env()

    return load


_BUILTINS: dict[str, Callable[[], AgentFactory]] = {
    name: _builtin(name) for name in ("random", "heuristic", "llm", "checks-only", "prior")
}
AGENT_NAMES: tuple[str, ...] = tuple(_BUILTINS)


def load_agent_factory(spec: str) -> AgentFactory:
    """The factory for a built-in agent name (`AGENT_NAMES`) or "module:Class".

    "module:Class" imports `Class` (an `Agent` subclass or any callable taking `seed=`) from an
    importable module. Raises ValueError for an unknown name or an import that fails.
    """
    if spec in _BUILTINS:
        return _BUILTINS[spec]()
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"unknown agent {spec!r}; expected one of {', '.join(AGENT_NAMES)} or module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import agent module {module_name!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ValueError(f"module {module_name!r} has no callable {attr!r}")
    return factory  # type: ignore[no-any-return]

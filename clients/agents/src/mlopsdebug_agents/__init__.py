"""Agents for mlops-debug-env and the runner that plays them, built on `mlopsdebug_client` only.

- `Agent`: subclass it and implement `act(observation) -> action` to write your own.
- Baselines by name (`load_agent_factory("random" | "heuristic" | "llm" | "checks-only" | "prior")`):
  `RandomAgent` (the floor), `HeuristicAgent` (a rule-based investigator reasoning from the evidence
  only), `LLMAgent` (any OpenAI-compatible chat endpoint, acting through tool calls), and the blind
  baselines of `blind` (`ChecksOnlyAgent`, `PriorAgent`: they read no artifact and answer from a table
  learned on other seeds; `mlopsdebug eval --train-seeds` trains them).
- `run_episode(session, agent, task_id, seed, agent_name=...)`: plays one episode over an episode
  Session and returns its `EpisodeRecord` (steps, grade, timings); `run_episode_replaying` plays it
  again from the start, a bounded number of times, when a restart of the service lost it.
- `lines`: the [START] / [STEP] / [END] inference-format lines.
"""

from mlopsdebug_agents.base import AGENT_NAMES, Agent, AgentFactory, load_agent_factory
from mlopsdebug_agents.blind import BlindAgentFactory, BlindTable, ChecksOnlyAgent, PriorAgent
from mlopsdebug_agents.heuristic import HeuristicAgent
from mlopsdebug_agents.lines import action_str, end_line, start_line, step_line
from mlopsdebug_agents.random_agent import RandomAgent
from mlopsdebug_agents.runner import (
    SUCCESS_THRESHOLD,
    EpisodeRecord,
    StepRecord,
    run_episode,
    run_episode_replaying,
)

__all__ = [
    "AGENT_NAMES",
    "SUCCESS_THRESHOLD",
    "Agent",
    "AgentFactory",
    "BlindAgentFactory",
    "BlindTable",
    "ChecksOnlyAgent",
    "EpisodeRecord",
    "HeuristicAgent",
    "PriorAgent",
    "RandomAgent",
    "StepRecord",
    "action_str",
    "end_line",
    "load_agent_factory",
    "run_episode",
    "run_episode_replaying",
    "start_line",
    "step_line",
]

"""`mlopsdebug play`: one episode per task with one agent, printed as [START] / [STEP] / [END] lines.

The OpenEnv inference format on stdout, nothing else there (notes go to stderr). Without an address
it starts a local cluster (generator, grader, episode) itself and stops it afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from mlopsdebug_agents import AgentFactory, load_agent_factory, run_episode
from mlopsdebug_client import AsyncEpisodeClient, ClientConfig, MLOpsDebugError
from mlopsdebug_common import eventloop

__all__ = ["play", "play_episodes"]


async def play_episodes(
    address: str, factory: AgentFactory, agent_name: str, tasks: Sequence[str], seed: int
) -> list[float]:
    """Plays `seed` on each task in turn, printing the lines as they happen; returns the scores."""
    scores = []
    config = ClientConfig(timeout_s=120.0, wait_for_ready=True, api_key=os.environ.get("MLOPSDEBUG_API_KEY") or None)
    async with AsyncEpisodeClient(address, config=config) as client:
        async with client.session() as session:
            for task in tasks:
                record = await run_episode(
                    session, factory(seed=seed), task, seed, agent_name=agent_name, emit=lambda line: print(line, flush=True)
                )
                scores.append(record.score)
    return scores


def play(args: argparse.Namespace) -> int:
    """The `play` command; exit status 0 when every episode was played, 1 on a service or agent failure."""
    agent_name = getattr(args, "agent", None) or "heuristic"
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    try:
        factory = load_agent_factory(agent_name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        with contextlib.ExitStack() as stack:
            address = args.address
            if not address:
                from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster  # noqa: PLC0415

                options = ClusterOptions.ephemeral(services=("generator", "grader", "episode"))
                address = stack.enter_context(LocalCluster(options)).address("episode")
            eventloop.run(play_episodes(address, factory, agent_name, tasks, args.seed))
    except MLOpsDebugError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - an agent's failure is reported, not a traceback
        print(f"error: the agent failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        close = getattr(factory, "close", None)
        if callable(close):
            close()
    return 0


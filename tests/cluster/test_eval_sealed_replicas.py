"""Sealed evaluation on the scaled cluster, real processes: Redis, three episode replicas behind Envoy.

Envoy hashes `x-episode-id`, and nothing pins an evaluation's calls (CreateEvaluation, a Reset naming
it, GetEvaluation, CloseEvaluation) to one replica: they land on any of them. The evaluation lives in
Redis, so the run completes and its report is the same as on a single episode process (memory
store) for the same stream key, agents and (public, unsalted) scenarios.
"""

from __future__ import annotations

import asyncio
import collections
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from mlopsdebug_agents.base import load_agent_factory
from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_cli.sealed import run_sealed

pytestmark = pytest.mark.cluster
SERVICES = ("generator", "grader", "episode")
STREAM_KEY = b"replicas-sealed-key-" + b"x" * 12
AGENTS = ("heuristic", "random")


def sealed_reports(address: str) -> dict[str, list[tuple[Any, ...]]]:
    """Both agents' sealed evaluations, one episode at a time (so that each agent's k-th reset takes
    the k-th scenario whatever the timing); every planned episode's row of the operator's report."""
    factories = {agent: load_agent_factory(agent) for agent in AGENTS}
    reports, failures, _ = asyncio.run(
        run_sealed(address, AGENTS, ["easy", "medium"], 3, factories, concurrency=1,
                   on_record=lambda record, lines: None, stream_key=STREAM_KEY)
    )  # fmt: skip
    assert not failures, failures
    return {
        agent: [
            (e.task_id, e.index, e.seed, e.status, e.step_count, e.score, e.grade.SerializeToString(deterministic=True))
            for e in report.episodes
        ]
        for agent, report in reports.items()
    }


def test_a_sealed_run_on_three_replicas_scores_as_on_one_process(tmp_path: pathlib.Path):
    with LocalCluster(ClusterOptions.ephemeral(services=SERVICES, public=True)) as single:
        expected = sealed_reports(single.address("episode"))
    options = ClusterOptions.ephemeral(episodes=3, services=SERVICES, public=True, log_dir=str(tmp_path / "logs"))
    with LocalCluster(options) as scaled:
        got = sealed_reports(scaled.address("episode"))
        out = tmp_path / "sealed.jsonl"
        command = [sys.executable, "-m", "mlopsdebug_cli.main", "eval", "--mode", "sealed", "--address",
                   scaled.address("episode"), "--agent", "heuristic", "--tasks", "easy", "--episodes", "3",
                   "--output", str(out), "--no-progress"]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        access_log = pathlib.Path(scaled.envoy_access_log).read_text()  # type: ignore[arg-type]
        replicas = {scaled.episode_replica_of(line.split()[1]) for line in access_log.splitlines()}
    assert got == expected
    statuses = collections.Counter(row[3] for rows in got.values() for row in rows)
    assert sum(statuses.values()) == 12 and set(statuses) <= {3, 4}  # every scenario graded or truncated
    assert len(replicas) >= 2  # the calls did spread over the replicas
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and len({(r["task"], r["seed"]) for r in records}) == 3  # three scenarios, each once

"""The fault contract, played: the heuristic agent solves every fault of every task version.

The heuristic reasons from observations only (artifacts and sanity checks, never the answer key), so
a mean of at least 0.9 on a fault shows that the fault is solvable from the evidence an agent sees.
Runs through `mlopsdebug eval` against an in-process cluster whose grades reveal the answer, which is
what gives the per-fault breakdown.
"""

from __future__ import annotations

import pytest

from mlopsdebug_cli.evaluate import read_records, summarize
from mlopsdebug_cli.main import main
from mlopsdebug_common.tasks import TASK_ORDER, TASKS

# Enough seeds that every fault of an 8-fault pool is drawn several times.
SEEDS_PER_FAULT = 12  # 10 drew eval_loader_shuffled only twice on hard-v4's seeds 0-79
MIN_EPISODES_PER_FAULT = 4


@pytest.fixture(scope="module")
def revealing(request):
    """A private in-process cluster whose grades reveal every answer, held-out faults' too (per-fault reports)."""
    from inprocess import InProcessCluster

    c = InProcessCluster(salt=b"", reveal_answers=True, grader_overrides={"reveal_heldout": True}).start()
    request.addfinalizer(c.stop)
    return c


@pytest.mark.parametrize("task_id", [*TASK_ORDER, *(f"{t}-v{v}" for v in (1, 2, 3) for t in TASK_ORDER)])
def test_heuristic_agent_solves_every_fault(revealing, tmp_path, task_id):
    """At least 0.9 mean score on every fault of the task's pool."""
    pool = TASKS[task_id].fault_pool
    seeds = SEEDS_PER_FAULT * len(pool)
    out = tmp_path / "heuristic.jsonl"
    args = ["eval", "--address", revealing.episode_addr, "--output", str(out), "--no-progress",
            "--agent", "heuristic", "--tasks", task_id, "--seeds", f"0-{seeds - 1}", "--concurrency", "16"]
    assert main(args) == 0
    _, per_fault = summarize(read_records(out).values())
    counts = {row.fault: row.episodes for row in per_fault}
    assert set(counts) == set(pool), f"faults never drawn: {set(pool) - set(counts)}"
    assert min(counts.values()) >= MIN_EPISODES_PER_FAULT, counts
    assert {row.fault: round(row.mean_score, 3) for row in per_fault if row.mean_score < 0.9} == {}

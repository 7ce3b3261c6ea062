"""`mlopsdebug eval --mode sealed` as a user runs it: a real subprocess with its own local cluster."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster


def test_a_sealed_run_scores_from_the_operators_reports(tmp_path: pathlib.Path):
    """Both baselines play one sealed evaluation each on the same secret scenarios; the file's seeds,
    grades and faults come from the reports, while what the agents saw held only scores."""
    out, md = tmp_path / "sealed.jsonl", tmp_path / "summary.md"
    command = [sys.executable, "-m", "mlopsdebug_cli.main", "eval", "--mode", "sealed", "--episodes", "2",
               "--tasks", "easy,medium", "--output", str(out), "--summary-md", str(md), "--no-progress"]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 8 and {r["agent"] for r in records} == {"random", "heuristic"}
    for record in records:
        assert len(record["grade"]["components"]) == 4 and record["fault"]
        assert record["score"] == record["grade"]["score"]
        seen = [s["observation"]["result"] for s in record["steps"] if s["observation"]]
        assert seen[-1] == {"type": "grade", "score": record["score"]}  # the agent saw the score alone
    seeds = {
        agent: sorted((r["task"], r["seed"]) for r in records if r["agent"] == agent)
        for agent in ("random", "heuristic")
    }
    assert (
        seeds["random"] == seeds["heuristic"] and len(set(seeds["random"])) == 4
    )  # the same secret scenarios
    assert len({r["evaluation"]["evaluation_id"] for r in records}) == 2  # one evaluation per agent
    assert "| heuristic | random | all | 4 |" in md.read_text()
    assert proc.stdout.count("sealed evaluation ev-") == 2

    again = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert again.returncode == 2 and "cannot resume" in again.stderr

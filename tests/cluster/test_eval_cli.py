"""`mlopsdebug eval` as a user runs it: a real subprocess that starts and stops its own local cluster."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster


class TestEvalCommand:
    def test_defaults_with_few_seeds_start_their_own_cluster(self, tmp_path: pathlib.Path):
        """With no address, eval starts a local cluster, plays both baselines on every task, reports per fault."""
        out, md, chart = tmp_path / "eval.jsonl", tmp_path / "summary.md", tmp_path / "chart.png"
        proc = subprocess.run(
            [sys.executable, "-m", "mlopsdebug_cli.main", "eval", "--seeds", "0-2", "--output", str(out),
             "--summary-md", str(md), "--chart", str(chart)],
            capture_output=True, text=True, timeout=180, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert len(records) == 18 and {r["agent"] for r in records} == {"random", "heuristic"}
        assert all(r["fault"] for r in records)  # the embedded cluster reveals answers after grading
        assert "Scores per fault" in proc.stdout and "### Scores per fault" in md.read_text()
        assert "Paired comparison" in proc.stdout and "| heuristic | random | all | 9 |" in md.read_text()
        assert chart.read_bytes()[:4] == b"\x89PNG"
        assert "started a local cluster" in proc.stderr

    def test_blind_baselines_train_on_their_own_cluster(self, tmp_path: pathlib.Path):
        """checks-only and prior learn on the embedded cluster (it reveals answers), on seeds apart from the
        evaluated ones, and the table lands in --train-cache."""
        out, cache = tmp_path / "eval.jsonl", tmp_path / "cache"
        proc = subprocess.run(
            [sys.executable, "-m", "mlopsdebug_cli.main", "eval", "--agent", "checks-only,prior", "--tasks", "easy",
             "--seeds", "0-3", "--train-seeds", "500-519", "--train-cache", str(cache), "--output", str(out),
             "--no-progress"],
            capture_output=True, text=True, timeout=180, cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted((r["agent"], r["seed"]) for r in records) == [(a, s) for a in ("checks-only", "prior") for s in range(4)]
        assert "training on seeds 500-519 for easy" in proc.stderr
        assert [p.name.split("-")[0] for p in cache.iterdir()] == ["easy"]

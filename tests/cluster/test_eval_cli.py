"""`mlopsdebug eval` as a user runs it: a real subprocess that starts and stops its own local cluster."""

from __future__ import annotations

import json
import os
import pathlib
import stat
import subprocess
import sys

import pytest

from mlopsdebug_generator.core import generate_world

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


FLAKY_AGENT = '''
import os

from mlopsdebug_agents import load_agent_factory

_heuristic = load_agent_factory("heuristic")


def Flaky(seed):
    """The heuristic agent, except that it fails on the seed FLAKY_SEED names (an interrupted run)."""
    if os.environ.get("FLAKY_SEED") == str(seed):
        raise RuntimeError("flaky on purpose")
    return _heuristic(seed=seed)
'''


def _without_timing(path: pathlib.Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "timing"} for line in path.read_text().splitlines()]


class TestEvalSalt:
    def test_the_salt_is_private_until_every_episode_is_graded_then_reproduces_the_run(self, tmp_path):
        """A fresh salt, kept in a 0600 sidecar while episodes are missing (a failed episode here), reused
        by the resumed run, published (0644, printed) once complete; `--salt` then replays the run."""
        (tmp_path / "flaky.py").write_text(FLAKY_AGENT)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_SALT")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
        out, sidecar = tmp_path / "run.jsonl", tmp_path / "run.jsonl.salt.json"

        def run_eval(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "mlopsdebug_cli.main", "eval", "--agent", "flaky:Flaky", "--tasks", "easy",
                 "--seeds", "0-2", "--no-progress", *args],
                capture_output=True, text=True, timeout=180, cwd=tmp_path, env={**env, **extra_env},
            )  # fmt: skip

        first = run_eval("-o", str(out), FLAKY_SEED="1")
        assert first.returncode == 1, first.stderr[-2000:]
        kept = json.loads(sidecar.read_text())
        salt = kept["salt"]
        assert len(salt) == 32 and not kept["complete"] and stat.S_IMODE(sidecar.stat().st_mode) == 0o600
        assert len(out.read_text().splitlines()) == 2
        for text in (out.read_text(), first.stdout, first.stderr):
            assert salt not in text  # nothing readable before the run completes shows the salt
        assert "kept private" in first.stdout

        resumed = run_eval("-o", str(out))
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert "resuming: 2 of 3" in resumed.stderr
        published = json.loads(sidecar.read_text())
        assert published["salt"] == salt and published["complete"]  # the first run's salt, now public
        assert stat.S_IMODE(sidecar.stat().st_mode) == 0o644
        assert f"salt: {salt}, published in {sidecar}" in resumed.stdout

        again = tmp_path / "again.jsonl"
        replay = run_eval("-o", str(again), "--salt", salt)
        assert replay.returncode == 0, replay.stderr[-2000:]
        assert _without_timing(again) == _without_timing(out)  # resumed and replayed runs agree
        for record in _without_timing(out):  # and anyone can now compute the answers offline
            assert record["fault"] == generate_world("easy", record["seed"], salt=salt.encode()).fault_id

"""`mlopsdebug eval` against the in-process cluster: records, per-fault summaries, resume and concurrency.

Equality of two runs ignores each line's `timing` field (episode id and latencies), the only part of
a record that differs between runs.
"""

from __future__ import annotations

import json
import pathlib
import statistics

import pytest

from mlopsdebug_cli.evaluate import read_records
from mlopsdebug_cli.main import main
from mlopsdebug_common.tasks import TASKS


def without_timing(path: pathlib.Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        record.pop("timing")
        lines.append(record)
    return lines


def run_eval(address: str, output: pathlib.Path, *args: str) -> int:
    return main(["eval", "--address", address, "--output", str(output), "--no-progress", *args])


@pytest.fixture(scope="module")
def revealing(request):
    """A private in-process cluster whose grades reveal the answer (for per-fault reports)."""
    from inprocess import InProcessCluster

    c = InProcessCluster(reveal_answers=True, grader_overrides={"reveal_heldout": True}).start()
    request.addfinalizer(c.stop)
    return c


class TestRecords:
    def test_one_line_per_episode_with_steps_grade_and_fault(self, revealing, tmp_path, capsys):
        """Each episode is a line with its steps, grade components and the fault from the revealed answer."""
        out = tmp_path / "eval.jsonl"
        lines = tmp_path / "lines.txt"
        args = ("--agent", "random", "--seeds", "0-3", "--summary-md", str(tmp_path / "s.md"), "--lines", str(lines))
        assert run_eval(revealing.episode_addr, out, *args) == 0
        records = [json.loads(line) for line in out.read_text().splitlines()]
        assert [(r["task"], r["seed"]) for r in records] == [(t, s) for t in ("easy", "medium", "hard") for s in range(4)]
        for r in records:
            assert r["agent"] == "random" and r["fault"] in TASKS[r["task"]].fault_pool
            assert r["n_steps"] == len([s for s in r["steps"] if s["error"] is None]) >= 1
            assert {c["kind"] for c in r["grade"]["components"]} == {"category", "file", "field", "fix"}
            assert r["steps"][-1]["action"]["action_type"] == "submit_diagnosis"
            assert set(r["timing"]) == {"episode_id", "wall_s", "reset_ms", "step_ms", "agent_s", "replays"}
        printed = lines.read_text().splitlines()
        assert sum(line.startswith("[START] ") for line in printed) == 12
        assert sum(line.startswith("[END] ") for line in printed) == 12
        assert sum(line.startswith("[STEP] ") for line in printed) == sum(len(r["steps"]) for r in records)
        shown = capsys.readouterr().out
        assert "Scores per task" in shown and "Scores per fault" in shown
        assert "### Scores per fault" in (tmp_path / "s.md").read_text()

    def test_without_revealed_answers_reports_per_task_only(self, cluster, tmp_path, capsys):
        """Against a service that withholds answers, records have no fault and the summary is per task."""
        out = tmp_path / "eval.jsonl"
        assert run_eval(cluster.episode_addr, out, "--agent", "random", "--seeds", "0-1", "--tasks", "easy") == 0
        assert {r["fault"] for r in read_records(out).values()} == {None}
        assert "Scores per fault" not in capsys.readouterr().out

    def test_unknown_task_is_refused(self, cluster, tmp_path):
        """A task the service does not offer fails fast with exit status 2."""
        assert run_eval(cluster.episode_addr, tmp_path / "x.jsonl", "--tasks", "easy,impossible", "--seeds", "0") == 2


class TestDeterminism:
    def test_resumed_run_equals_uninterrupted_run(self, cluster, tmp_path):
        """Stopping part-way (even mid-line) and rerunning yields the same file as one full run."""
        full, resumed = tmp_path / "full.jsonl", tmp_path / "resumed.jsonl"
        common = ("--agent", "random,heuristic", "--tasks", "easy,hard", "--concurrency", "4")
        assert run_eval(cluster.episode_addr, full, *common, "--seeds", "0-5") == 0
        assert run_eval(cluster.episode_addr, resumed, *common, "--seeds", "0-2") == 0
        text = resumed.read_text()
        resumed.write_text(text + text.splitlines()[0][:50])  # a line cut off by an interrupted run
        assert run_eval(cluster.episode_addr, resumed, *common, "--seeds", "0-5") == 0
        assert without_timing(resumed) == without_timing(full)

    def test_rerun_of_a_complete_file_plays_nothing(self, cluster, tmp_path, capsys):
        """A second run of the same command finds every episode in the file and only reports."""
        out = tmp_path / "eval.jsonl"
        assert run_eval(cluster.episode_addr, out, "--agent", "random", "--seeds", "0-2", "--tasks", "easy") == 0
        before = out.read_text()
        capsys.readouterr()
        assert run_eval(cluster.episode_addr, out, "--agent", "random", "--seeds", "0-2", "--tasks", "easy") == 0
        assert out.read_text() == before and "(0 new, 3 resumed)" in capsys.readouterr().out

    def test_32_concurrent_episodes_score_like_1(self, cluster, tmp_path):
        """The same episodes played 32 at a time and one at a time give identical records."""
        one, many = tmp_path / "one.jsonl", tmp_path / "many.jsonl"
        common = ("--agent", "random,heuristic", "--seeds", "0-10")
        assert run_eval(cluster.episode_addr, one, *common, "--concurrency", "1") == 0
        assert run_eval(cluster.episode_addr, many, *common, "--concurrency", "32") == 0
        assert without_timing(one) == without_timing(many)


class TestBaselines:
    def test_random_agent_is_the_floor(self, cluster, tmp_path):
        """The random agent averages at most 0.1."""
        out = tmp_path / "random.jsonl"
        assert run_eval(cluster.episode_addr, out, "--agent", "random", "--seeds", "0-29") == 0
        scores = [r["score"] for r in read_records(out).values()]
        assert len(scores) == 90 and statistics.fmean(scores) <= 0.1


class TestBlockingAgents:
    async def test_every_concurrent_episode_gets_its_own_thread(self, cluster):
        """Blocking agents (a model endpoint) each wait in a thread of their own: 16 episodes at once
        all reach their first action together (a barrier of 16), beyond the loop's default executor
        (min(32, CPUs + 4) threads: 6 on two cores)."""
        import threading

        from mlopsdebug_agents import Agent
        from mlopsdebug_cli.evaluate import plan, run_eval

        together = threading.Barrier(16, timeout=30)

        class WaitsForEveryone(Agent):
            blocking = True

            def act(self, observation):
                if observation["step_count"] == 0:
                    together.wait()
                return {
                    "action_type": "submit_diagnosis",
                    "failure_category": "config_error",
                    "root_cause_file": "config.yaml",
                    "root_cause_field": "optimizer.learning_rate",
                    "diagnosis": "the learning rate is too high",
                    "proposed_fix": "lower it",
                }

        records = []
        keys = plan(["waits"], ["easy"], list(range(16)))
        failures = await run_eval(
            cluster.episode_addr,
            keys,
            {"waits": WaitsForEveryone},
            concurrency=16,
            on_record=lambda key, record, lines: records.append(record),
        )
        assert failures == [] and len(records) == 16
        assert all(r["n_steps"] == 1 and r["status"] == "terminated" for r in records)

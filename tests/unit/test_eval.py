"""Unit tests of the eval harness's pure parts: seed/task parsing, the canonical file, statistics, reports."""

from __future__ import annotations

import json
import math
import pathlib

import pytest

from mlopsdebug_cli.evaluate import (
    EpisodeKey,
    canonical_order,
    compare,
    mean_ci95,
    parse_agents,
    parse_seeds,
    parse_tasks,
    plan,
    read_records,
    render_markdown,
    render_tables,
    summarize,
    t_critical_95,
    write_canonical,
    write_chart,
)


def record(agent: str, task: str, seed: int, score: float, fault: str | None = None, steps: int = 5) -> dict:
    return {
        "task": task,
        "seed": seed,
        "agent": agent,
        "fault": fault,
        "status": "terminated" if score > 0 else "truncated",
        "score": score,
        "success": score >= 0.5,
        "n_steps": steps,
        "steps": [],
        "grade": None,
        "timing": {"wall_s": 0.1},
    }


class TestParsing:
    def test_seed_ranges(self):
        """Seeds accept single values, inclusive ranges and lists, sorted without duplicates."""
        assert parse_seeds("0-3") == [0, 1, 2, 3]
        assert parse_seeds("7") == [7]
        assert parse_seeds("5,0-2, 2,10-11") == [0, 1, 2, 5, 10, 11]

    @pytest.mark.parametrize("spec", ["", "a", "3-1", "-1", "1-", "0-2000000"])
    def test_bad_seed_specs(self, spec):
        """Malformed, reversed, negative or huge ranges are refused."""
        with pytest.raises(ValueError):
            parse_seeds(spec)

    def test_tasks_keep_order_without_duplicates(self):
        """Tasks come back in the order given, once each."""
        assert parse_tasks("hard, easy,hard") == ["hard", "easy"]
        with pytest.raises(ValueError, match="no tasks given"):
            parse_tasks(" , ")

    def test_agents_are_their_own_list(self):
        """Agents parse with the same comma rules, and an empty list says agents, not tasks."""
        assert parse_agents("random, heuristic,random") == ["random", "heuristic"]
        with pytest.raises(ValueError, match="no agents given"):
            parse_agents(",")

    def test_plan_is_canonical(self):
        """The plan is every (agent, task, seed), ordered by agent, task (easy, medium, hard), seed."""
        keys = plan(["random", "heuristic"], ["hard", "easy"], [2, 1])
        assert keys[:3] == [EpisodeKey("heuristic", "easy", 1), EpisodeKey("heuristic", "easy", 2), EpisodeKey("heuristic", "hard", 1)]
        assert len(keys) == 8 and keys == sorted(keys, key=canonical_order)


class TestFile:
    def test_round_trip_in_canonical_order(self, tmp_path: pathlib.Path):
        """Records written in any order come back sorted, one strict-JSON line each."""
        path = tmp_path / "out.jsonl"
        records = {EpisodeKey.of(r): r for r in (record("a", "hard", 1, 0.5), record("a", "easy", 3, 1.0), record("a", "easy", 2, 0.0))}
        write_canonical(path, records)
        lines = path.read_text().splitlines()
        assert [(json.loads(x)["task"], json.loads(x)["seed"]) for x in lines] == [("easy", 2), ("easy", 3), ("hard", 1)]
        assert read_records(path) == records

    def test_cut_off_line_is_dropped(self, tmp_path: pathlib.Path):
        """A partial last line (an interrupted run) is ignored when reading."""
        path = tmp_path / "out.jsonl"
        path.write_text(json.dumps(record("a", "easy", 1, 1.0)) + "\n" + '{"task": "easy", "se')
        assert list(read_records(path)) == [EpisodeKey("a", "easy", 1)]
        assert read_records(tmp_path / "missing.jsonl") == {}


class TestStatistics:
    def test_t_critical_values(self):
        """The t table and its expansion agree at the seam and approach the normal value."""
        assert t_critical_95(1) == pytest.approx(12.706)
        assert t_critical_95(31) == pytest.approx(2.0395, abs=5e-4)
        assert t_critical_95(99) == pytest.approx(1.9842, abs=5e-4)
        assert t_critical_95(100_000) == pytest.approx(1.95996, abs=1e-4)

    def test_mean_ci95(self):
        """The interval is mean +- t * s / sqrt(n), clipped to [0, 1]; none for fewer than 2 values."""
        mean, low, high = mean_ci95([0.2, 0.4, 0.6, 0.8])
        half = 3.182 * math.sqrt(0.0666666667 / 4)
        assert (mean, low, high) == pytest.approx((0.5, 0.5 - half, 0.5 + half))
        assert mean_ci95([1.0, 1.0, 1.0]) == (1.0, 1.0, 1.0)
        assert mean_ci95([0.0, 1.0]) == (0.5, 0.0, 1.0)
        assert mean_ci95([0.3]) == (0.3, None, None)

    def test_summary_per_task_and_fault(self):
        """Rows per agent and task with an "all" row, and per fault when the faults are known."""
        records = [
            record("h", "easy", 0, 1.0, "exploding_lr", steps=4),
            record("h", "easy", 1, 0.4, "wrong_optimizer", steps=6),
            record("h", "hard", 0, 0.0, "silent_metric_swap", steps=40),
        ]
        per_task, per_fault = summarize(records)
        assert [(r.task, r.episodes) for r in per_task] == [("easy", 2), ("hard", 1), ("all", 3)]
        easy = per_task[0]
        assert (easy.mean_score, easy.success_rate, easy.mean_steps, easy.truncated) == (0.7, 0.5, 5.0, 0)
        assert per_task[2].truncated == 1
        assert [(r.task, r.fault, r.mean_score) for r in per_fault] == [
            ("easy", "exploding_lr", 1.0),
            ("easy", "wrong_optimizer", 0.4),
            ("hard", "silent_metric_swap", 0.0),
        ]

    def test_no_fault_table_without_answers(self):
        """Without revealed answers there are no per-fault rows."""
        _, per_fault = summarize([record("r", "easy", 0, 0.1), record("r", "easy", 1, 0.0)])
        assert per_fault == []


class TestReports:
    def test_markdown_and_rich_tables(self):
        """The Markdown report has a row per group with mean, interval, success and steps."""
        per_task, per_fault = summarize(
            [record("h", "easy", 0, 1.0, "exploding_lr"), record("h", "easy", 1, 0.8, "exploding_lr")]
        )
        md = render_markdown(per_task, per_fault)
        assert "| h | easy | 2 | 0.900 | [0.000, 1.000] | 100.0% | 5.0 | 0 |" in md
        assert "### Scores per fault" in md and "| h | easy | exploding_lr |" in md
        assert [t.title for t in render_tables(per_task, per_fault)] == [
            "Scores per task",
            "Scores per fault (answers revealed after grading)",
        ]

    def test_chart_is_a_png(self, tmp_path: pathlib.Path):
        """The chart is written as a PNG image."""
        pytest.importorskip("matplotlib")
        path = tmp_path / "chart.png"
        records = [record(a, t, s, (s % 5) / 4) for a in ("random", "heuristic") for t in ("easy", "hard") for s in range(6)]
        write_chart(records, path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


class TestPairedComparison:
    def test_differences_on_shared_episodes_with_a_paired_interval(self):
        """Only (task, seed) both agents played count; the leader comes first; the interval is the
        t-interval of the per-episode differences, clipped to [-1, 1]."""
        records = [
            *(record("r", "easy", s, v) for s, v in enumerate([0.1, 0.0, 0.2, 0.1])),
            *(record("h", "easy", s, v) for s, v in enumerate([1.0, 0.9, 0.2, 1.0])),
            record("h", "easy", 9, 1.0),  # r never played seed 9: unpaired, left out
            record("r", "hard", 0, 0.5),
            record("h", "hard", 0, 0.25),
        ]
        rows = compare(records)
        assert [(r.agent, r.versus, r.task, r.pairs) for r in rows] == [
            ("h", "r", "easy", 4),
            ("h", "r", "hard", 1),
            ("h", "r", "all", 5),
        ]
        easy, hard, overall = rows
        differences = [0.9, 0.9, 0.0, 0.9]
        assert (easy.wins, easy.ties, easy.losses) == (3, 1, 0)
        mean, low, high = mean_ci95(differences, bounds=(-1.0, 1.0))
        assert (easy.mean_difference, easy.ci_low, easy.ci_high) == pytest.approx((0.675, low, high))
        assert low < 0.675 < high <= 1.0
        assert (hard.mean_difference, hard.ci_low, hard.losses) == (pytest.approx(-0.25), None, 1)
        assert overall.pairs == 5 and overall.mean_difference == pytest.approx((0.9 * 3 - 0.25) / 5)

    def test_one_agent_or_no_shared_episodes_give_no_rows(self):
        assert compare([record("h", "easy", 0, 1.0), record("h", "easy", 1, 0.5)]) == []
        assert compare([record("h", "easy", 0, 1.0), record("r", "easy", 1, 0.5)]) == []

    def test_reports_show_the_comparison(self):
        records = [record("r", "easy", s, 0.1) for s in range(3)] + [record("h", "easy", s, 1.0) for s in range(3)]
        per_task, per_fault = summarize(records)
        comparisons = compare(records)
        md = render_markdown(per_task, per_fault, comparisons)
        assert "### Paired comparison" in md and "| h | r | easy | 3 | +0.900 | [+0.900, +0.900] | 3 | 0 | 0 |" in md
        titles = [t.title for t in render_tables(per_task, per_fault, comparisons)]
        assert titles[-1] == "Paired comparison (the same tasks and seeds)"
        assert "Paired" not in render_markdown(per_task, per_fault)


class TestSplitRows:
    def test_held_out_faults_get_their_own_rows(self, monkeypatch):
        """With a held-out fault among the revealed ones, the per-task table adds train/held-out rows."""
        import dataclasses

        from mlopsdebug_cli.evaluate import summarize
        from mlopsdebug_common.faults import FAULTS

        monkeypatch.setitem(FAULTS, "silent_metric_swap", dataclasses.replace(FAULTS["silent_metric_swap"], heldout=True))
        records = [
            {"agent": "a", "task": "hard", "seed": 0, "fault": "silent_metric_swap", "score": 0.2, "n_steps": 3,
             "status": "terminated", "success": False},
            {"agent": "a", "task": "hard", "seed": 1, "fault": "label_encoder_mismatch", "score": 1.0, "n_steps": 3,
             "status": "terminated", "success": True},
        ]
        per_task, _ = summarize(records)
        rows = {row.task: row.mean_score for row in per_task}
        assert rows["held-out faults"] == 0.2 and rows["train faults"] == 1.0
        # The same fault under the pinned v1 task is not held out: no split rows.
        per_task, _ = summarize([{**r, "task": "hard-v1"} for r in records])
        assert {row.task for row in per_task} == {"hard-v1"}

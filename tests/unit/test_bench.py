"""The episode benchmark's bookkeeping: which run of a repeated row is shown, and the CPU ceiling."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import sys

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_episode.py"
_SPEC = importlib.util.spec_from_file_location("bench_episode", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("bench_episode", bench)  # dataclasses resolve annotations through sys.modules
_SPEC.loader.exec_module(bench)


def run(steps_per_s: float, *, client_us: float | None = None, server_us: float | None = None):
    stats = bench.StepStats("path", 32, steps=int(steps_per_s * 2), elapsed_s=2.0, all_steps=1_000)
    stats.client_cpu_s = client_us * 1_000 / 1e6 if client_us is not None else None
    stats.server_cpu_s = server_us * 1_000 / 1e6 if server_us is not None else None
    return stats


class TestMedianRun:
    def test_odd_count_picks_the_middle_and_keeps_every_run_in_order(self):
        runs = [run(300), run(100), run(200)]
        median = bench.median_run(runs)
        assert median.steps_per_s == 200
        assert [r.steps_per_s for r in median.runs] == [100, 200, 300]

    def test_even_count_picks_the_lower_middle(self):
        assert bench.median_run([run(400), run(100), run(300), run(200)]).steps_per_s == 200

    def test_failed_runs_are_left_out_and_an_all_failed_row_stays_failed(self):
        failed = bench.StepStats("path", 32, skipped="failed: boom")
        assert bench.median_run([failed, run(100), run(300)]).steps_per_s == 100
        assert bench.median_run([failed]).skipped == "failed: boom"


class TestCeiling:
    def test_is_the_rate_that_keeps_every_core_busy(self):
        stats = run(1_000, client_us=300, server_us=500)
        assert stats.cpu_us_per_step(stats.client_cpu_s) == pytest.approx(300)
        assert stats.ceiling == pytest.approx((os.cpu_count() or 1) * 1e6 / 800)

    def test_unknown_without_cpu_figures(self):
        assert run(1_000).ceiling is None

    def test_table_shows_the_range_only_for_repeated_rows(self):
        once = bench.step_table([run(100, client_us=1, server_us=1)])
        repeated_row = bench.median_run([run(100, client_us=1, server_us=1), run(300, client_us=1, server_us=1)])
        repeated = bench.step_table([repeated_row])
        assert "range" not in [str(c.header) for c in once.columns]
        assert "100-300" in bench.table_markdown(repeated)

"""The gaming benchmark's blind-baseline section: its figures, its report of the issue-13 targets, and the
exit status (targets count only with --enforce-blind-targets)."""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import pytest
from rich.console import Console

_PATH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "gaming_benchmark.py"
_SPEC = importlib.util.spec_from_file_location("gaming_benchmark", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
bench = importlib.util.module_from_spec(_SPEC)
sys.modules.setdefault("gaming_benchmark", bench)  # dataclasses resolve annotations through sys.modules
_SPEC.loader.exec_module(bench)


def figures(checks_only: float, prior: float, accuracy: float) -> dict:
    answer = bench.Answer("config_error", "config.yaml", "lr", "Lower the lr.")
    row = {"checks_only": [checks_only] * 4, "prior": [prior] * 4, "prior_answer": answer, "patterns": 3,
           "levels": {"pattern": 4}, "majority": (1.0, accuracy), "bayes": (1.0, accuracy / 2)}  # fmt: skip
    return {"rows": {t: row for t in ("easy", "medium", "hard")}, "train_seeds": 8, "test_seeds": 4}


def report(blind: dict) -> tuple[list[str], str]:
    console = Console(width=200, record=True)
    unmet = bench.blind_report(blind, console)
    return unmet, console.export_text()


class TestTargets:
    def test_all_met(self):
        unmet, text = report(figures(0.3, 0.05, 0.4))
        assert unmet == [] and text.count("met:") == 3 and "NOT met" not in text

    def test_each_target_is_judged_on_its_own_figure(self):
        unmet, text = report(figures(0.36, 0.11, 0.51))
        assert len(unmet) == 3 and text.count("NOT met") == 3
        assert "checks-only overall 0.360 <= 0.35" in unmet[0]
        assert "easy 0.510" in unmet[1]  # the better of the two classifiers
        assert "prior overall 0.110 <= 0.1" in unmet[2]


class TestRun:
    def test_small_run_has_every_task_and_disjoint_seeds(self):
        blind = bench.run_blind(train_seeds=12, test_seeds=6)
        assert set(blind["rows"]) == {"easy-v4", "medium-v4", "hard-v4"}
        assert set(bench.run_blind(train_seeds=12, test_seeds=6, version=2)["rows"]) == {"easy-v2", "medium-v2", "hard-v2"}
        for row in blind["rows"].values():
            assert len(row["checks_only"]) == len(row["prior"]) == 6
            assert sum(row["levels"].values()) == 6
            assert all(0.0 <= a <= 1.0 for a in (*row["majority"], *row["bayes"]))

    @pytest.mark.parametrize("enforce", [False, True])
    def test_targets_count_towards_the_exit_status_only_when_enforced(self, monkeypatch, enforce):
        monkeypatch.setattr(bench, "PRIOR_TARGET", -1.0)  # cannot be met, whatever the faults
        monkeypatch.setattr(bench, "load_keys", lambda seeds, version: {})
        monkeypatch.setattr(bench, "TASK_ORDER", ())
        monkeypatch.setattr(bench, "run_blind", lambda train, test, version: figures(0.3, 0.05, 0.4))
        args = ["--quick"] + (["--enforce-blind-targets"] if enforce else [])
        assert bench.main(args) == (1 if enforce else 0)

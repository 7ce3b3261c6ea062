"""The episode benchmark runs end to end against a real local cluster (numbers unchecked: speed is
reported by the benchmark, never asserted in tests)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

pytestmark = pytest.mark.cluster

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "bench_episode.py"


def test_every_row_is_measured_and_reported(tmp_path: pathlib.Path):
    report = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--duration-s", "0.3", "--repeat", "2", "--episodes-for-memory", "300",
         "--markdown", str(report)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    text = report.read_text()
    assert "skipped" not in text and "failed" not in text, text
    step_rows = text.splitlines()
    for path in ("in-process core", "unary Step (gRPC)", "Session stream (gRPC)", "Session, batching (gRPC)",
                 "gateway WebSocket", "ref: empty gRPC echo (unary)", "ref: empty gRPC echo (stream)",
                 "ref: OpenEnv no-op WebSocket"):  # fmt: skip
        assert sum(row.startswith(f"| {path} |") for row in step_rows) >= 2, path
    assert "| range |" in text and "CPU ceiling" in text
    assert "unary Reset (gRPC) | cold" in text and "| 300 |" in text  # resets, and the memory row
    # Every target of issue 16 as a ratio to its same-run reference, with its range over the two runs.
    ratios = text.split("**Ratios to same-run references", 1)[1].split("\n\n**", 1)[0].splitlines()
    for path in ("Session stream, 32 episodes", "unary Step, 32 in flight", "batching session, 32 episodes",
                 "gateway WebSocket, 8 connections", "gateway WebSocket, 1 connection", "cold reset over gRPC (p50)",
                 "in-process generation (CPU p50)"):  # fmt: skip
        row = next((line for line in ratios if line.startswith(f"| {path} |")), None)
        assert row is not None, (path, ratios)
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[6] in ("met", "not met") and cells[4], row  # a verdict, and a range


def test_gateway_benchmark_prints_its_rows_and_shuts_down_cleanly():
    """No traceback at shutdown: a gRPC call left open past its event loop once printed 'Event loop is closed'."""
    command = [sys.executable, str(BENCH.with_name("bench_gateway.py")), "--quick"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Event loop is closed" not in proc.stderr, proc.stderr[-3000:]
    for row in ("Session stream (direct), 1", "gateway WebSocket /ws, 32", "gateway MCP tools/call (HTTP), 1"):
        assert row in proc.stdout, proc.stdout


def test_eval_throughput_benchmark_plays_every_row():
    command = [sys.executable, str(BENCH.with_name("bench_eval.py")), "--quick"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("│ ")]
    agents = [row.split("│")[1].strip() for row in rows]
    assert agents == ["random", "random", "heuristic", "heuristic"], proc.stdout
    assert all(row.split("│")[3].strip() == "15" for row in rows)  # 5 seeds x 3 tasks, none failed


def test_gaming_benchmark_prints_the_blind_baselines_next_to_their_targets():
    command = [sys.executable, str(BENCH.with_name("gaming_benchmark.py")), "--quick"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    out = proc.stdout
    assert "Blind baselines: learned on seeds 10000..10059, scored on seeds 0..29 per task" in out
    rows = [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│ ")]
    assert {"easy-v4", "medium-v4", "hard-v4", "all"} <= set(rows)  # the newest task version's pinned ids
    for target in ("checks-only overall", "verdict classifier test accuracy <= 0.5", "prior overall"):
        assert sum(target in line and "met:" in line for line in out.splitlines()) == 1, target


def test_envoy_benchmark_measures_every_row():
    """Direct (memory, Redis), Envoy with one replica and with three, over unary calls and Session
    streams, and the comparisons drawn from them (numbers unchecked)."""
    command = [sys.executable, str(BENCH.with_name("bench_envoy.py")), "--duration-s", "0.3", "--workers", "4"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    rows = [line.split("|")[1:3] for line in proc.stdout.splitlines() if line.startswith("| ") and "steps/s" not in line]
    assert [(path.strip(), calls.strip()) for path, calls in rows] == [
        (path, calls)
        for path in ("direct, memory", "direct, Redis", "Envoy, 1 replica", "Envoy, 3 replicas")
        for calls in ("unary", "Session")
    ]
    lines = proc.stdout.splitlines()
    for comparison in ("Redis store vs memory store, Session", "Envoy's added latency, unary", "Envoy, 3 replicas vs Envoy, 1 replica, Session"):
        assert sum(line.startswith(comparison) for line in lines) == 1, comparison

"""Scenario generation time per task: median and p99 of generate_scenario (wall clock and CPU).

Usage: python bench/bench_generator.py [--scenarios 1000] [--first-seed 0]
Prints numbers only; it asserts nothing (timing depends on the machine and its load).
"""

from __future__ import annotations

import argparse
import statistics
import time

from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASK_ORDER
from mlopsdebug_generator import core


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100.0 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=1000, help="scenarios per task (one seed each)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 scenarios per task")
    args = parser.parse_args()
    if args.quick:
        args.scenarios = 50
    sealer = Sealer(b"benchmark-secret-benchmark-secret")
    for task_id in TASK_ORDER:  # warm-up: imports, first-call caches
        core.generate_scenario(task_id, 0, sealer=sealer)
    print(f"generator {core.GENERATOR_VERSION}: {args.scenarios} scenarios per task, seeds from {args.first_seed}")
    print(f"{'task':<8} {'wall median':>12} {'wall p99':>10} {'cpu median':>11} {'cpu p99':>9}  (ms per scenario)")
    for task_id in TASK_ORDER:
        wall: list[float] = []
        cpu: list[float] = []
        for seed in range(args.first_seed, args.first_seed + args.scenarios):
            w0, c0 = time.perf_counter(), time.process_time()
            core.generate_scenario(task_id, seed, sealer=sealer)
            cpu.append((time.process_time() - c0) * 1000.0)
            wall.append((time.perf_counter() - w0) * 1000.0)
        print(
            f"{task_id:<8} {statistics.median(wall):>12.2f} {percentile(wall, 99):>10.2f} "
            f"{statistics.median(cpu):>11.2f} {percentile(cpu, 99):>9.2f}"
        )


if __name__ == "__main__":
    main()

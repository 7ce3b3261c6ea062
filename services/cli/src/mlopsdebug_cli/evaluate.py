"""`mlopsdebug eval`: score agents on tasks x seeds, many episodes in parallel, resumably.

Every episode becomes one JSON line in the output file (see `mlopsdebug_agents.runner.EpisodeRecord`).
Lines are appended as episodes finish, so an interrupted run loses nothing; a rerun skips the
(agent, task, seed) triples already in the file. At the end the file is rewritten in canonical
order, sorted by (agent, task, seed): a resumed run and an uninterrupted one produce the same file
except for each line's `timing` field (episode id and wall-clock latencies), the only part that
differs between runs.

The harness talks to the episode service through `mlopsdebug_client` only. Without an address it
starts a local cluster (generator, grader, episode) as real processes, with answers revealed after
grading so that results can be reported per fault; the agent never sees that answer, which arrives
with the final step's grade. That cluster's salt is fresh and private until the run is complete
(mlopsdebug_cli.eval_salt).

The command lives in four modules, re-exported here (the public API tests and tools import):
`eval_records` (EpisodeKey, the command line's lists, the JSONL file), `eval_statistics` (intervals,
summaries, paired comparisons), `eval_report` (tables, Markdown, chart) and `eval_run` (planning,
playing, the `eval` command).
"""

from __future__ import annotations

from mlopsdebug_cli.eval_records import (
    TASK_ORDER,
    EpisodeKey,
    canonical_order,
    parse_agents,
    parse_seeds,
    parse_tasks,
    read_records,
    write_canonical,
)
from mlopsdebug_cli.eval_report import render_markdown, render_tables, write_chart
from mlopsdebug_cli.eval_run import EvalOutcome, embedded_cluster, evaluate, plan, run_eval
from mlopsdebug_cli.eval_statistics import (
    ComparisonRow,
    SummaryRow,
    compare,
    mean_ci95,
    summarize,
    t_critical_95,
)

__all__ = [
    "TASK_ORDER",
    "ComparisonRow",
    "EpisodeKey",
    "EvalOutcome",
    "SummaryRow",
    "canonical_order",
    "compare",
    "embedded_cluster",
    "evaluate",
    "mean_ci95",
    "parse_agents",
    "parse_seeds",
    "parse_tasks",
    "plan",
    "read_records",
    "render_markdown",
    "render_tables",
    "run_eval",
    "summarize",
    "t_critical_95",
    "write_canonical",
    "write_chart",
]

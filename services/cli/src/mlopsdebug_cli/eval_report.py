"""`mlopsdebug eval`'s report: the summary and comparison tables (terminal and Markdown) and the chart."""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from rich.table import Table

from mlopsdebug_agents.runner import SUCCESS_THRESHOLD
from mlopsdebug_cli.eval_records import task_rank
from mlopsdebug_cli.eval_statistics import ComparisonRow, SummaryRow

__all__ = ["render_markdown", "render_tables", "write_chart"]


_COMPARISON_COLUMNS: Final = ("agent", "vs", "task", "pairs", "mean diff", "95% CI", "wins", "ties", "losses")


def _comparison_cells(row: ComparisonRow) -> list[str]:
    interval = "-" if row.ci_low is None or row.ci_high is None else f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}]"
    return [
        row.agent,
        row.versus,
        row.task,
        str(row.pairs),
        f"{row.mean_difference:+.3f}",
        interval,
        str(row.wins),
        str(row.ties),
        str(row.losses),
    ]


def _ci_text(row: SummaryRow) -> str:
    return "-" if row.ci_low is None or row.ci_high is None else f"[{row.ci_low:.3f}, {row.ci_high:.3f}]"


_COLUMNS: Final = ("n", "mean", "95% CI", "success", "steps", "trunc")


def _cells(row: SummaryRow) -> list[str]:
    return [
        str(row.episodes),
        f"{row.mean_score:.3f}",
        _ci_text(row),
        f"{row.success_rate:.1%}",
        f"{row.mean_steps:.1f}",
        str(row.truncated),
    ]


def render_tables(
    per_task: Sequence[SummaryRow], per_fault: Sequence[SummaryRow], comparisons: Sequence[ComparisonRow] = ()
) -> list[Table]:
    """Rich tables of the summary: per task (with an "all" row per agent), per fault when known, and
    the paired comparison when two or more agents played the same episodes."""
    tables = []
    table = Table(title="Scores per task", title_justify="left")
    for name in ("agent", "task", *_COLUMNS):
        table.add_column(name, justify="left" if name in ("agent", "task") else "right")
    for row in per_task:
        table.add_row(row.agent, row.task, *_cells(row), style="bold" if row.task == "all" else None)
    tables.append(table)
    if per_fault:
        table = Table(title="Scores per fault (answers revealed after grading)", title_justify="left")
        for name in ("agent", "task", "fault", *_COLUMNS):
            table.add_column(name, justify="left" if name in ("agent", "task", "fault") else "right")
        for row in per_fault:
            table.add_row(row.agent, row.task, row.fault or "", *_cells(row))
        tables.append(table)
    if comparisons:
        table = Table(title="Paired comparison (the same tasks and seeds)", title_justify="left")
        for name in _COMPARISON_COLUMNS:
            table.add_column(name, justify="left" if name in ("agent", "vs", "task") else "right")
        for comparison in comparisons:
            table.add_row(*_comparison_cells(comparison), style="bold" if comparison.task == "all" else None)
        tables.append(table)
    return tables


def render_markdown(
    per_task: Sequence[SummaryRow], per_fault: Sequence[SummaryRow], comparisons: Sequence[ComparisonRow] = ()
) -> str:
    """The same summary as GitHub-flavoured Markdown tables."""

    def table(heads: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
        aligns = [":--" if h in ("agent", "vs", "task", "fault") else "--:" for h in heads]
        lines = ["| " + " | ".join(heads) + " |", "| " + " | ".join(aligns) + " |"]
        lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
        return lines

    out = ["### Scores per task", ""]
    out += table(("agent", "task", *_COLUMNS), ([r.agent, r.task, *_cells(r)] for r in per_task))
    if per_fault:
        out += ["", "### Scores per fault", ""]
        out += table(
            ("agent", "task", "fault", *_COLUMNS), ([r.agent, r.task, r.fault or "", *_cells(r)] for r in per_fault)
        )
    if comparisons:
        out += ["", "### Paired comparison", ""]
        out += table(_COMPARISON_COLUMNS, (_comparison_cells(r) for r in comparisons))
    out += [
        "",
        f"n: episodes; mean: mean score with its 95% Student t confidence interval (clipped to [0, 1]); success:"
        f" share of episodes with score >= {SUCCESS_THRESHOLD}; steps: mean steps per episode; trunc: episodes that"
        " ended without a graded diagnosis.",
    ]
    if comparisons:
        out.append(
            "Paired comparison: on each (task, seed) both agents played, `agent`'s score minus `vs`'s (`agent` leads"
            " overall); mean diff with its 95% t interval over those pairs; wins/ties/losses count the pairs."
        )
    return "\n".join(out) + "\n"


def write_chart(records: Iterable[Mapping[str, Any]], path: pathlib.Path) -> None:
    """A PNG of score distributions: one box (with the episodes as dots) per task and agent."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError as exc:
        raise RuntimeError("--chart needs matplotlib: pip install 'mlops-debug-env[plots]'") from exc
    import numpy as np  # noqa: PLC0415

    scores: dict[tuple[str, str], list[float]] = {}
    for r in records:
        scores.setdefault((str(r["agent"]), str(r["task"])), []).append(float(r["score"]))
    agents = sorted({a for a, _ in scores})
    tasks = sorted({t for _, t in scores}, key=task_rank)
    width = 0.8 / max(1, len(agents))
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(tasks) * max(1, len(agents)) ** 0.5), 4.5), dpi=120)
    colors = plt.get_cmap("tab10")
    rng = np.random.default_rng(0)  # jitter only; fixed so the picture is reproducible
    for i, agent in enumerate(agents):
        positions, data = [], []
        for j, task in enumerate(tasks):
            if (agent, task) in scores:
                positions.append(j + (i - (len(agents) - 1) / 2) * width)
                data.append(scores[(agent, task)])
        if not data:
            continue
        parts = ax.boxplot(data, positions=positions, widths=width * 0.8, patch_artist=True, showfliers=False)
        for box in parts["boxes"]:
            box.set(facecolor=colors(i), alpha=0.35)
        for pos, values in zip(positions, data, strict=True):
            ax.scatter(pos + rng.uniform(-width * 0.3, width * 0.3, len(values)), values, s=8, color=colors(i), alpha=0.7)
        ax.plot([], [], color=colors(i), linewidth=8, alpha=0.5, label=agent)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Score distribution per task and agent")
    ax.axhline(SUCCESS_THRESHOLD, color="grey", linestyle=":", linewidth=1)
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)

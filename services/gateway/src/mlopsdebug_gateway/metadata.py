"""What GET /metadata says about the environment, written from the task catalog so it cannot go stale."""

from __future__ import annotations

import importlib.metadata
from typing import Any, Final

from mlopsdebug_common.tasks import TASK_ORDER, TASKS
from mlopsdebug_gateway.models import ACTION_TYPES

NAME: Final[str] = "mlops-debug-env"
DESCRIPTION: Final[str] = (
    "MLOps Pipeline Debugger: the agent investigates a broken ML training run (config, logs, dataset stats, "
    "preprocessing code, eval results, model card, sanity checks) and submits a structured diagnosis of the "
    "planted fault, graded on category, file, field and fix."
)


def package_version() -> str:
    try:
        return importlib.metadata.version("mlops-debug-env")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def readme() -> str:
    """A short Markdown guide: tasks, actions, rewards, and how to connect."""
    lines = [
        f"# {NAME}",
        "",
        DESCRIPTION,
        "",
        "## Tasks",
        "",
        "| task_id | name | max_steps |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t} | {TASKS[t].name} | {TASKS[t].max_steps} |" for t in TASK_ORDER]
    lines += [
        "",
        "## Actions",
        "",
        "`action_type` is one of: " + ", ".join(f"`{a}`" for a in ACTION_TYPES) + ". See GET /schema.",
        "",
        "## Rewards",
        "",
        "+0.02 for the first read of an artifact, -0.02 for an identical repeated read, +0.01 for the first run "
        "of each sanity check, 0 otherwise. A submission earns its grade in [0, 1]: 0.15 category + 0.25 file + "
        "0.30 field + 0.30 fix (hard task: score = max(0, 1 - 1.5 x missed)). Running out of steps ends the "
        "episode with reward 0.",
        "",
        "## Connecting",
        "",
        "- WebSocket `/ws`: the OpenEnv protocol; one episode session per connection. Reset kwargs: "
        "`task_id`, `seed`, `episode_id`.",
        "- HTTP: `POST /reset` returns an `episode_id`; pass it to `POST /step` and `GET /state?episode_id=`.",
        "- MCP: `POST /mcp` or WebSocket `/mcp`, one tool per action plus `reset`.",
    ]
    return "\n".join(lines) + "\n"


def metadata() -> dict[str, Any]:
    return {
        "name": NAME,
        "description": DESCRIPTION,
        "readme_content": readme(),
        "version": package_version(),
        "author": None,
        "documentation_url": None,
    }

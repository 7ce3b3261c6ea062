"""The [START] / [STEP] / [END] lines of the OpenEnv inference format, one episode at a time.

    [START] task=easy env=mlops-debug-env model=heuristic
    [STEP] step=1 action=read_config() reward=0.02 done=false error=null
    [END] success=true steps=6 score=0.950 rewards=0.02,0.01,0.95

Every line is a single line: action arguments and error messages have their line breaks removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client.actions import ActionLike, as_action, to_dict

__all__ = ["ENV_NAME", "action_str", "end_line", "start_line", "step_line"]

ENV_NAME: Final[str] = "mlops-debug-env"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _quote(text: str) -> str:
    return "'" + _one_line(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def action_str(action: ActionLike | Mapping[str, Any]) -> str:
    """A compact, single-line call-like spelling of an action, e.g. `run_sanity_check('data_leakage')`."""
    try:
        d = to_dict(action if isinstance(action, common_pb2.Action) else as_action(action))
    except (ValueError, TypeError):
        return _one_line(repr(action))
    kind = d["action_type"]
    if kind == "read_logs":
        return f"read_logs({_quote(d['log_filter'])})" if d["log_filter"] else "read_logs()"
    if kind == "run_sanity_check":
        return f"run_sanity_check({_quote(d['sanity_check_type'] or '')})"
    if kind == "query_artifact":
        return f"query_artifact({_quote(d['artifact_name'] or '')},{_quote(d['field_path'])})"
    if kind == "submit_diagnosis":
        parts = [
            f"category={_quote(d['failure_category'] or '')}",
            f"file={_quote(d['root_cause_file'])}",
            f"field={_quote(d['root_cause_field'])}",
            f"fix={_quote(d['proposed_fix'][:160])}",
        ]
        return f"submit_diagnosis({','.join(parts)})"
    return f"{kind}()"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def start_line(task_id: str, model: str, env: str = ENV_NAME) -> str:
    """`[START] task=<task> env=<env> model=<model>`."""
    return f"[START] task={task_id} env={env} model={_one_line(model)}"


def step_line(step: int, action: str, reward: float, done: bool, error: str | None) -> str:
    """`[STEP] step=<n> action=<action> reward=<0.00> done=<true|false> error=<msg|null>`."""
    shown_error = "null" if error is None else _one_line(error)
    return f"[STEP] step={step} action={action} reward={reward:.2f} done={_bool(done)} error={shown_error}"


def end_line(success: bool, steps: int, score: float, rewards: Iterable[float]) -> str:
    """`[END] success=<true|false> steps=<n> score=<0.000> rewards=<r1,r2,...>`."""
    joined = ",".join(f"{r:.2f}" for r in rewards)
    return f"[END] success={_bool(success)} steps={steps} score={score:.3f} rewards={joined}"

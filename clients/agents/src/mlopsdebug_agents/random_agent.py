"""The floor: uniformly random valid actions, then a random diagnosis.

What any score must beat. The agent draws from the public action space only (the eight sanity
checks, the six artifacts, the six categories) and names as the root-cause field a key it happened
to see, so a lucky guess is possible but rare. Its generator is seeded from the episode seed: the
same episode is played the same way in every run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import numpy as np

from mlopsdebug_agents.base import Agent
from mlopsdebug_client.vocabulary import ACTION_TYPES, ARTIFACTS, CATEGORIES, SANITY_CHECKS
from mlopsdebug_client.vocabulary import STRUCTURED_ARTIFACTS as STRUCTURED

__all__ = ["RandomAgent"]

# Every action but the submission.
_INVESTIGATIONS: Final[tuple[str, ...]] = tuple(a for a in ACTION_TYPES if a != "submit_diagnosis")
_LOG_FILTERS: Final[tuple[str, ...]] = ("", "epoch:1-2", "epoch:1", "warning", "loss", "error")
# Seeds the agent's generator apart from any other consumer of the same episode seed.
_STREAM: Final[int] = 0x52414E44


class RandomAgent(Agent):
    """Takes a random number of random investigation steps, then submits a random diagnosis."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(seed)
        self._rng = np.random.default_rng(np.random.SeedSequence([_STREAM, seed]))
        self._budget: int | None = None
        self._seen_keys: list[str] = []

    def _pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self._rng.integers(len(options)))]

    def _remember_keys(self, observation: Mapping[str, Any]) -> None:
        result = observation.get("last_action_result") or {}
        if result.get("type") != "field":
            return
        if result.get("found"):
            self._seen_keys.append(result["field_path"])
        for key in result.get("available_keys") or ():
            self._seen_keys.append(f"{result['field_path'].rpartition('.')[0]}.{key}".lstrip("."))

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """A random valid action, or the random diagnosis once its drawn budget is spent."""
        if self._budget is None:
            # Investigate for 0 .. max_steps - 1 steps, uniformly, so the submission always fits.
            self._budget = int(self._rng.integers(observation["max_steps"]))
        self._remember_keys(observation)
        if observation["step_count"] >= self._budget:
            return self._diagnosis()
        kind = self._pick(_INVESTIGATIONS)
        if kind == "read_logs":
            return {"action_type": kind, "log_filter": self._pick(_LOG_FILTERS)}
        if kind == "run_sanity_check":
            return {"action_type": kind, "sanity_check_type": self._pick(SANITY_CHECKS)}
        if kind == "query_artifact":
            # A key that is absent is not an error: the answer lists the keys that are there.
            path = self._pick(self._seen_keys) if self._seen_keys and self._rng.random() < 0.5 else "_"
            return {"action_type": kind, "artifact_name": self._pick(STRUCTURED), "field_path": path}
        return {"action_type": kind}

    def _diagnosis(self) -> dict[str, Any]:
        field = self._pick(self._seen_keys) if self._seen_keys else self._pick(ARTIFACTS).partition(".")[0]
        value = json.dumps(round(float(self._rng.random()), 3))
        return {
            "action_type": "submit_diagnosis",
            "failure_category": self._pick(CATEGORIES),
            "root_cause_file": self._pick(ARTIFACTS),
            "root_cause_field": field,
            "diagnosis": f"{field} looks wrong.",
            "proposed_fix": f"Set {field} to {value}.",
        }

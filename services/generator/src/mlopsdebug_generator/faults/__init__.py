"""Fault plugins: one module per fault, registered in `registry.REGISTRY` when this package is imported.

Adding a fault: a spec in mlopsdebug_common.faults, a module here (see base.Fault for the hooks), a fix
rule in mlopsdebug_grader.fix_rules, the heuristic agent's reasoning and paraphrases (docs/adding-a-fault.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from mlopsdebug_generator.faults.base import Fault
from mlopsdebug_generator.faults.registry import REGISTRY, get, register


def _load_plugins() -> None:
    """Import every fault module of this package, in name order, so each registers itself."""
    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module not in ("base", "registry"):
            importlib.import_module(f"{__name__}.{module}")


_load_plugins()

__all__ = ["REGISTRY", "Fault", "get", "register"]

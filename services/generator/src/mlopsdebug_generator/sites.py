"""Where a fault sits in preprocessing.py: the identifiers an answer may name, per code style.

The renderers in pipeline_code decide the identifiers (drawn per world); a fault plugin picks which of
them is the root cause. Keeping the shared shapes here lets plugins name sites without importing the
renderers.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True)
class CodeLocation:
    field: str
    aliases: tuple[str, ...]


def split_call(ctx: Any) -> str:
    """The library call that carves the validation split in this code style."""
    if ctx.world.code_style == "torch_vision":
        return "randperm"
    if ctx.world.code_style in ("sklearn_functions", "sklearn_pipeline") and ctx.group_split:
        return "GroupShuffleSplit"
    return "train_test_split"


def split_location(ctx: Any) -> CodeLocation:
    n = ctx.n
    call = split_call(ctx)
    if ctx.mechanism == "double_split":
        return CodeLocation(n["split_fn"], (n["val_var"], n["builder"], call))
    return CodeLocation(n["split_fn"], (call, n["builder"]))


def ratio_location(ctx: Any) -> CodeLocation:
    n = ctx.n
    param = n["torch_frac_param"] if ctx.world.code_style == "torch_vision" else "test_size"
    aliases = [n["split_fn"]]
    const = ctx.fraction_const_name()
    if const:
        aliases.append(const)
    if param != "test_size":
        aliases.append("test_size")
    return CodeLocation(param, tuple(aliases))


def label_location(ctx: Any) -> CodeLocation:
    return CodeLocation(ctx.n["label_var"], (ctx.n["label_fn"],))


def swap_location(ctx: Any) -> CodeLocation:
    n = ctx.n
    if ctx.swap_site == "call":
        return CodeLocation(n["writer"], (n["runner"],))
    return CodeLocation(n["writer"], ())

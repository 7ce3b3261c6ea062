"""Small draws from seeded streams, shared by the world model and the fault plugins."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def pick(rng: np.random.Generator, options: Sequence[T]) -> T:
    """A uniform choice; rng.random() is several times cheaper than rng.integers() for one scalar."""
    return options[int(rng.random() * len(options))]


def uniform_int(rng: np.random.Generator, low: int, high: int) -> int:
    """A uniform integer in [low, high)."""
    return low + int(rng.random() * (high - low))


def nice_round(x: float, digits: int = 2) -> float:
    """Round to `digits` significant figures (learning rates, weight decays)."""
    if x == 0:
        return 0.0
    return float(f"{x:.{digits - 1}e}")


def appearance_order(classes: tuple[str, ...], weights: np.ndarray, rng: np.random.Generator) -> tuple[str, ...]:
    """Order of first appearance in a shuffled table: frequent classes tend to show up first."""
    keys = rng.exponential(1.0, len(classes)) / np.maximum(weights, 1e-9)
    return tuple(classes[i] for i in np.argsort(keys, kind="stable"))

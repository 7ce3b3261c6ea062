"""Evaluation of a simulated model: confusion matrices and the metrics derived from them.

Every reported number (accuracy, macro F1, per-class precision/recall, predicted counts) is computed
from one integer confusion matrix per split, so they agree with each other the way a real
classification report does.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True, slots=True)
class SplitScores:
    n_samples: int
    loss: float | None  # None when the evaluated weights were non-finite
    accuracy: float
    macro_f1: float
    precision: tuple[float, ...]  # per class, in the evaluation's class order
    recall: tuple[float, ...]
    f1: tuple[float, ...]
    support: tuple[int, ...]
    predicted: tuple[int, ...]

    def primary(self, metric: str) -> float:
        return self.accuracy if metric == "accuracy" else self.macro_f1


def confusion(
    rng: np.random.Generator,
    support: np.ndarray,
    accuracy: float,
    *,
    collapse: float = 0.0,
    dominant: int = 0,
) -> np.ndarray:
    """A K x K confusion matrix (rows true, columns predicted) whose accuracy is close to `accuracy`.

    Rare classes get lower recall than frequent ones; `collapse` in [0, 1] pushes predictions
    towards the `dominant` class, as an undertrained model does. Errors are spread over the other
    classes with random affinities and randomised rounding (each row keeps its exact support).
    """
    k = support.size
    if k == 1:
        return support.reshape(1, 1).copy()
    share = support / max(1, int(support.sum()))
    log_share = np.log(np.maximum(share, 1e-6))
    spread = 0.35 * (1.0 - accuracy)
    draws = rng.random(k * k + 2 * k)
    noise = (draws[:k] - 0.5) * 0.6 * spread * 1.7  # uniform with about the normal's spread
    recall = accuracy + spread * (log_share - log_share.sum() / k) + noise  # sum / k: mean()'s value, unwrapped
    for _ in range(2):
        recall = np.minimum(np.maximum(recall + (accuracy - float(recall @ share)), 0.01), 0.998)
    if collapse > 0.0:
        recall[dominant] += collapse * (1.0 - recall[dominant])
        others = np.arange(k) != dominant
        budget = accuracy - share[dominant] * recall[dominant]
        current = float(recall[others] @ share[others])
        if current > 0:
            recall[others] = np.minimum(recall[others] * max(0.0, budget) / current, 0.998)
    diag = np.minimum(np.rint(support * recall).astype(np.int64), support)
    wrong = support - diag
    # Affinities: exponential(1) from the uniforms (cheaper than gamma), floored so no class is empty.
    weights = -np.log1p(-draws[k:k + k * k].reshape(k, k)) + 0.15
    if collapse > 0.0:
        weights[:, dominant] += collapse * 6.0 * weights.sum(axis=1) / k
    weights.flat[:: k + 1] = 0.0  # what np.fill_diagonal does for a square matrix
    expected = np.cumsum(weights * (wrong / weights.sum(axis=1))[:, None], axis=1)
    expected[:, -1] = wrong  # exact row totals despite float error
    bounds = np.floor(expected + draws[k + k * k:k + k * k + k, None]).astype(np.int64)
    bounds[:, -1] = wrong
    matrix = bounds.copy()
    matrix[:, 1:] -= bounds[:, :-1]
    matrix[np.arange(k), np.arange(k)] += diag
    return matrix


def nan_predictions(support: np.ndarray) -> np.ndarray:
    """Non-finite logits: argmax returns index 0 for every sample."""
    matrix = np.zeros((support.size, support.size), dtype=np.int64)
    matrix[:, 0] = support
    return matrix


def _round4(values: np.ndarray) -> tuple[float, ...]:
    return tuple(values.round(4).tolist())


def scores(matrix: np.ndarray, loss: float | None) -> SplitScores:
    """Classification-report numbers of one confusion matrix (zero_division=0, as sklearn's option)."""
    tp = matrix.diagonal().astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = tp / np.maximum(predicted, 1)
    recall = tp / np.maximum(support, 1)
    denom = precision + recall
    f1 = 2.0 * precision * recall / np.maximum(denom, 1e-300)
    n = int(support.sum())
    return SplitScores(
        n_samples=n,
        loss=None if loss is None else round(loss, 4),
        accuracy=round(float(tp.sum()) / max(1, n), 4),
        macro_f1=round(float(f1.sum()) / f1.size, 4),  # mean()'s value without its wrapper
        precision=_round4(precision),
        recall=_round4(recall),
        f1=_round4(f1),
        support=tuple(support.tolist()),
        predicted=tuple(predicted.tolist()),
    )


def primary(matrix: np.ndarray, metric: str) -> float:
    """Just the headline metric of a confusion matrix, rounded as scores() reports it."""
    tp = matrix.diagonal().astype(np.float64)
    if metric == "accuracy":
        return round(float(tp.sum()) / max(1, int(matrix.sum())), 4)
    precision = tp / np.maximum(matrix.sum(axis=0), 1)
    recall = tp / np.maximum(matrix.sum(axis=1), 1)
    return round(float((2.0 * precision * recall / np.maximum(precision + recall, 1e-300)).mean()), 4)


def relabel_rows(matrix: np.ndarray, train_order: tuple[str, ...], eval_order: tuple[str, ...]) -> np.ndarray:
    """The matrix an evaluation sees when it encodes true labels with its own class order.

    The model's output index i still means train_order[i]; a true label named n is encoded as
    eval_order.index(n), so row n of the true matrix moves to that row.
    """
    out = np.empty_like(matrix)
    for i, name in enumerate(train_order):
        out[eval_order.index(name)] = matrix[i]
    return out

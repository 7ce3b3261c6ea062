"""Matching the diagnosis's file and field against the answer key: exact after normalising, never substring.

Normalising removes only differences of notation (case, quotes, brackets vs dots, a trailing "()", a leading
"./" or path prefix), so `config["optimizer"]["lr"]` equals `optimizer.lr` but `optimizer.lr, momentum`
equals nothing: an answer naming several candidates earns no credit.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterable

from mlopsdebug_common.faults import ARTIFACT_FILES

_QUOTES = "\"'`"
_ARTIFACT_PREFIX = re.compile(
    r"^(?:" + "|".join(re.escape(f) for f in ARTIFACT_FILES) + r")\s*(?:::|:|#|>|/|\.|\s)\s*(?=\S)"
)
_BRACKET_KEY = re.compile(r"\[\s*[\"'`]?([^\]\"'`]*?)[\"'`]?\s*\]")
_TRAILING_CALL = re.compile(r"\(\s*\)$")
# What separates candidates in an answer like "lr, momentum" or "lr or momentum".
_CANDIDATE_SEPARATOR = re.compile(r"[,;|&+/\n]|\s+(?:or|and|vs|and/or)\s+")
_LINE_REFERENCE = re.compile(r"(?::\d+(?::\d+)?|#l\d+(?:-l?\d+)?)$")


@dataclasses.dataclass(frozen=True, slots=True)
class Match:
    credit: float
    outcome: str  # "match" | "mismatch" | "empty" | "several"


def _base(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    previous = None
    while previous != text:
        previous = text
        text = text.strip().strip(_QUOTES).strip()
    return text


def normalise_field(text: str) -> str:
    """`Config["optimizer"]['lr']`, `"optimizer.lr"`, `optimizer.lr()` and `OPTIMIZER.LR` all give `optimizer.lr`.

    Also: a leading artifact name (`config.yaml:optimizer.lr`), spaces or hyphens inside a name
    (`learning rate` = `learning_rate`), and stray dots at either end.
    """
    text = _base(text)
    text = _ARTIFACT_PREFIX.sub("", text)
    text = _BRACKET_KEY.sub(lambda m: "." + m.group(1).strip(), text)
    for quote in _QUOTES:
        text = text.replace(quote, "")
    text = _TRAILING_CALL.sub("", text.strip())
    text = re.sub(r"\s*\.\s*", ".", text)
    text = re.sub(r"[\s-]+", "_", text.strip())
    text = re.sub(r"\.{2,}", ".", text).strip(".")
    return text


def _names_several(raw: str) -> bool:
    parts = [p for p in _CANDIDATE_SEPARATOR.split(_base(raw)) if p.strip(" .,;" + _QUOTES)]
    return len(parts) >= 2


def match_field(answer: str, canonical: str, aliases: Iterable[str]) -> Match:
    """Full credit iff the normalised answer equals the normalised canonical name or one of its aliases."""
    if not answer.strip():
        return Match(0.0, "empty")
    accepted = {normalise_field(name) for name in (canonical, *aliases) if name.strip()}
    if normalise_field(answer) in accepted:
        return Match(1.0, "match")
    if _names_several(answer):
        return Match(0.0, "several")
    return Match(0.0, "mismatch")


def normalise_file(text: str) -> str:
    """`./Config.yaml`, `/runs/42/config.yaml`, `artifacts\\config.yaml` and `config.yaml:12` all give `config.yaml`.

    A path prefix is dropped only if it is a plain path: no spaces or commas, and no artifact name of its own
    (so `config.yaml/preprocessing.py` names two files and matches neither).
    """
    text = _base(text).replace("\\", "/")
    text = _LINE_REFERENCE.sub("", text)
    if re.search(r"[\s,;|&+]", text):
        return text
    parts = [p for p in text.split("/") if p and p != "."]
    if not parts:
        return ""
    if any(p in ARTIFACT_FILES for p in parts[:-1]):
        return text
    return parts[-1]


def match_file(answer: str, expected: str) -> Match:
    if not answer.strip():
        return Match(0.0, "empty")
    if normalise_file(answer) == normalise_file(expected):
        return Match(1.0, "match")
    named = [f for f in ARTIFACT_FILES if f in _base(answer)]
    if len(named) >= 2:
        return Match(0.0, "several")
    return Match(0.0, "mismatch")

"""Seed streams, opaque identifiers and simulated clocks.

Everything here is a pure function of (task, seed, generator version, salt): never Python's `hash()`
(randomised per process), never the wall clock, never global random state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

import numpy as np

_SALT_DOMAIN = b"mlopsdebug/generator/salt/v1"
_ID_DOMAIN = b"mlopsdebug/generator/id/v1"


def version_number(version: str) -> int:
    """"2.0.0" -> 2_000_000: an integer that enters the seed entropy, so a new version reshuffles worlds."""
    major, minor, patch = (int(part) for part in version.split("."))
    return major * 1_000_000 + minor * 1_000 + patch


def salt_number(salt: bytes) -> int:
    """A stable 128-bit integer for the deployment salt (the empty salt included)."""
    return int.from_bytes(hashlib.sha256(_SALT_DOMAIN + salt).digest()[:16], "big")


def entropy_words(values: Sequence[int]) -> np.ndarray:
    """The uint32 words SeedSequence assembles from a list of non-negative ints (each little-endian, 0 as
    one word): given as the entropy, the same pool and streams as the list, without numpy re-deriving
    them from Python ints for the root and again for every child (most of a SeedSequence's cost)."""
    words: list[int] = []
    for value in values:
        if value < 0:
            raise ValueError("entropy values must be non-negative")
        words.append(value & 0xFFFFFFFF)
        value >>= 32
        while value:
            words.append(value & 0xFFFFFFFF)
            value >>= 32
    return np.array(words, dtype=np.uint32)


class _Sequence(np.random.SeedSequence):
    """numpy's SeedSequence without the errstate(over="ignore") context numpy enters around every
    generate_state call (a third of seeding a PCG64): its arithmetic is typed uint32 Cython, which no
    numpy error state reaches, so the words are the same."""

    if hasattr(np.random.SeedSequence.generate_state, "__wrapped__"):
        generate_state = np.random.SeedSequence.generate_state.__wrapped__


def root_sequence(task_index: int, seed: int, salt: bytes, version: str) -> np.random.SeedSequence:
    """The entropy is [seed, salt, task index, version] as SeedSequence reads that list (entropy_words)."""
    return _Sequence(
        entropy=entropy_words((int(seed), salt_number(salt), task_index, version_number(version)))
    )


def child_sequence(root: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """root.spawn(n)[index] without building the other children (same entropy, spawn key, pool size)."""
    return type(root)(root.entropy, spawn_key=(*root.spawn_key, index), pool_size=root.pool_size)


def _keyed_digest(kind: str, task_id: str, seed: int, salt: bytes, version: str) -> str:
    """HMAC keyed by the salt: without the salt, ids cannot be mapped back to (task, seed)."""
    message = b"|".join((_ID_DOMAIN, kind.encode(), task_id.encode(), str(seed).encode(), version.encode()))
    return hmac.new(salt, message, hashlib.sha256).hexdigest()


def scenario_id(task_id: str, seed: int, salt: bytes, version: str) -> str:
    return "scn-" + _keyed_digest("scenario", task_id, seed, salt, version)[:24]


def run_suffix(task_id: str, seed: int, salt: bytes, version: str) -> str:
    """The 8 hex digits that follow the date in a run id ("run-20260314-7f3a9c2e")."""
    return _keyed_digest("run", task_id, seed, salt, version)[:8]


def short_hex(rng: np.random.Generator, digits: int) -> str:
    """Hex digits drawn from a seeded stream (commit hashes, host ids)."""
    return format(int(rng.random() * 16**digits), f"0{digits}x")


# Simulated runs start between 2025-01-06 and mid 2026, during plausible working hours.
_EPOCH_START = dt.datetime(2025, 1, 6, tzinfo=dt.UTC)


def draw_start_time(rng: np.random.Generator) -> dt.datetime:
    day = int(rng.random() * 540)
    seconds = 6 * 3600 + int(rng.random() * 16 * 3600) + int(rng.random() * 1000) / 1000.0
    return _EPOCH_START + dt.timedelta(days=day, seconds=seconds)


def iso_utc(moment: dt.datetime) -> str:
    """ISO 8601 UTC with second precision, e.g. 2025-06-14T09:12:03Z (strftime's text, formatted directly:
    a dozen stamps per scenario)."""
    if moment.year < 1000:  # strftime's %Y does not pad: keep its spelling
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"{moment.year}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )

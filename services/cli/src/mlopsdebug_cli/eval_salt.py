"""The salt of an evaluation that `mlopsdebug eval` runs on its own cluster: secret while the run
goes, published once every episode is graded.

The salt decides which scenario each public (task, seed) yields, so whoever knows it can compute every
answer offline. A run therefore draws a fresh one and keeps it in a private sidecar file next to the
output (`<output>.salt.json`, mode 0600), so that rerunning the same command resumes with the same
salt. When every planned episode has its record, the sidecar is published (mode 0644, `complete`)
and the salt printed: anyone can then reproduce the finished run with `--salt`, and nobody could
precompute it while it ran. `--salt S` chooses the salt, `--public` runs unsalted (reproducible by
anyone from the start). Against an external cluster (`--address`) eval does not know the salt.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import secrets
from typing import Any

PRIVATE_MODE = 0o600
PUBLISHED_MODE = 0o644


@dataclasses.dataclass(frozen=True, slots=True)
class RunSalt:
    """One evaluation's salt and where it is kept; `salt` is empty only for a public run."""

    salt: str
    public: bool
    path: pathlib.Path
    # Already published by an earlier, complete run of the same output (then extended with new episodes).
    was_published: bool = False

    def to_json(self, *, complete: bool) -> dict[str, Any]:
        record: dict[str, Any] = {"salt": self.salt, "public": self.public, "complete": complete}
        if complete:
            record["reproduce"] = (
                "mlopsdebug eval --public" if self.public else f"mlopsdebug eval --salt {self.salt}"
            ) + " with the same --agent, --tasks and --seeds"
        return record


class SaltError(ValueError):
    """The output cannot be resumed with the salt asked for."""


def sidecar_path(output: pathlib.Path) -> pathlib.Path:
    return output.with_name(output.name + ".salt.json")


def _write(path: pathlib.Path, record: dict[str, Any], mode: int) -> None:
    """Writes atomically; the file never exists with a looser mode than `mode`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _read(path: pathlib.Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SaltError(f"{path} is unreadable ({exc}); restore it, or start over with --fresh") from None
    if not isinstance(record, dict) or not isinstance(record.get("salt"), str):
        raise SaltError(f"{path} holds no salt; restore it, or start over with --fresh")
    return record


def for_run(
    output: pathlib.Path, *, salt: str | None, public: bool, has_records: bool, fresh: bool = False
) -> RunSalt:
    """The salt the run on `output` uses, kept private in its sidecar before any episode starts.

    Resuming reuses the sidecar's salt; a different `--salt` (or `--public`) for the same output is
    refused, since one file must not mix scenarios of two salts.
    """
    if salt == "" and not public:
        raise SaltError("an empty --salt is a public run: pass --public instead")
    if salt and public:
        raise SaltError("pass either --salt or --public, not both")
    path = sidecar_path(output)
    if fresh:
        path.unlink(missing_ok=True)
    stored = _read(path)
    if stored is not None:
        kept = RunSalt(
            salt=stored["salt"],
            public=bool(stored.get("public")),
            path=path,
            was_published=bool(stored.get("complete")),
        )
        if (salt is not None and salt != kept.salt) or (public and not kept.public):
            raise SaltError(
                f"{output} was started with another salt (kept in {path}); resume without --salt/--public,"
                " or use --fresh or another --output"
            )
        _write(path, kept.to_json(complete=False), PRIVATE_MODE)
        return kept
    if has_records and salt is None and not public:
        raise SaltError(
            f"{output} holds episodes but no {path.name}, so their salt is unknown; pass the salt they were"
            " played with (--salt), or start over with --fresh"
        )
    run = RunSalt(salt="" if public else (salt or secrets.token_hex(16)), public=public, path=path)
    _write(path, run.to_json(complete=False), PRIVATE_MODE)
    return run


def publish(run: RunSalt) -> None:
    """Every planned episode is graded: the salt may be known to anyone now."""
    _write(run.path, run.to_json(complete=True), PUBLISHED_MODE)


def prepare(
    output: pathlib.Path,
    *,
    address: str | None,
    salt: str | None,
    public: bool,
    has_records: bool,
    pending: bool = True,
    fresh: bool = False,
) -> RunSalt | None:
    """The run's salt before it starts, or None: against an external cluster (`address`), whose salt
    eval does not know (a salt passed with it is refused), and when nothing is left to play and no
    salt was recorded (a file from before salts were recorded)."""
    path = sidecar_path(output)
    if address is None:
        if not pending and not fresh and salt is None and not public:
            stored = _read(path)
            if stored is None:
                return None
            return RunSalt(stored["salt"], bool(stored.get("public")), path, bool(stored.get("complete")))
        return for_run(output, salt=salt, public=public, has_records=has_records, fresh=fresh)
    if salt is not None or public:
        raise SaltError("--salt and --public choose the salt of the cluster eval starts; --address has its own")
    if fresh:
        path.unlink(missing_ok=True)
    elif has_records and pending and path.exists():
        raise SaltError(
            f"{output} was played on eval's own cluster with the salt in {path.name}; resume it without"
            " --address, or use --fresh or another --output"
        )
    return None


def finish(run: RunSalt | None, *, complete: bool, address: str | None) -> str:
    """Publishes the salt of a complete run; returns the line that tells the user where the salt is."""
    if run is None:
        if address is None:
            return "salt: not recorded for these episodes"
        return (
            f"salt: unknown to eval (the cluster at {address} has its own); reproducing this run needs that"
            " cluster's salt"
        )
    if not complete:
        return f"salt: kept private in {run.path} until every episode is graded; rerun the same command to finish"
    publish(run)
    if run.public:
        return f"salt: none (--public); anyone can reproduce this run ({run.path})"
    note = " (it was already public: the episodes added since could have been precomputed)" if run.was_published else ""
    return f"salt: {run.salt}, published in {run.path}; --salt {run.salt} reproduces this run{note}"

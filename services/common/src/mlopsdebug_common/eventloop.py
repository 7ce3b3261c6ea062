"""The event loop every process runs on: uvloop where it is installed, otherwise asyncio's own.

uvloop is a measured win for gRPC on this machine (bench/bench_episode.py's echo rows, 2 cores): the
empty echo server spends about 80 µs of CPU per stream message on uvloop against 110 µs on asyncio's
loop, and about 310 µs per unary call against 400 µs. `MLOPSDEBUG_EVENT_LOOP=asyncio` opts out, e.g.
to rule the loop out while debugging; nothing else depends on which loop runs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

try:
    import uvloop
except ImportError:  # not built for every platform (no Windows wheels); asyncio's loop then serves
    uvloop = None

T = TypeVar("T")
LOOPS = ("uvloop", "asyncio")


def chosen_loop(environ: dict[str, str] | None = None) -> str:
    """The loop MLOPSDEBUG_EVENT_LOOP asks for (default uvloop), falling back to asyncio without uvloop."""
    env = os.environ if environ is None else environ
    wanted = env.get("MLOPSDEBUG_EVENT_LOOP", "").strip().lower() or "uvloop"
    if wanted not in LOOPS:
        raise ValueError(f"MLOPSDEBUG_EVENT_LOOP must be one of {', '.join(LOOPS)}, not {wanted!r}")
    return "uvloop" if wanted == "uvloop" and uvloop is not None else "asyncio"


def new_loop() -> asyncio.AbstractEventLoop:
    """A new loop of the chosen kind, for a server run on a thread of its own (the in-process cluster)."""
    return uvloop.new_event_loop() if uvloop is not None and chosen_loop() == "uvloop" else asyncio.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the chosen loop; a bad MLOPSDEBUG_EVENT_LOOP stops the process with its message."""
    try:
        loop = chosen_loop()
    except ValueError as exc:
        main.close()  # never awaited: close it so Python does not warn about it
        raise SystemExit(str(exc)) from None
    if loop == "uvloop" and uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)

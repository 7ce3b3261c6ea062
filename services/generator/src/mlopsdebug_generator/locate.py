"""Where a planted fault lives in the rendered artifacts: the answer key's file, field and params."""

from __future__ import annotations

from mlopsdebug_generator import faults
from mlopsdebug_generator.faults.base import Location
from mlopsdebug_generator.world import World

__all__ = ["Location", "locate"]


def locate(world: World) -> Location:
    """File, canonical field, aliases and fix parameters of the world's fault (its plugin decides)."""
    return faults.get(world.fault_id).locate(world)

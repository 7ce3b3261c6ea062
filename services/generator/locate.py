"""Where a planted fault lives in the rendered artifacts: the answer key's file, field and params."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator import render, render_config
from mlopsdebug_generator.world import World

_CONFIG_FIELDS = {"exploding_lr": "learning_rate", "wrong_optimizer": "momentum", "batch_size_overflow": "batch_size"}


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    file: str
    field: str
    aliases: tuple[str, ...]
    params: dict[str, object]


def locate(world: World) -> Location:
    """File, canonical field, aliases and fix parameters of the world's fault (planted or not)."""
    fault = world.fault_id
    params = {k: v for k, v in world.fault_params.items() if v is not None}
    if fault in _CONFIG_FIELDS:
        kind = _CONFIG_FIELDS[fault]
        path = render_config.FIELD_PATHS[kind][world.config_layout]
        aliases = tuple(a for a in render_config.FIELD_ALIASES[kind] if a != path)
        return Location("config.yaml", path, aliases, params)
    if not world.planted:
        raise ValueError("a healthy twin has no fault location in its code")
    _, location = render.code(world)
    if location is None:
        raise AssertionError(f"the {world.code_style} renderer did not place fault {fault}")
    return Location("preprocessing.py", location.field, location.aliases, {**params, "code_style": world.code_style})

"""The fault registry: one plugin per fault id, registered by its module (as Gymnasium registers envs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from mlopsdebug_common.faults import FAULTS

if TYPE_CHECKING:
    from mlopsdebug_generator.faults.base import Fault

REGISTRY: dict[str, Fault] = {}

F = TypeVar("F", bound="Fault")


def register(cls: type[F]) -> type[F]:
    """Class decorator: instantiate the plugin and register it under its fault id (once)."""
    fault_id = cls.fault_id
    if fault_id not in FAULTS:
        raise ValueError(f"fault {fault_id!r} has no spec in mlopsdebug_common.faults.FAULTS")
    if fault_id in REGISTRY:
        raise ValueError(f"fault {fault_id!r} is registered twice")
    REGISTRY[fault_id] = cls()
    return cls


def get(fault_id: str) -> Fault:
    try:
        return REGISTRY[fault_id]
    except KeyError:
        raise KeyError(f"no fault plugin registered for {fault_id!r}") from None

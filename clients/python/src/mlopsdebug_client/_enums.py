"""Short, seed-style names for the contract's enums, in both directions.

The wire uses prefixed enum values (`SANITY_CHECK_TYPE_LABEL_CONSISTENCY`); the original
specification and most agents use short lower-case names (`label_consistency`), and artifact
names are file names (`ARTIFACT_NAME_CONFIG_YAML` is `config.yaml`).
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import EnumDescriptor

from mlopsdebug.common.v1 import common_pb2

_ARTIFACT_ENUM = common_pb2.ArtifactName.DESCRIPTOR
# Short names by (enum full name, number), memoised: converting an observation names several.
_SHORT_NAMES: dict[tuple[str, int], str] = {}


def _prefix(enum: EnumDescriptor) -> str:
    """`ArtifactName` -> `ARTIFACT_NAME_`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def short_name(enum: EnumDescriptor, number: int) -> str | None:
    """The seed-style name of an enum value; None for the zero (`*_UNSPECIFIED`) value.

    Unknown numbers (a newer server) come back as their decimal text rather than failing.
    """
    if number == 0:
        return None
    key = (enum.full_name, number)
    short = _SHORT_NAMES.get(key)
    if short is not None:
        return short
    value = enum.values_by_number.get(number)
    if value is None:
        return str(number)  # not memoised: unknown numbers are unbounded
    short = value.name.removeprefix(_prefix(enum)).lower()
    if enum.full_name == _ARTIFACT_ENUM.full_name:
        stem, _, extension = short.rpartition("_")
        short = f"{stem}.{extension}"
    _SHORT_NAMES[key] = short
    return short


def short_names(enum: EnumDescriptor) -> list[str]:
    """Every accepted short name of an enum, in enum order (zero value excluded)."""
    return [name for v in enum.values if v.number != 0 and (name := short_name(enum, v.number)) is not None]


def parse(enum: EnumDescriptor, value: object, what: str) -> int:
    """The enum number for a short name, a full value name, or a number; ValueError otherwise.

    `what` names the argument in the error message, e.g. "sanity check type".
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a name or an enum value, not {value!r}")
    if isinstance(value, int):
        if value in enum.values_by_number and value != 0:
            return value
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(short_names(enum))}")
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {type(value).__name__}")
    text = value.strip()
    by_name = enum.values_by_name.get(text.upper())
    if by_name is not None and by_name.number != 0:
        return by_name.number
    for v in enum.values:
        if v.number != 0 and short_name(enum, v.number) == text.lower():
            return v.number
    raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(short_names(enum))}")

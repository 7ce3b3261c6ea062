"""The answer key: what the grader needs to score a diagnosis, serialised canonically for sealing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from mlopsdebug_common.errors import InvalidAnswerKey
from mlopsdebug_common.faults import ARTIFACT_FILES, CATEGORIES, FAULTS


class AnswerKeyError(InvalidAnswerKey):
    """The plaintext is not a valid answer key."""


@dataclasses.dataclass(frozen=True, slots=True)
class SealedKey:
    """An answer key as sealed by mlopsdebug_common.sealing, opaque to everyone but the grader. Defined
    here, not beside the cipher, so that code that only carries sealed keys (the domain, the gateway)
    needs no cryptography."""

    key_id: str
    nonce: bytes
    ciphertext: bytes
    scenario_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class AnswerKey:
    fault_id: str
    category: str
    file: str
    field: str
    # Other names of the same field that a correct answer may use (exact match after normalising).
    field_aliases: tuple[str, ...]
    # Fault-specific values for the fix rule (see FaultSpec.params); JSON scalars only.
    params: dict[str, Any]
    task_id: str
    seed: int
    scenario_id: str
    generator_version: str

    def __post_init__(self) -> None:
        spec = FAULTS.get(self.fault_id)
        if spec is None:
            raise AnswerKeyError(f"unknown fault id {self.fault_id!r}")
        if self.category not in CATEGORIES or self.category != spec.category:
            raise AnswerKeyError(f"category {self.category!r} does not match fault")
        if self.file not in ARTIFACT_FILES:
            raise AnswerKeyError(f"unknown file {self.file!r}")
        missing = set(spec.params) - set(self.params)
        if missing:
            raise AnswerKeyError(f"missing params {sorted(missing)}")

    def to_bytes(self) -> bytes:
        """Canonical JSON: sorted keys, no whitespace, so equal keys seal to equal plaintexts."""
        # A flat dict (params holds JSON scalars only): what dataclasses.asdict gave, without its deep copy.
        doc = {name: getattr(self, name) for name in _ANSWER_KEY_FIELDS}
        doc["field_aliases"] = list(self.field_aliases)
        doc["params"] = dict(self.params)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AnswerKey:
        try:
            doc = json.loads(data)
            doc["field_aliases"] = tuple(doc["field_aliases"])
            return cls(**doc)
        except (ValueError, TypeError, KeyError) as exc:
            raise AnswerKeyError(f"malformed answer key: {exc}") from exc


_ANSWER_KEY_FIELDS = tuple(field.name for field in dataclasses.fields(AnswerKey))

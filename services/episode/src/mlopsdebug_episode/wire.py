"""The scenario the generator sends, converted for the episode service as late as its use allows.

A cold reset waits for this conversion. Of a scenario's parts, a reset needs the ids, the run summary,
the artifacts' contents and metadata and the sealed key; the eight sanity-check results are needed
only when an episode runs a check, and converting them (their metrics maps above all) was most of
`scenario_from_pb`'s cost. So they stay encoded until then: `WireChecks` holds their bytes (a few
hundred each, not the whole message, whose artifacts the domain objects copy anyway) and converts all
eight on first use, once per scenario.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug_common.convert import sanity_check_from_pb, scenario_from_pb
from mlopsdebug_common.domain import SanityCheckResult, Scenario


class WireChecks(Sequence[SanityCheckResult]):
    """A scenario's sanity-check results, kept encoded until first read; then the converted tuple."""

    __slots__ = ("_encoded", "_results")

    def __init__(self, encoded: tuple[bytes, ...]) -> None:
        self._encoded: tuple[bytes, ...] | None = encoded
        self._results: tuple[SanityCheckResult, ...] | None = None

    @classmethod
    def of(cls, messages: Sequence[pb.SanityCheckResult]) -> WireChecks:
        return cls(tuple(m.SerializeToString() for m in messages))

    def results(self) -> tuple[SanityCheckResult, ...]:
        if self._results is None:
            assert self._encoded is not None
            parse = pb.SanityCheckResult.FromString
            self._results = tuple(sanity_check_from_pb(parse(data)) for data in self._encoded)
            self._encoded = None
        return self._results

    def __len__(self) -> int:
        if self._results is not None:
            return len(self._results)
        assert self._encoded is not None
        return len(self._encoded)

    @overload
    def __getitem__(self, index: int) -> SanityCheckResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[SanityCheckResult, ...]: ...
    def __getitem__(self, index: int | slice) -> SanityCheckResult | tuple[SanityCheckResult, ...]:
        return self.results()[index]

    def __iter__(self) -> Iterator[SanityCheckResult]:
        return iter(self.results())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WireChecks):
            return self.results() == other.results()
        return isinstance(other, tuple) and self.results() == other

    __hash__ = None  # type: ignore[assignment] - equal to a tuple, so unhashable like a mutable sequence

    def __repr__(self) -> str:
        return repr(self.results())


def scenario_from_wire(m: pb.Scenario) -> Scenario:
    """`mlopsdebug_common.convert.scenario_from_pb`, with the sanity checks converted on first use."""
    return scenario_from_pb(m, WireChecks.of(m.sanity_checks))

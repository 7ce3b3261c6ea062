"""The fuzz tier's time budget: a Hypothesis settings profile and a per-property example count.

No per-example deadline (a loaded machine must not fail a test for being slow); derandomized, so every
run tries the same examples, unless MLOPSDEBUG_FUZZ_SCALE is set (it also multiplies the counts, for a
longer local hunt); no example database written into the work tree.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SCALE = float(os.environ.get("MLOPSDEBUG_FUZZ_SCALE", "1") or "1")

settings.register_profile(
    "fuzz",
    deadline=None,
    database=None,
    derandomize="MLOPSDEBUG_FUZZ_SCALE" not in os.environ,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(count: int) -> settings:
    """Settings of one property: the `fuzz` profile with `count` examples (times MLOPSDEBUG_FUZZ_SCALE)."""
    return settings(settings.get_profile("fuzz"), max_examples=max(1, int(count * SCALE)))

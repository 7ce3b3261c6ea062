"""The fuzz tier (marker `fuzz`): Hypothesis against real servers on port 0 and a real gateway.

Bounded so that the whole tier takes about a minute on 2 cores: each property has a fixed number of
examples (settings profile `fuzz`; MLOPSDEBUG_FUZZ_SCALE multiplies them for a longer local hunt) and no
per-example deadline, since a loaded machine must not fail a test for being slow. Examples are
derandomized (the same ones every run, so CI is reproducible) unless MLOPSDEBUG_FUZZ_SCALE is set, and
no example database is written. A fuzz find that was a real bug is kept as an explicit example.

The budget (profile, `examples`) lives in fuzz/budget.py. Shared fixtures: `fuzz_cluster` (generator,
grader, episode in process) and `fuzz_gateway` in front of it.
"""

from __future__ import annotations

import pytest
from compat.gateway_support import running_gateway


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/fuzz/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.fuzz)


@pytest.fixture(scope="session")
def fuzz_cluster():
    from inprocess import InProcessCluster

    cluster = InProcessCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def fuzz_gateway(fuzz_cluster):
    with running_gateway(fuzz_cluster.episode_addr) as gateway:
        yield gateway

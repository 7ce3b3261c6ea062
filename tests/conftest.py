"""Shared fixtures.

- `cluster`: one in-process cluster (generator, grader, episode on port 0) for the whole session,
  public (unsalted) so that its scenarios are the public code's.
  Use `cluster.episode_addr` / `cluster.address("generator" | "grader")`; do not stop its services.
- `make_cluster(reveal_answers=False, **episode_overrides)`: a private in-process cluster for tests
  that stop services or need other limits (capacity, idle timeout) or a grader that reveals answers;
  it is stopped after the test.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))


@pytest.fixture(scope="session")
def cluster():
    from inprocess import InProcessCluster

    # Public (unsalted) on purpose: some tests read a known scenario of the public code, e.g. the Node
    # suite's easy seed 7. Private clusters (make_cluster) draw a fresh salt, as every cluster does.
    c = InProcessCluster(salt=b"").start()
    yield c
    c.stop()


@pytest.fixture
def make_cluster():
    from inprocess import InProcessCluster

    made: list[InProcessCluster] = []

    def factory(
        reap_interval_s: float | None = None,
        reveal_answers: bool = False,
        salt: bytes | None = None,
        **episode_overrides,
    ) -> InProcessCluster:
        salted = {} if salt is None else {"salt": salt}  # None: a fresh salt, as every cluster draws
        c = InProcessCluster(
            episode_overrides=episode_overrides, reap_interval_s=reap_interval_s, reveal_answers=reveal_answers,
            **salted,
        ).start()
        made.append(c)
        return c

    yield factory
    for c in made:
        c.stop()

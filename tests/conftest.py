"""Shared fixtures.

- `cluster`: one in-process cluster (generator, grader, episode on port 0) for the whole session,
  public (unsalted) so that its scenarios are the public code's.
  Use `cluster.episode_addr` / `cluster.address("generator" | "grader")`; do not stop its services.
- `make_cluster(reveal_answers=False, **episode_overrides)`: a private in-process cluster for tests
  that stop services or need other limits (capacity, idle timeout) or a grader that reveals answers;
  it is stopped after the test.

Options of the conformance suite (tests/conformance, see its conftest): `--episode-address HOST:PORT` and
`--gateway-url URL` point it at a deployment instead of the in-process cluster it starts by default.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))


def pytest_addoption(parser: pytest.Parser) -> None:
    """Here, not in tests/conformance/conftest.py: pytest reads options only from the conftests it loads first."""
    group = parser.getgroup("conformance", "the conformance suite (tests/conformance) against a deployment")
    group.addoption("--episode-address", default=None, metavar="HOST:PORT",
                    help="episode service to check (else $MLOPSDEBUG_CONFORMANCE_EPISODE_ADDRESS; else an "
                         "in-process cluster)")
    group.addoption("--gateway-url", default=None, metavar="URL",
                    help="OpenEnv gateway to check (else $MLOPSDEBUG_CONFORMANCE_GATEWAY_URL)")


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

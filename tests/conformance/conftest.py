"""The deployment the conformance suite checks.

With `--episode-address HOST:PORT` (or $MLOPSDEBUG_CONFORMANCE_EPISODE_ADDRESS) and/or `--gateway-url URL`
(or $MLOPSDEBUG_CONFORMANCE_GATEWAY_URL) it checks that deployment; $MLOPSDEBUG_API_KEY and
$MLOPSDEBUG_TLS_CA are used as the clients use them. Without either, it starts its own: an in-process
cluster (generator, grader, episode on free ports, a fresh secret salt) and a gateway in front of it,
which is what `./dev test` checks. Tests of a surface whose address is missing skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conformance.contract import Deployment, Episodes


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest) -> Iterator[Deployment]:
    given = Deployment.from_environment(
        request.config.getoption("--episode-address"), request.config.getoption("--gateway-url")
    )
    if given.episode_address or given.gateway_url:
        yield given
        return
    from compat.gateway_support import running_gateway
    from inprocess import InProcessCluster

    cluster = InProcessCluster().start()
    try:
        with running_gateway(cluster.episode_addr) as gateway:
            yield Deployment(cluster.episode_addr, gateway.url)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def episodes(deployment: Deployment) -> Iterator[Episodes]:
    channel = deployment.channel()
    try:
        yield Episodes(channel, deployment.metadata())
    finally:
        channel.close()


@pytest.fixture(scope="session")
def budgets(episodes: Episodes) -> dict[str, int]:
    """max_steps of every task the deployment lists."""
    return {task.task_id: task.max_steps for task in episodes.list_tasks().tasks}


@pytest.fixture
def gateway_url(deployment: Deployment) -> str:
    if deployment.gateway_url is None:
        pytest.skip("no gateway URL (--gateway-url)")
    return deployment.gateway_url

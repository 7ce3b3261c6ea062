"""Fixtures of the OpenEnv-compatibility tests: a real gateway in front of the in-process cluster."""

from __future__ import annotations

import pytest
from compat.gateway_support import running_gateway


@pytest.fixture(scope="module")
def gateway(cluster):
    with running_gateway(cluster.episode_addr) as running:
        yield running

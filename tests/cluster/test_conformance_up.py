"""`mlopsdebug conformance` passes against a cluster of real processes (what `mlopsdebug up` starts)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster

pytestmark = pytest.mark.cluster


def test_the_local_cluster_conforms():
    """The whole suite, gRPC and OpenEnv, against the launcher's cluster (mutual TLS inside, a fresh salt)."""
    with LocalCluster(ClusterOptions.ephemeral()) as cluster:
        result = subprocess.run(
            [sys.executable, "-m", "mlopsdebug_cli.main", "conformance", "--address", cluster.address("episode"),
             "--gateway-url", f"http://{cluster.address('gateway')}", "--", "-q", "-rs"],
            capture_output=True, text=True, timeout=900,
            env={k: v for k, v in os.environ.items() if not k.startswith("MLOPSDEBUG_")},
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]

"""The local cluster's options: every cluster is salted unless it is public on purpose."""

from __future__ import annotations

import pytest

from mlopsdebug_cli.cluster import ClusterOptions, LocalCluster
from mlopsdebug_cli.supervise import RestartPolicy


class TestSalt:
    def test_each_cluster_draws_its_own_salt(self):
        salts = {ClusterOptions().salt for _ in range(5)}
        assert len(salts) == 5 and all(len(salt) == 32 for salt in salts)

    def test_a_given_salt_is_kept_and_reaches_the_generator_only(self):
        cluster = LocalCluster(ClusterOptions(salt="chosen"))
        env = cluster._env("generator", 1)
        assert env["MLOPSDEBUG_SALT"] == "chosen" and env["MLOPSDEBUG_SALT_PUBLIC"] == "false"
        for service in ("grader", "episode", "gateway"):
            assert not any("SALT" in key for key in cluster._env(service, 1)), service

    def test_public_is_unsalted_and_says_so(self):
        env = LocalCluster(ClusterOptions(public=True))._env("generator", 1)
        assert env["MLOPSDEBUG_SALT"] == "" and env["MLOPSDEBUG_SALT_PUBLIC"] == "true"

    def test_an_empty_salt_is_not_a_quiet_public_cluster(self):
        with pytest.raises(ValueError, match="--public"):
            ClusterOptions(salt="")
        with pytest.raises(ValueError, match="not both"):
            ClusterOptions(salt="x", public=True)


def test_clusters_are_supervised_by_default():
    assert ClusterOptions().restart == RestartPolicy()
    assert ClusterOptions(restart=None).restart is None

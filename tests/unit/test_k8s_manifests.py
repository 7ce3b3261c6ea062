"""deploy/k8s, validated offline: every manifest against the Kubernetes schemas (`kubernetes-validate
--strict`, which also refuses unknown fields), then what the design needs of them, by name: Envoy in front
of the episode replicas' headless Service, gRPC probes, drains, budgets, autoscalers, secrets referenced
and mounted only where they belong, and the grader reachable only from the episode service."""

from __future__ import annotations

import functools
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

from mlopsdebug_cli.envoy import K8S, K8S_NAMESPACE

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
MANIFESTS = sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")
VALIDATE = pathlib.Path(sys.executable).parent / "kubernetes-validate"


def kubernetes_validate(*paths: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VALIDATE), "--strict", "--quiet", *map(str, paths)], capture_output=True, text=True, timeout=300
    )


def test_every_manifest_is_valid_against_the_kubernetes_schemas():
    result = kubernetes_validate(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_strict_validation_refuses_an_unknown_field(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text((K8S_DIR / "episode.yaml").read_text().replace("  replicas: 3", "  replicaz: 3", 1))
    assert kubernetes_validate(broken).returncode != 0


def test_kustomize_builds_every_manifest_into_one_valid_set(tmp_path):
    """`kubectl apply -k deploy/k8s` starts from this build: every resource of the files, in the namespace."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: ./dev setup installs it (Debian package kubernetes-client)")
        pytest.skip("kubectl is missing (Debian package kubernetes-client)")
    built = subprocess.run([kubectl, "kustomize", str(K8S_DIR)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    docs = [doc for doc in yaml.safe_load_all(built.stdout) if doc]
    names = sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    assert names == sorted((r["kind"], r["metadata"]["name"]) for r in resources())
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {K8S_NAMESPACE}
    output = tmp_path / "built.yaml"
    output.write_text(built.stdout)
    result = kubernetes_validate(output)
    assert result.returncode == 0, result.stdout + result.stderr


@functools.cache
def resources() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def resource(kind: str, name: str) -> dict:
    return next(r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name)


def workloads() -> list[dict]:
    return [r for r in resources() if r["kind"] in ("Deployment", "StatefulSet")]


def env_of(workload: dict) -> dict[str, dict]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return {item["name"]: item for item in container.get("env", [])}


def test_kustomization_lists_every_manifest_in_one_namespace():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)
    assert kustomization["namespace"] == K8S_NAMESPACE
    assert {r["metadata"].get("namespace", K8S_NAMESPACE) for r in resources() if r["kind"] != "Namespace"} == {K8S_NAMESPACE}


def test_four_services_envoy_and_redis():
    deployments = {r["metadata"]["name"] for r in resources() if r["kind"] == "Deployment"}
    assert deployments == {"generator", "grader", "episode", "gateway", "envoy"}
    redis = resource("StatefulSet", "redis")
    (container,) = redis["spec"]["template"]["spec"]["containers"]
    assert "--appendonly" in container["args"] and container["args"][container["args"].index("--appendonly") + 1] == "yes"
    assert redis["spec"]["volumeClaimTemplates"]
    assert resource("Deployment", "episode")["spec"]["replicas"] == 3


def test_envoy_discovers_the_episode_replicas_through_a_headless_service():
    replicas = resource("Service", "episode-replicas")
    assert replicas["spec"]["clusterIP"] == "None"
    assert replicas["spec"]["selector"] == {"app.kubernetes.io/name": "episode"}
    (host, port), = K8S.upstreams
    assert host == f"episode-replicas.{K8S_NAMESPACE}.svc.cluster.local" and port == replicas["spec"]["ports"][0]["port"]
    # Clients and the gateway reach the episode service at Envoy's Service.
    assert resource("Service", "episode")["spec"]["selector"] == {"app.kubernetes.io/name": "envoy"}
    gateway_env = env_of(resource("Deployment", "gateway"))
    assert gateway_env["MLOPSDEBUG_EPISODE_ADDR"]["value"] == f"episode.{K8S_NAMESPACE}.svc.cluster.local:50052"
    envoy = resource("Deployment", "envoy")["spec"]["template"]["spec"]
    assert envoy["volumes"][0]["configMap"]["name"] == resource("ConfigMap", "envoy-config")["metadata"]["name"]
    # Client-side balancing over the stateless services' pods needs headless Services too.
    for name in ("generator", "grader"):
        assert resource("Service", name)["spec"]["clusterIP"] == "None"


def test_episode_state_lives_in_redis():
    url = env_of(resource("Deployment", "episode"))["MLOPSDEBUG_REDIS_URL"]["value"]
    assert url == f"redis://redis.{K8S_NAMESPACE}.svc.cluster.local:6379/0"


def test_every_container_is_probed_bounded_and_unprivileged():
    for workload in workloads():
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            assert container["readinessProbe"] and container["livenessProbe"], name
            assert container["resources"]["requests"] and container["resources"]["limits"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["capabilities"]["drop"] == ["ALL"], name


def test_grpc_health_probes():
    """The episode service is probed by the kubelet's gRPC probe; generator and grader serve health under
    mutual TLS, so their probe is the image's checker presenting their own certificate."""
    (episode,) = resource("Deployment", "episode")["spec"]["template"]["spec"]["containers"]
    assert episode["readinessProbe"]["grpc"] == {"port": 50052} and episode["livenessProbe"]["grpc"] == {"port": 50052}
    for name, port in (("generator", 50051), ("grader", 50053)):
        (container,) = resource("Deployment", name)["spec"]["template"]["spec"]["containers"]
        command = container["readinessProbe"]["exec"]["command"]
        assert command == ["mlopsdebug", "health", "--grpc", f"localhost:{port}", "--identity", name]


def test_sigterm_drains_within_the_grace_period():
    for name in ("generator", "grader", "episode"):
        workload = resource("Deployment", name)
        grace = float(env_of(workload)["MLOPSDEBUG_GRACE_S"]["value"])
        assert grace < workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"], name


def test_disruption_budgets_and_autoscalers():
    budgets = {r["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for r in resources() if r["kind"] == "PodDisruptionBudget"}
    assert {"episode", "generator", "grader"} <= budgets
    scaled = {r["spec"]["scaleTargetRef"]["name"] for r in resources() if r["kind"] == "HorizontalPodAutoscaler"}
    assert scaled == {"episode", "generator", "grader"}


def test_secrets_are_referenced_never_embedded_and_reach_only_their_holders():
    assert not [r for r in resources() if r["kind"] == "Secret"]

    def secrets_of(workload: dict) -> set[str]:
        pod = workload["spec"]["template"]["spec"]
        mounted = {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
        from_env = {e["valueFrom"]["secretKeyRef"]["name"] for e in env_of(workload).values() if "valueFrom" in e}
        return mounted | from_env

    holders = {w["metadata"]["name"]: secrets_of(w) for w in workloads()}
    assert {name for name, held in holders.items() if "answer-key" in held} == {"generator", "grader"}
    assert {name for name, held in holders.items() if "deployment-salt" in held} == {"generator"}
    assert holders["gateway"] == set() and holders["envoy"] == set()


def test_only_the_episode_service_reaches_the_grader():
    (policy,) = [
        r for r in resources()
        if r["kind"] == "NetworkPolicy" and r["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "grader"}
    ]  # fmt: skip
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "episode"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": 50053}]


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_every_manifest_says_what_it_is_for(manifest):
    assert manifest.read_text().startswith("#")

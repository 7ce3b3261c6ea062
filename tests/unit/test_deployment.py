"""Static checks of the deployment files: Docker cannot run here, so their structure is verified."""

from __future__ import annotations

import pathlib
import re

import yaml
from workspace import closure, members

from mlopsdebug_common.tasks import TASKS

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORTS = {"generator": 50051, "episode": 50052, "grader": 50053, "gateway": 7860}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


class TestCompose:
    def test_the_four_services_with_health_checks(self):
        """Every service exists, runs its own image and has a health check on its own port (beside them,
        Redis and Envoy from their own images)."""
        services = compose()["services"]
        assert set(services) == {*PORTS, "redis", "envoy"}
        for name, svc in services.items():
            if name in ("redis", "envoy"):
                continue
            assert svc["build"] == {"context": ".", "dockerfile": f"services/{name}/Dockerfile"}
            assert svc["image"] == f"mlopsdebug-{name}:{members()[f'mlopsdebug-{name}'].project['version']}"
            assert "command" not in svc  # the image's ENTRYPOINT starts its service
            test = svc["healthcheck"]["test"]
            assert test[:2] == ["CMD", "mlopsdebug-health"] and str(PORTS[name]) in " ".join(test)

    def test_ports_and_peer_addresses_agree(self):
        """Each service listens where its peers are told to find it."""
        services = compose()["services"]
        env = {name: svc.get("environment", {}) for name, svc in services.items()}
        assert env["generator"]["MLOPSDEBUG_GENERATOR_PORT"] == "50051"
        assert env["grader"]["MLOPSDEBUG_GRADER_PORT"] == "50053"
        assert env["episode"]["MLOPSDEBUG_EPISODE_PORT"] == "50052"
        assert env["gateway"]["MLOPSDEBUG_GATEWAY_PORT"] == "7860"
        assert env["episode"]["MLOPSDEBUG_GENERATOR_ADDR"] == "dns:///generator:50051"
        assert env["episode"]["MLOPSDEBUG_GRADER_ADDR"] == "dns:///grader:50053"
        assert env["gateway"]["MLOPSDEBUG_EPISODE_ADDR"] == "envoy:50052"
        assert env["episode"]["MLOPSDEBUG_REDIS_URL"] == "redis://redis:6379/0"
        assert services["gateway"]["ports"] == ["7860:7860"]
        assert services["envoy"]["ports"] == ["50052:50052"]

    def test_the_stateless_services_can_be_scaled(self):
        """`docker compose up --scale generator=N` (and `episode=N`) works: no fixed host port or container
        name, and the episode service resolves every generator and grader replica by DNS (its channels to
        them go round-robin), as Envoy does the episode replicas."""
        services = compose()["services"]
        for name in ("generator", "grader", "episode"):
            assert "ports" not in services[name] and "container_name" not in services[name]
        env = services["episode"]["environment"]
        assert env["MLOPSDEBUG_GENERATOR_ADDR"].startswith("dns:///")
        assert env["MLOPSDEBUG_GRADER_ADDR"].startswith("dns:///")

    def test_only_generator_and_grader_hold_the_secret(self):
        """The answer-key secret reaches generator and grader, and nobody else."""
        services = compose()["services"]
        holders = {
            name
            for name, svc in services.items()
            if "answer_key" in svc.get("secrets", [])
            or any("ANSWER_KEY" in key for key in svc.get("environment", {}))
        }
        assert holders == {"generator", "grader"}

    def test_mutual_tls_each_service_gets_the_ca_and_its_own_key_only(self):
        """Generator, grader and episode service mount the CA and their own certificate and key (compose
        secrets) in the directory MLOPSDEBUG_MTLS_DIR names; nobody else gets any, the gateway none."""
        config = compose()
        for name in ("generator", "grader", "episode"):
            svc = config["services"][name]
            mounted = {s["source"]: s["target"] for s in svc["secrets"] if isinstance(s, dict)}
            directory = svc["environment"]["MLOPSDEBUG_MTLS_DIR"]
            assert mounted == {
                "mtls_ca": f"{directory}/ca.crt",
                f"{name}_cert": f"{directory}/{name}.crt",
                f"{name}_key": f"{directory}/{name}.key",
            }
            assert all(config["secrets"][source]["file"].endswith(pathlib.PurePath(target).name)
                       for source, target in mounted.items())
        assert "secrets" not in config["services"]["gateway"]

    def test_health_checks_present_the_services_own_certificate(self):
        """Under mutual TLS a probe needs a certificate of the cluster: generator and grader use their own."""
        services = compose()["services"]
        for name in ("generator", "grader"):
            test = services[name]["healthcheck"]["test"]
            assert test[test.index("--identity") + 1] == name

    def test_revealing_answers_is_the_graders_setting(self):
        """Whether grades reveal the answer is configured on the grader, not on the episode service."""
        env = {name: svc.get("environment", {}) for name, svc in compose()["services"].items()}
        assert [name for name, e in env.items() if "MLOPSDEBUG_REVEAL_ANSWERS" in e] == ["grader"]
        assert env["grader"]["MLOPSDEBUG_REVEAL_ANSWERS"] == "${MLOPSDEBUG_REVEAL_ANSWERS:-false}"

    def test_the_salt_is_required_and_reaches_the_generator_only(self):
        """Compose refuses to start without MLOPSDEBUG_SALT (`${VAR?message}`); an empty one is allowed only
        with MLOPSDEBUG_SALT_PUBLIC=true, which the generator checks. No other service gets the salt."""
        services = compose()["services"]
        env = services["generator"]["environment"]
        assert env["MLOPSDEBUG_SALT"].startswith("${MLOPSDEBUG_SALT?") and "openssl rand -hex 16" in env["MLOPSDEBUG_SALT"]
        assert env["MLOPSDEBUG_SALT_PUBLIC"] == "${MLOPSDEBUG_SALT_PUBLIC:-false}"
        holders = {name for name, svc in services.items() if any("SALT" in key for key in svc.get("environment", {}))}
        assert holders == {"generator"}

    def test_start_order_follows_health(self):
        """The episode service waits for healthy peers and Redis; the gateway for a healthy episode service
        and Envoy."""
        services = compose()["services"]
        assert services["episode"]["depends_on"] == {
            "generator": {"condition": "service_healthy"},
            "grader": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert services["gateway"]["depends_on"] == {
            "episode": {"condition": "service_healthy"},
            "envoy": {"condition": "service_started"},
        }

    def test_envoy_fronts_every_episode_replica_with_the_generated_config(self):
        """`--scale episode=N`: Envoy's committed config (rendered from the one template) resolves the
        `episode` service name to every replica and ring-hashes on x-episode-id; Redis keeps the episodes."""
        from mlopsdebug_cli.envoy import COMPOSE, render

        services = compose()["services"]
        source, target, _ = services["envoy"]["volumes"][0].split(":")
        assert (ROOT / source).read_text().split("\n", 1)[1] == render(COMPOSE)
        assert services["envoy"]["command"][:3] == ["envoy", "-c", target]
        assert COMPOSE.upstreams == [("episode", 50052)] and COMPOSE.dns
        assert services["envoy"]["image"].endswith(":v1.40.0")  # the version the tests validate with
        assert "--appendonly" in services["redis"]["command"]


def dockerfile_stages(name: str) -> list[list[tuple[str, str]]]:
    """services/<name>/Dockerfile as stages of (instruction, arguments), continuation lines joined."""
    text = (ROOT / "services" / name / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        stages[-1].append((instruction.upper(), args.strip()))
    return stages


class TestImages:
    """Each service's image (services/<name>/Dockerfile), checked without a Docker engine."""

    def test_multi_stage_on_a_slim_base(self):
        for name in PORTS:
            stages = dockerfile_stages(name)
            assert len(stages) == 2, name
            for stage in stages:
                assert re.fullmatch(r"python:3\.11-slim( AS \w+)?", stage[0][1]), (name, stage[0])

    def test_the_build_installs_only_the_services_distribution_from_the_lock(self):
        """uv sync --frozen (the lock's exact versions), no dev group, non-editable, for its own package."""
        for name in PORTS:
            runs = [args for instruction, args in dockerfile_stages(name)[0] if instruction == "RUN"]
            syncs = [r for r in runs if r.startswith("uv sync")]
            assert len(syncs) == 1, name
            flags = syncs[0].split()
            assert {"--frozen", "--no-dev", "--no-editable"} <= set(flags), name
            assert flags[flags.index("--package") + 1] == f"mlopsdebug-{name}"

    def test_the_final_stage_holds_the_venv_only_and_runs_as_a_non_root_user(self):
        for name in PORTS:
            final = dockerfile_stages(name)[1]
            copies = [args for instruction, args in final if instruction == "COPY"]
            assert copies == ["--from=build /venv /venv"], name
            users = [args for instruction, args in final if instruction == "USER"]
            assert users and users[-1] not in {"root", "0"}, name
            runs = [args for instruction, args in final if instruction == "RUN"]
            assert all(run.startswith("useradd ") for run in runs), name  # nothing installed or built here

    def test_the_entrypoint_is_the_services_own_script_and_port(self):
        """ENTRYPOINT is the console script the service's distribution declares; EXPOSE its port."""
        for name, port in PORTS.items():
            final = dict(dockerfile_stages(name)[1])
            (script,) = yaml.safe_load(final["ENTRYPOINT"])
            member = members()[f"mlopsdebug-{name}"]
            assert member.scripts[script] == f"mlopsdebug_{name}.server:main"
            assert final["EXPOSE"] == str(port)

    def test_the_health_probe_is_in_every_image(self):
        """The compose health checks run `mlopsdebug-health`, a script of mlopsdebug-common, which every
        service's locked closure holds (the images carry no CLI)."""
        assert "mlopsdebug-health" in members()["mlopsdebug-common"].scripts
        for name in PORTS:
            assert "mlopsdebug-common" in closure(f"mlopsdebug-{name}")
            assert "mlopsdebug-cli" not in closure(f"mlopsdebug-{name}")

    def test_the_build_context_leaves_venvs_tests_and_node_out(self):
        ignored = set((ROOT / ".dockerignore").read_text().split())
        assert {"**/.venv*", "tests", "**/node_modules", ".git"} <= ignored


class TestManifest:
    def test_openenv_manifest_matches_the_tasks(self):
        """openenv.yaml declares the real tasks, budgets, reward range and port."""
        manifest = yaml.safe_load((ROOT / "openenv.yaml").read_text())
        assert manifest["name"] == "mlops-debug-env" and manifest["port"] == 7860
        declared = {t["id"]: t for t in manifest["tasks"]}
        assert set(declared) == set(TASKS)
        for task_id, spec in TASKS.items():
            assert declared[task_id]["max_steps"] == spec.max_steps
            assert declared[task_id]["reward_range"] == [spec.reward_min, spec.reward_max]
        assert len(manifest["action_space"]["actions"]) == 8

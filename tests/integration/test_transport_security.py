"""Transport security over real sockets: mutual TLS between the services (generator and grader serve
only the episode identity), TLS on the public edges (episode gRPC, gateway), and undecodable requests."""

from __future__ import annotations

import json
import logging
import pathlib
import ssl
import time
import urllib.request

import grpc
import pytest
from answers import gold_diagnosis, open_key
from grpc_health.v1 import health_pb2, health_pb2_grpc
from inprocess import InProcessCluster

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.generator.v1 import generator_service_pb2 as gen_pb
from mlopsdebug_client import (
    ClientConfig,
    EpisodeClient,
    GeneratorClient,
    GraderClient,
    InvalidArgumentError,
    MLOpsDebugError,
    StatusCode,
    actions,
    build_diagnosis,
)
from mlopsdebug_common.certs import generate_cluster_certs

GENERATE = "/mlopsdebug.generator.v1.GeneratorService/GenerateScenario"
WRONG = build_diagnosis("architecture_bug", "model_card.json", "none", "a guess", "change nothing")


def tls_files(directory: pathlib.Path, identity: str) -> dict[str, str]:
    return {
        "tls_ca_file": str(directory / "ca.crt"),
        "tls_cert_file": str(directory / f"{identity}.crt"),
        "tls_key_file": str(directory / f"{identity}.key"),
    }


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> pathlib.Path:
    directory = tmp_path_factory.mktemp("cluster-certs")
    generate_cluster_certs(directory)
    return directory


@pytest.fixture(scope="module")
def mtls_cluster(certs):
    cluster = InProcessCluster(mtls_dir=str(certs)).start()
    yield cluster
    cluster.stop()


def refusal(call, *args) -> MLOpsDebugError:
    with pytest.raises(MLOpsDebugError) as info:
        call(*args)
    return info.value


class TestMutualTls:
    def test_the_episode_service_plays_a_whole_episode_over_mtls(self, mtls_cluster, certs):
        """Reset (generator) and a graded submission (grader) work with every internal hop on mutual TLS."""
        as_episode = ClientConfig(timeout_s=20, **tls_files(certs, "episode"))
        with GeneratorClient(mtls_cluster.address("generator"), config=as_episode) as generator:
            key = open_key(mtls_cluster.secret, generator.generate_scenario("medium", 5).scenario.answer_key)
        with EpisodeClient(mtls_cluster.episode_addr, config=ClientConfig(timeout_s=20)) as client:
            episode_id = client.reset("medium", 5).episode_id
            client.step(episode_id, actions.check_dataset_stats())
            final = client.step(episode_id, pb.Action(submit_diagnosis=pb.SubmitDiagnosis(
                diagnosis=gold_diagnosis(key)))).observation
        assert final.done and final.last_action_result.grade.score >= 0.95

    @pytest.mark.parametrize("service", ["generator", "grader"])
    def test_a_caller_without_a_certificate_is_refused(self, mtls_cluster, service):
        """No client certificate (plaintext, or TLS without one): the connection never gets a call through."""
        plain = ClientConfig(timeout_s=5, max_retries=0)
        no_cert = ClientConfig(timeout_s=5, max_retries=0, tls_ca_file=str(mtls_cluster.mtls_dir) + "/ca.crt")
        for config in (plain, no_cert):
            if service == "generator":
                with GeneratorClient(mtls_cluster.address(service), config=config) as generator:
                    assert refusal(generator.generate_scenario, "easy", 1).code == StatusCode.UNAVAILABLE
            else:
                with GraderClient(mtls_cluster.address(service), config=config) as grader:
                    error = refusal(grader.grade, pb.SealedAnswerKey(), pb.Diagnosis())
                    assert error.code == StatusCode.UNAVAILABLE

    def test_another_identity_of_the_cluster_is_refused(self, mtls_cluster, certs):
        """A certificate from the cluster's own CA that is not the episode service's (`operator`, or the
        generator's own) gets PERMISSION_DENIED on every generator and grader method."""
        for identity in ("operator", "generator", "grader"):
            config = ClientConfig(timeout_s=5, max_retries=0, **tls_files(certs, identity))
            with GeneratorClient(mtls_cluster.address("generator"), config=config) as generator, \
                    GraderClient(mtls_cluster.address("grader"), config=config) as grader:
                for error in (
                    refusal(generator.generate_scenario, "easy", 1),
                    refusal(generator.list_tasks),
                    refusal(grader.grade, pb.SealedAnswerKey(), pb.Diagnosis()),
                ):
                    assert error.code == StatusCode.PERMISSION_DENIED and error.reason == "PEER_NOT_ALLOWED"

    def test_an_episode_certificate_from_another_ca_is_refused(self, mtls_cluster, tmp_path):
        """A certificate that merely calls itself `episode`, signed by another CA, fails the handshake."""
        generate_cluster_certs(tmp_path)
        forged = tls_files(tmp_path, "episode")
        forged["tls_ca_file"] = str(mtls_cluster.mtls_dir) + "/ca.crt"  # it even trusts the real server
        with GeneratorClient(mtls_cluster.address("generator"), config=ClientConfig(timeout_s=5, max_retries=0,
                                                                                   **forged)) as generator:
            assert refusal(generator.generate_scenario, "easy", 1).code == StatusCode.UNAVAILABLE

    def test_the_episode_service_checks_which_service_it_reached(self, mtls_cluster, certs):
        """A generator address that leads to another service of the cluster (here the grader, whose
        certificate is valid for 127.0.0.1 too) fails the handshake: UNAVAILABLE, nothing asked of it."""
        import asyncio

        from mlopsdebug_common.errors import Unavailable
        from mlopsdebug_common.rpc import MutualTls
        from mlopsdebug_episode.remote import RemoteScenarioSource

        async def fetch() -> None:
            source = RemoteScenarioSource(
                mtls_cluster.address("grader"), timeout_s=5, tls=MutualTls.from_dir(certs, "episode")
            )
            try:
                await source.get("easy", 1)
            finally:
                await source.close()

        with pytest.raises(Unavailable):
            asyncio.run(fetch())

    def test_health_is_open_to_every_certificate_of_the_cluster(self, mtls_cluster, certs):
        """Launchers and probes check health with any of the cluster's certificates (here `operator`)."""
        files = {name: pathlib.Path(path).read_bytes() for name, path in tls_files(certs, "operator").items()}
        credentials = grpc.ssl_channel_credentials(files["tls_ca_file"], files["tls_key_file"], files["tls_cert_file"])
        for service in ("generator", "grader"):
            with grpc.secure_channel(mtls_cluster.address(service), credentials) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

    def test_the_health_command_presents_a_cluster_certificate(self, mtls_cluster, certs, monkeypatch, capsys):
        """`mlopsdebug health` (the container probe) uses MLOPSDEBUG_MTLS_DIR and the identity it is given."""
        from mlopsdebug_cli.main import main

        monkeypatch.setenv("MLOPSDEBUG_MTLS_DIR", str(certs))
        address = mtls_cluster.address("generator")
        assert main(["health", "--grpc", address, "--identity", "generator"]) == 0
        assert main(["health", "--grpc", address, "--identity", "operator", "--server-name", "generator"]) == 0
        assert main(["health", "--grpc", address]) == 2 and "--identity" in capsys.readouterr().err
        monkeypatch.delenv("MLOPSDEBUG_MTLS_DIR")
        assert main(["health", "--grpc", address, "--timeout", "2"]) == 1  # plaintext never gets through

    def test_the_certs_command_makes_a_set_the_services_accept(self, tmp_path, capsys):
        from mlopsdebug_cli.main import main

        assert main(["certs", str(tmp_path / "set")]) == 0
        assert "MLOPSDEBUG_MTLS_DIR=" in capsys.readouterr().out
        assert sorted(p.name for p in (tmp_path / "set").iterdir())[:3] == ["ca.crt", "episode.crt", "episode.key"]

    def test_the_grader_refuses_a_request_field_to_reveal(self, mtls_cluster, certs):
        """Even the episode identity cannot make a grader that does not reveal show the answer."""
        as_episode = ClientConfig(timeout_s=20, **tls_files(certs, "episode"))
        from mlopsdebug.grader.v1 import grader_service_pb2 as grader_pb
        from mlopsdebug.grader.v1 import grader_service_pb2_grpc as grader_grpc
        from mlopsdebug_client._transport import open_channel

        with GeneratorClient(mtls_cluster.address("generator"), config=as_episode) as generator:
            sealed = generator.generate_scenario("easy", 3).scenario.answer_key
        with open_channel(ClientConfig(target=mtls_cluster.address("grader"), **tls_files(certs, "episode"))) as ch:
            grade = grader_grpc.GraderServiceStub(ch).Grade(
                grader_pb.GradeRequest(answer_key=sealed, diagnosis=WRONG, reveal_answer=True), timeout=10
            ).grade
        assert not grade.HasField("answer")

    def test_plaintext_services_warn_that_anyone_can_call_them(self, make_cluster, caplog):
        """Without MLOPSDEBUG_MTLS_DIR, generator, grader and episode service each log a WARNING saying so."""
        with caplog.at_level(logging.WARNING):
            make_cluster()
        warnings = [r.getMessage() for r in caplog.records if "MLOPSDEBUG_MTLS_DIR is not set" in r.getMessage()]
        assert len(warnings) == 3 and all(r.levelno == logging.WARNING for r in caplog.records
                                          if "MLOPSDEBUG_MTLS_DIR" in r.getMessage())
        assert any("the generator serves plaintext" in w for w in warnings)
        assert any("the grader serves plaintext" in w for w in warnings)


@pytest.fixture(scope="module")
def tls_edge_cluster(certs):
    """Episode service serving TLS to its clients, on a certificate for localhost/127.0.0.1."""
    key, cert = (certs / "episode.key").read_bytes(), (certs / "episode.crt").read_bytes()
    cluster = InProcessCluster(episode_overrides={"edge_credentials": grpc.ssl_server_credentials([(key, cert)])})
    cluster.start()
    yield cluster
    cluster.stop()


class TestEdgeTls:
    def test_episode_clients_connect_with_the_ca_file(self, tls_edge_cluster, certs):
        config = ClientConfig(timeout_s=20, tls_ca_file=str(certs / "ca.crt"))
        with EpisodeClient(tls_edge_cluster.episode_addr, config=config) as client:
            assert client.reset("easy", 1).observation.step_count == 0

    def test_the_ca_file_can_come_from_the_environment(self, tls_edge_cluster, certs, monkeypatch):
        monkeypatch.setenv("MLOPSDEBUG_TLS_CA", str(certs / "ca.crt"))
        with EpisodeClient(tls_edge_cluster.episode_addr, config=ClientConfig(timeout_s=20)) as client:
            assert {"easy", "medium", "hard"} <= {t.task_id for t in client.list_tasks().tasks}

    def test_plaintext_and_untrusted_clients_are_refused(self, tls_edge_cluster, tmp_path):
        generate_cluster_certs(tmp_path, identities=("operator",))
        for config in (ClientConfig(timeout_s=5, max_retries=0),
                       ClientConfig(timeout_s=5, max_retries=0, tls_ca_file=str(tmp_path / "ca.crt"))):
            with EpisodeClient(tls_edge_cluster.episode_addr, config=config) as client:
                assert refusal(client.list_tasks).code == StatusCode.UNAVAILABLE

    def test_the_gateway_serves_https_and_reaches_episode_over_tls(self, tls_edge_cluster, certs):
        """HTTPS on the gateway's port (its own certificate) and TLS from the gateway to the episode service:
        /health is healthy only if the gateway's channel to the TLS episode service works."""
        from mlopsdebug_gateway.config import GatewayConfig
        from mlopsdebug_gateway.server import start_in_thread

        gateway = start_in_thread(GatewayConfig(
            host="127.0.0.1", port=0, episode_addr=tls_edge_cluster.episode_addr, log_level="warning",
            tls_cert=str(certs / "operator.crt"), tls_key=str(certs / "operator.key"),
            episode_tls_ca=str(certs / "ca.crt"),
        ))
        try:
            assert gateway.url.startswith("https://")
            context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
            with urllib.request.urlopen(f"{gateway.url}/health", context=context, timeout=10) as response:  # noqa: S310 - our gateway
                assert response.status == 200 and json.load(response)["status"] == "healthy"
            request = urllib.request.Request(  # noqa: S310 - our gateway
                f"{gateway.url}/reset", data=json.dumps({"task_id": "easy", "seed": 3}).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, context=context, timeout=20) as response:  # noqa: S310 - our gateway
                assert response.status == 200 and json.load(response)["episode_id"]
            with pytest.raises(OSError):  # plain HTTP is not served (the TLS server drops it)
                urllib.request.urlopen(f"http://127.0.0.1:{gateway.port}/health", timeout=10)
        finally:
            gateway.stop()


class TestUndecodableRequests:
    METHODS = {
        "generator": ["/mlopsdebug.generator.v1.GeneratorService/GenerateScenario",
                      "/mlopsdebug.generator.v1.GeneratorService/ListTasks"],
        "grader": ["/mlopsdebug.grader.v1.GraderService/Grade"],
        "episode": [f"/mlopsdebug.episode.v1.EpisodeService/{name}"
                    for name in ("ListTasks", "Reset", "Step", "StepBatch", "GetState", "CloseEpisode")],
    }
    GARBAGE = (b"\xff\xff\xff\xff", b"\x0a\xff", b"\x08" + b"\x80" * 11)

    def test_every_unary_method_answers_invalid_argument(self, cluster):
        """Bytes that do not parse as the method's message get INVALID_ARGUMENT with the reason, not UNKNOWN."""
        for service, methods in self.METHODS.items():
            with grpc.insecure_channel(cluster.address(service)) as channel:
                for method in [*methods, "/grpc.health.v1.Health/Check"]:
                    for garbage in self.GARBAGE:
                        with pytest.raises(grpc.RpcError) as info:
                            channel.unary_unary(method)(garbage, timeout=10)
                        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (method, garbage)
                        assert "not a valid message" in info.value.details()

    def test_the_session_stream_ends_with_invalid_argument(self, cluster):
        with grpc.insecure_channel(cluster.episode_addr) as channel:
            call = channel.stream_stream("/mlopsdebug.episode.v1.EpisodeService/Session")
            with pytest.raises(grpc.RpcError) as info:
                list(call(iter([self.GARBAGE[0]]), timeout=10))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    def test_many_bad_requests_log_one_line_without_traceback(self, make_cluster, caplog):
        """200 undecodable requests to each server: at most one log line per server per minute, never a
        traceback, never an ERROR; the servers keep serving good requests."""
        c = make_cluster()
        started = time.monotonic()
        with caplog.at_level(logging.DEBUG):
            for service, methods in self.METHODS.items():
                with grpc.insecure_channel(c.address(service)) as channel:
                    for _ in range(200):
                        with pytest.raises(grpc.RpcError):
                            channel.unary_unary(methods[0])(self.GARBAGE[0], timeout=10)
        minutes = (time.monotonic() - started) / 60
        lines = [r for r in caplog.records if "undecodable" in r.getMessage()]
        assert 3 <= len(lines) <= 3 * (1 + int(minutes))
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
        with GeneratorClient(c.address("generator")) as generator:
            raw = generator.generate_scenario("easy", 1)
        assert raw.scenario.task_id == "easy"

    def test_a_message_that_parses_reaches_the_services_validation(self, cluster):
        """Bytes that parse (an empty message) reach the service's own validation as before."""
        with grpc.insecure_channel(cluster.address("generator")) as channel:
            with pytest.raises(grpc.RpcError) as info:
                channel.unary_unary(GENERATE)(gen_pb.GenerateScenarioRequest().SerializeToString(), timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with GeneratorClient(cluster.address("generator")) as generator, pytest.raises(InvalidArgumentError):
            generator.generate_scenario("", 1)

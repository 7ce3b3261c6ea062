"""Typed clients of the generator service (mlopsdebug.generator.v1.GeneratorService).

Orchestration-facing: a scenario holds its sealed answer key, which only the grader can open. Under
mutual TLS the generator serves only the episode service's identity: pass its certificate in
`ClientConfig(tls_cert_file=..., tls_key_file=..., tls_ca_file=...)`.
"""

from __future__ import annotations

from mlopsdebug.generator.v1 import generator_service_pb2 as pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as pb_grpc

from ._transport import AsyncChannelClient, ChannelClient, acall_unary, call_unary
from .config import GENERATOR_TARGET

__all__ = ["AsyncGeneratorClient", "GeneratorClient"]


class GeneratorClient(ChannelClient):
    """Sync client of the generator. Both calls are pure functions, so both retry on UNAVAILABLE.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens a channel to `target` (default localhost:50051; TLS as the config says) and `close()` closes it.
    """

    _default_target = GENERATOR_TARGET
    _stub_type = pb_grpc.GeneratorServiceStub
    _stub: pb_grpc.GeneratorServiceStub

    def generate_scenario(
        self, task_id: str, seed: int, *, timeout_s: float | None = None
    ) -> pb.GenerateScenarioResponse:
        """The scenario for (task, seed), byte-identical for equal inputs; INVALID_ARGUMENT for bad ones."""
        request = pb.GenerateScenarioRequest(task_id=task_id, seed=seed)
        response: pb.GenerateScenarioResponse = call_unary(
            self.config, self._stub.GenerateScenario, request, idempotent=True, timeout_s=timeout_s
        )
        return response

    def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks the generator can produce, with the generator version."""
        response: pb.ListTasksResponse = call_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response


class AsyncGeneratorClient(AsyncChannelClient):
    """grpc.aio client of the generator; create it inside the event loop that uses it."""

    _default_target = GENERATOR_TARGET
    _stub_type = pb_grpc.GeneratorServiceStub
    _stub: pb_grpc.GeneratorServiceStub

    async def generate_scenario(
        self, task_id: str, seed: int, *, timeout_s: float | None = None
    ) -> pb.GenerateScenarioResponse:
        """The scenario for (task, seed), byte-identical for equal inputs; INVALID_ARGUMENT for bad ones."""
        request = pb.GenerateScenarioRequest(task_id=task_id, seed=seed)
        response: pb.GenerateScenarioResponse = await acall_unary(
            self.config, self._stub.GenerateScenario, request, idempotent=True, timeout_s=timeout_s
        )
        return response

    async def list_tasks(self, *, timeout_s: float | None = None) -> pb.ListTasksResponse:
        """The tasks the generator can produce, with the generator version."""
        response: pb.ListTasksResponse = await acall_unary(
            self.config, self._stub.ListTasks, pb.ListTasksRequest(), idempotent=True, timeout_s=timeout_s
        )
        return response

"""Typed clients of the generator service (mlopsdebug.generator.v1.GeneratorService).

Orchestration-facing: a scenario holds its sealed answer key, which only the grader can open.
"""

from __future__ import annotations

from types import TracebackType

import grpc

from mlopsdebug.generator.v1 import generator_service_pb2 as pb
from mlopsdebug.generator.v1 import generator_service_pb2_grpc as pb_grpc

from ._transport import acall_unary, call_unary, open_aio_channel, open_channel
from .config import GENERATOR_TARGET, ClientConfig, resolve_config

__all__ = ["AsyncGeneratorClient", "GeneratorClient"]


class GeneratorClient:
    """Sync client of the generator. Both calls are pure functions, so both retry on UNAVAILABLE.

    Pass `channel` to share one you manage (the client will not close it); otherwise the client
    opens an insecure channel to `target` (default localhost:50051) and `close()` closes it.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, GENERATOR_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_channel(self.config)
        self._stub = pb_grpc.GeneratorServiceStub(self._channel)

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

    def close(self) -> None:
        """Closes the channel if the client opened it."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> GeneratorClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncGeneratorClient:
    """grpc.aio client of the generator; create it inside the event loop that uses it."""

    def __init__(
        self,
        target: str | None = None,
        *,
        config: ClientConfig | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.config = resolve_config(target, config, GENERATOR_TARGET)
        self._owns_channel = channel is None
        self._channel = channel if channel is not None else open_aio_channel(self.config)
        self._stub = pb_grpc.GeneratorServiceStub(self._channel)

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

    async def close(self) -> None:
        """Closes the channel if the client opened it."""
        if self._owns_channel:
            await self._channel.close()

    async def __aenter__(self) -> AsyncGeneratorClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

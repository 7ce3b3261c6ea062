"""What the conformance suite talks to: a deployment's addresses, and a thin black-box gRPC caller.

Only the published contract is used (the generated stubs of protos/, grpc, google.rpc status details
and the client's vocabulary). Nothing here imports service code or reads an answer key, so the suite
checks any implementation of the contract, in any language, wherever it runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep
from mlopsdebug.episode.v1 import episode_service_pb2_grpc as ep_grpc
from mlopsdebug_client import vocabulary

TIMEOUT_S = 60.0
# The task families every deployment serves, with their documented step budgets (README, "Tasks").
FAMILY_BUDGETS = {"easy": 20, "medium": 30, "hard": 40}
# The documented step rewards (README, "Rewards").
REWARD_NEW_ARTIFACT = 0.02
REWARD_REPEATED_READ = -0.02
REWARD_NEW_SANITY_CHECK = 0.01
GRADE_WEIGHTS = {"category": 0.15, "file": 0.25, "field": 0.30, "fix": 0.30}
READ_ACTIONS = {
    "read_config": "config.yaml",
    "read_logs": "train.log",
    "check_dataset_stats": "dataset_stats.json",
    "inspect_preprocessing": "preprocessing.py",
    "read_eval_results": "eval_results.json",
}


@dataclasses.dataclass(frozen=True)
class Deployment:
    """The deployment under test. Either address may be missing; its tests then skip."""

    episode_address: str | None
    gateway_url: str | None
    api_key: str | None = None
    tls_ca_file: str | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()

    def http_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def channel(self) -> grpc.Channel:
        if self.episode_address is None:
            pytest.skip("no episode service address (--episode-address)")
        if self.tls_ca_file:
            with open(self.tls_ca_file, "rb") as handle:
                credentials = grpc.ssl_channel_credentials(root_certificates=handle.read())
            return grpc.secure_channel(self.episode_address, credentials)
        return grpc.insecure_channel(self.episode_address)

    @staticmethod
    def from_environment(episode_address: str | None, gateway_url: str | None) -> Deployment:
        return Deployment(
            episode_address or os.environ.get("MLOPSDEBUG_CONFORMANCE_EPISODE_ADDRESS") or None,
            (gateway_url or os.environ.get("MLOPSDEBUG_CONFORMANCE_GATEWAY_URL") or "").rstrip("/") or None,
            api_key=os.environ.get("MLOPSDEBUG_API_KEY") or None,
            tls_ca_file=os.environ.get("MLOPSDEBUG_TLS_CA") or None,
        )


class Episodes:
    """Blocking calls to an episode service; every call carries the deployment's metadata and a deadline."""

    def __init__(self, channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
        self.channel = channel
        self.stub = ep_grpc.EpisodeServiceStub(channel)
        self._metadata = metadata

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=self._metadata, timeout=TIMEOUT_S)

    def list_tasks(self) -> ep.ListTasksResponse:
        return self.call("ListTasks", ep.ListTasksRequest())

    def reset(self, task_id: str = "easy", seed: int | None = None, **fields: Any) -> ep.ResetResponse:
        request = ep.ResetRequest(task_id=task_id, **fields)
        if seed is not None:
            request.seed = seed
        return self.call("Reset", request)

    def step(self, episode_id: str, action: pb.Action | None) -> pb.Observation:
        request = ep.StepRequest(episode_id=episode_id)
        if action is not None:
            request.action.CopyFrom(action)
        return self.call("Step", request).observation

    def state(self, episode_id: str) -> ep.EpisodeStateInfo:
        return self.call("GetState", ep.GetStateRequest(episode_id=episode_id)).state

    def close(self, episode_id: str) -> ep.EpisodeStateInfo:
        return self.call("CloseEpisode", ep.CloseEpisodeRequest(episode_id=episode_id)).state

    def session(self, requests: Iterator[ep.SessionRequest]) -> Iterator[ep.SessionResponse]:
        return self.stub.Session(requests, metadata=self._metadata, timeout=TIMEOUT_S)


# -- actions, built from the contract alone --

def enum_number(enum: Any, short: str) -> int:
    """The enum number of a seed-style name (`label_consistency`, `config.yaml`, `config_error`)."""
    descriptor = enum.DESCRIPTOR
    for value in descriptor.values:
        if value.number and value.name.endswith("_" + short.replace(".", "_").upper()):
            return value.number
    raise KeyError(short)


def action(kind: str, **fields: Any) -> pb.Action:
    """`action("read_logs", log_filter="loss")`, `action("run_sanity_check", check="data_leakage")`, ..."""
    if kind == "run_sanity_check":
        return pb.Action(run_sanity_check=pb.RunSanityCheck(check=enum_number(pb.SanityCheckType, fields["check"])))
    if kind == "query_artifact":
        return pb.Action(query_artifact=pb.QueryArtifact(
            artifact=enum_number(pb.ArtifactName, fields["artifact"]), field_path=fields["field_path"]))
    if kind == "submit_diagnosis":
        return pb.Action(submit_diagnosis=pb.SubmitDiagnosis(diagnosis=diagnosis(**fields)))
    message = pb.Action()
    getattr(message, kind).SetInParent()
    for name, value in fields.items():
        setattr(getattr(message, kind), name, value)
    return message


def diagnosis(category: str = "config_error", file: str = "config.yaml", field: str = "optimizer.learning_rate",
              text: str = "the loss diverges", fix: str = "lower the learning rate") -> pb.Diagnosis:
    """A well-formed diagnosis; the suite never knows, or needs, the right one."""
    return pb.Diagnosis(failure_category=enum_number(pb.FailureCategory, category),
                        root_cause_file=file, root_cause_field=field,
                        diagnosis=text, proposed_fix=fix)


def every_action() -> list[pb.Action]:
    """One of each non-submitting action type (every read, every sanity check, a query), in a fixed order."""
    reads = [action(kind) for kind in READ_ACTIONS]
    filtered = [action("read_logs", log_filter="epoch:1-2")]
    checks = [action("run_sanity_check", check=check) for check in vocabulary.SANITY_CHECKS]
    queries = [action("query_artifact", artifact=name, field_path="no_such_key")
               for name in vocabulary.STRUCTURED_ARTIFACTS]
    return [*reads, *filtered, *checks, *queries]


# -- statuses --

@dataclasses.dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    message: str
    reason: str | None
    domain: str | None
    fields: tuple[str, ...]


def refusal(err: grpc.RpcError) -> Refusal:
    """The status of a failed call with its google.rpc details (ErrorInfo reason and domain, BadRequest fields)."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    reason = domain = None
    fields: tuple[str, ...] = ()
    for detail in status.details if status is not None else ():
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, domain = info.reason, info.domain
        elif detail.Unpack(bad):
            fields = tuple(v.field for v in bad.field_violations)
    return Refusal(err.code(), err.details() or "", reason, domain, fields)


def refused(call: Any, *args: Any, **kwargs: Any) -> Refusal:
    """Calls and returns the refusal; fails the test if the call succeeds."""
    try:
        call(*args, **kwargs)
    except grpc.RpcError as err:
        return refusal(err)
    raise AssertionError(f"{getattr(call, '__name__', call)}{args} succeeded; a refusal was expected")


def canonical(message: Any) -> bytes:
    """Deterministic bytes of a message, for comparing two plays of one scenario."""
    return message.SerializeToString(deterministic=True)

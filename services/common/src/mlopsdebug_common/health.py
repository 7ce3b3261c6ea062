"""The container health probe of every service: exit 0 when the service reports healthy.

`mlopsdebug-health --grpc HOST:PORT [--identity NAME]` (grpc.health.v1) or `--http URL` (200 OK). It
lives here, not in the CLI, because each service's image holds only that service's distribution and
mlopsdebug-common; `mlopsdebug health` is the same probe.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--grpc", help="host:port of a gRPC service (grpc.health.v1)")
    target.add_argument("--http", help="URL of an HTTP health endpoint")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument(
        "--identity", default=None,
        help="with MLOPSDEBUG_MTLS_DIR set: the certificate to present (any of the cluster's; e.g. the service's own)",
    )
    parser.add_argument("--server-name", default=None, help="the name to expect in the server's certificate")


def check(args: argparse.Namespace) -> int:
    """0 healthy, 1 not (unreachable, not serving), 2 a usage error."""
    if args.http:
        try:
            with urllib.request.urlopen(args.http, timeout=args.timeout) as resp:  # noqa: S310
                return 0 if resp.status == 200 else 1
        except OSError:
            return 1
    mtls_dir = os.environ.get("MLOPSDEBUG_MTLS_DIR", "")
    if mtls_dir:
        # Health is open to every certificate of the cluster's CA: a container presents its own.
        from mlopsdebug_common.rpc import MutualTls  # noqa: PLC0415

        if not args.identity:
            print("error: with MLOPSDEBUG_MTLS_DIR set, --identity names the certificate to present", file=sys.stderr)
            return 2
        credentials = MutualTls.from_dir(mtls_dir, args.identity).channel_credentials()
        options = [("grpc.ssl_target_name_override", args.server_name)] if args.server_name else []
        channel = grpc.secure_channel(args.grpc, credentials, options=options)
    else:
        channel = grpc.insecure_channel(args.grpc)
    with channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=args.timeout)  # pyright: ignore[reportAttributeAccessIssue] - typeshed's HealthStub has no methods
        except grpc.RpcError:
            return 1
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlopsdebug-health", description="exit 0 if a service is healthy")
    add_arguments(parser)
    return check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

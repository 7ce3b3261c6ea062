"""A whole cluster in one child process, for the fuzz tier's memory check: generator, grader, episode
(real gRPC servers on port 0) and the gateway, serving until its stdin closes.

Prints one JSON line with the addresses, then blocks. Run as `python tests/fuzz/cluster_process.py`.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # tests/, for inprocess

from inprocess import InProcessCluster

from mlopsdebug_gateway.config import GatewayConfig
from mlopsdebug_gateway.server import start_in_thread


def main() -> None:
    cluster = InProcessCluster().start()
    gateway = start_in_thread(
        GatewayConfig(host="127.0.0.1", port=0, episode_addr=cluster.episode_addr, log_level="warning")
    )
    addresses = {name: cluster.address(name) for name in ("generator", "grader", "episode")}
    print(json.dumps({**addresses, "secret": cluster.secret.hex(), "gateway": gateway.url}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    gateway.stop()
    cluster.stop()


if __name__ == "__main__":
    main()

"""The episode service's configuration: one frozen dataclass, read from the environment by `from_env()`."""

from __future__ import annotations

import dataclasses

import grpc

from mlopsdebug_common import principals, rpc
from mlopsdebug_episode.core import EpisodeConfig


@dataclasses.dataclass(frozen=True, slots=True)
class EpisodeServerConfig:
    generator_addr: str = "localhost:50051"
    grader_addr: str = "localhost:50053"
    host: str = "[::]"
    port: int = 50052
    max_episodes: int = 10_000
    idle_timeout_s: float = 900.0
    scenario_cache_size: int = 2048
    peer_timeout_s: float = 10.0
    grace_s: float = 5.0
    # The episode identity's certificate for mutual TLS to generator and grader (MLOPSDEBUG_MTLS_DIR).
    mtls: rpc.MutualTls | None = None
    # TLS for clients of this service (MLOPSDEBUG_EPISODE_TLS_CERT / _KEY); None serves plaintext.
    edge_credentials: grpc.ServerCredentials | None = None
    # Sealed evaluations held at once (closed ones are evicted first), how long an open one may sit
    # unused before the service closes it when room is needed, and whether every reset must name one
    # (a held-out test server: no detailed grade is ever served).
    max_evaluations: int = 64
    evaluation_idle_s: float = 86_400.0
    require_evaluation: bool = False
    # Running episodes per principal (or anonymous client/connection); see README "Security model".
    max_episodes_per_principal: int = 256
    # API keys (MLOPSDEBUG_API_KEYS_FILE); None: keys off, callers are anonymous.
    api_keys: principals.ApiKeys | None = None
    # The shared episode store (MLOPSDEBUG_REDIS_URL, e.g. redis://127.0.0.1:6379/0): replicas on one
    # Redis serve each other's episodes. "": episodes live in this process (the memory store).
    redis_url: str = ""
    # Behind Envoy every anonymous caller without a client token shares Envoy's connection, so its
    # owner scope comes from Envoy's `x-mlopsdebug-peer` header (the caller's own address) instead
    # (MLOPSDEBUG_TRUST_PROXY_PEER). Only for replicas that nothing but Envoy can reach (deploy/k8s's
    # NetworkPolicy; `mlopsdebug up --episodes N` binds them to loopback): a direct caller could send it.
    trust_proxy_peer: bool = False

    @classmethod
    def from_env(cls) -> EpisodeServerConfig:
        return cls(
            generator_addr=rpc.env_str("MLOPSDEBUG_GENERATOR_ADDR", "localhost:50051"),
            grader_addr=rpc.env_str("MLOPSDEBUG_GRADER_ADDR", "localhost:50053"),
            host=rpc.env_str("MLOPSDEBUG_EPISODE_HOST", "[::]"),
            port=rpc.env_int("MLOPSDEBUG_EPISODE_PORT", 50052),
            max_episodes=rpc.env_int("MLOPSDEBUG_MAX_EPISODES", 10_000),
            idle_timeout_s=rpc.env_float("MLOPSDEBUG_IDLE_TIMEOUT_S", 900.0),
            scenario_cache_size=rpc.env_int("MLOPSDEBUG_SCENARIO_CACHE_SIZE", 2048),
            peer_timeout_s=rpc.env_float("MLOPSDEBUG_PEER_TIMEOUT_S", 10.0),
            grace_s=rpc.env_float("MLOPSDEBUG_GRACE_S", 5.0),
            max_evaluations=rpc.env_int("MLOPSDEBUG_MAX_EVALUATIONS", 64),
            evaluation_idle_s=rpc.env_float("MLOPSDEBUG_EVALUATION_IDLE_S", 86_400.0),
            require_evaluation=rpc.env_bool("MLOPSDEBUG_REQUIRE_EVALUATION", False),
            max_episodes_per_principal=rpc.env_int("MLOPSDEBUG_MAX_EPISODES_PER_PRINCIPAL", 256),
            api_keys=principals.keys_from_env(),
            redis_url=rpc.env_str("MLOPSDEBUG_REDIS_URL", ""),
            trust_proxy_peer=rpc.env_bool("MLOPSDEBUG_TRUST_PROXY_PEER", False),
            mtls=rpc.mtls_from_env(rpc.EPISODE_IDENTITY),
            edge_credentials=rpc.edge_tls_from_env("MLOPSDEBUG_EPISODE"),
        )

    def episode_config(self) -> EpisodeConfig:
        return EpisodeConfig(
            self.max_episodes,
            self.idle_timeout_s,
            max_episodes_per_owner=self.max_episodes_per_principal,
        )

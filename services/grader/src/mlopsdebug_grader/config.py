"""The grader's configuration: one frozen dataclass, read from environment variables by `from_env()`."""

from __future__ import annotations

import dataclasses

from mlopsdebug_common import rpc


@dataclasses.dataclass(frozen=True, slots=True)
class GraderConfig:
    secret: bytes
    host: str = "[::]"
    port: int = 50053
    grace_s: float = 5.0
    # Whether grades reveal the answer (training); the grader's own setting, never the caller's.
    reveal_answers: bool = False
    # Reveal the answers of held-out faults too (off: training on them would defeat the held-out split).
    reveal_heldout: bool = False
    # Mutual TLS (MLOPSDEBUG_MTLS_DIR): then only the episode service's identity may call; None: plaintext.
    mtls: rpc.MutualTls | None = None

    @classmethod
    def from_env(cls) -> GraderConfig:
        return cls(
            secret=rpc.secret_from_env(),
            reveal_heldout=rpc.env_bool("MLOPSDEBUG_REVEAL_HELDOUT", False),
            host=rpc.env_str("MLOPSDEBUG_GRADER_HOST", "[::]"),
            port=rpc.env_int("MLOPSDEBUG_GRADER_PORT", 50053),
            grace_s=rpc.env_float("MLOPSDEBUG_GRACE_S", 5.0),
            reveal_answers=rpc.env_bool("MLOPSDEBUG_REVEAL_ANSWERS", False),
            mtls=rpc.mtls_from_env("grader"),
        )

"""Typed clients of the agent-facing episode service (mlopsdebug.episode.v1.EpisodeService).

Two ways to play an episode:
- unary calls (`reset`, `step`, `get_state`, `close_episode`), each naming the episode id;
- a `Session` stream (`client.session()`), one long-lived call carrying the same four requests with
  one response each, in order. It is the lowest-latency path, sticks to one server behind a load
  balancer, and the server closes the episodes started on it when the client ends it. When the
  stream breaks (the service restarted, a connection dropped), the session opens a new one and
  resumes the episodes that still exist, without ever applying a request twice; see `_resume`.

Many episodes at once: `step_batch` (unary and on a session) applies one action to each of several
episodes in one message, as a vector environment steps; each step succeeds or fails on its own.
`AsyncEpisodeClient.batching_session()` does that batching for you: concurrent tasks each play their
own episode with plain `step` calls, and the steps that are waiting when the stream is free leave
together as one batch (resets and submissions, the slow requests, go over side streams). That is
the highest-throughput path.

Sealed evaluations (held-out test sets): the operator calls `create_evaluation` and
`close_evaluation` (the full report); the agent passes the evaluation id to `reset(...,
evaluation_id=...)` and sees only its scores.

Unary calls: only ListTasks, GetState, GetEvaluation and CloseEvaluation are retried on UNAVAILABLE;
Reset, Step, CloseEpisode and CreateEvaluation never are, because a lost response may already have
changed state (sessions can do better: they know the episodes' step counts and choose reset ids
themselves).

The implementation lives in `client` (unary clients), `session` (Session streams) and `batching`
(`AsyncBatchingSession`); this module keeps the names it always exported.
"""

from __future__ import annotations

from ._requests import BATCH_MAX_STEPS, FAULT_SPLITS, StepOutcome
from ._resume import CLIENT_DOMAIN, EpisodeBook
from .batching import AsyncBatchingSession
from .client import AsyncEpisodeClient, EpisodeClient
from .session import AsyncEpisodeSession, EpisodeSession

__all__ = [
    "BATCH_MAX_STEPS",
    "CLIENT_DOMAIN",
    "FAULT_SPLITS",
    "AsyncBatchingSession",
    "AsyncEpisodeClient",
    "AsyncEpisodeSession",
    "EpisodeBook",
    "EpisodeClient",
    "EpisodeSession",
    "StepOutcome",
]

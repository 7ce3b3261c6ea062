"""Where episodes live between calls: the store interface, the episode record, and the in-memory store.

No transport imports. Two stores implement `EpisodeStore`:
- `MemoryEpisodeStore` (this module), the embedded default: one process holds its episodes as live
  objects; limits count this process's episodes; an idle reaper closes forgotten ones.
- `RedisEpisodeStore` (`mlopsdebug_episode.redis_store`, with MLOPSDEBUG_REDIS_URL): every replica
  reads and writes the same small records in Redis, so any replica serves any episode; each write is
  one compare-and-set on the record's version; limits count in Redis; the idle timeout is a TTL.

A record never holds the scenario: the generator is deterministic, so a replica rebuilds it from
(task, seed, split) through its scenario source (its cache, or the generator) and checks the id.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson

from mlopsdebug_common.domain import Grade, GradeComponent, RevealedAnswer
from mlopsdebug_common.errors import AlreadyExists, ResourceExhausted

if TYPE_CHECKING:
    from mlopsdebug_episode.core import Episode, EpisodeConfig

# Bumped when the record's layout changes incompatibly: a replica refuses records it cannot read.
RECORD_FORMAT: Final = 1


@dataclasses.dataclass(slots=True)
class EpisodeRecord:
    """Everything a replica needs to continue an episode exactly where another left it, and no more:
    rewards and observations are computed from these fields and the (regenerated) scenario."""

    owner: str
    episode_id: str
    task_id: str
    seed: int
    split: str
    scenario_id: str
    generator_version: str
    created_at: str
    version: int  # 1 when created, +1 per applied step: the compare-and-set guard
    step_count: int = 0
    terminated: bool = False
    truncated: bool = False
    cumulative_reward: float = 0.0
    artifacts_read: list[str] = dataclasses.field(default_factory=list)
    sanity_checks_run: list[str] = dataclasses.field(default_factory=list)
    duplicate_reads: int = 0
    # Identities of the reads made (Action.identity()), for the repeated-read penalty.
    seen_reads: list[list[str]] = dataclasses.field(default_factory=list)
    grade: Grade | None = None
    # The sealed evaluation's slot this episode plays ("" outside evaluations).
    evaluation_id: str = ""
    evaluation_index: int = 0

    @classmethod
    def of(cls, episode: Episode) -> EpisodeRecord:
        slot = episode.evaluation
        return cls(
            owner=episode.owner,
            episode_id=episode.episode_id,
            task_id=episode.task.task_id,
            seed=episode.seed,
            split=episode.split,
            scenario_id=episode.scenario.scenario_id,
            generator_version=episode.scenario.generator_version,
            created_at=episode.created_at,
            version=episode.version,
            step_count=episode.step_count,
            terminated=episode.terminated,
            truncated=episode.truncated,
            cumulative_reward=episode.cumulative_reward,
            artifacts_read=list(episode.artifacts_read),
            sanity_checks_run=list(episode.sanity_checks_run),
            duplicate_reads=episode.duplicate_reads,
            seen_reads=sorted(list(identity) for identity in episode.seen_reads),
            grade=episode.grade,
            evaluation_id=slot.evaluation_id if slot is not None else "",
            evaluation_index=slot.index if slot is not None else 0,
        )

    def encode(self) -> bytes:
        """Compact JSON (about 1 KB for an episode at its step limit); the version is stored beside it."""
        body = {
            "f": RECORD_FORMAT,
            "owner": self.owner,
            "id": self.episode_id,
            "task": self.task_id,
            "seed": self.seed,
            "split": self.split,
            "scenario": self.scenario_id,
            "gen": self.generator_version,
            "created": self.created_at,
            "steps": self.step_count,
            "term": self.terminated,
            "trunc": self.truncated,
            "reward": self.cumulative_reward,
            "read": self.artifacts_read,
            "checks": self.sanity_checks_run,
            "dup": self.duplicate_reads,
            "seen": self.seen_reads,
            "grade": _grade_to_json(self.grade) if self.grade is not None else None,
            "eval": self.evaluation_id,
            "eval_index": self.evaluation_index,
        }
        return orjson.dumps(body)

    @classmethod
    def decode(cls, data: bytes, version: int) -> EpisodeRecord:
        body = orjson.loads(data)
        if body.get("f") != RECORD_FORMAT:
            raise ValueError(f"episode record format {body.get('f')!r}; this replica reads {RECORD_FORMAT}")
        return cls(
            owner=body["owner"],
            episode_id=body["id"],
            task_id=body["task"],
            seed=body["seed"],
            split=body["split"],
            scenario_id=body["scenario"],
            generator_version=body["gen"],
            created_at=body["created"],
            version=version,
            step_count=body["steps"],
            terminated=body["term"],
            truncated=body["trunc"],
            cumulative_reward=body["reward"],
            artifacts_read=list(body["read"]),
            sanity_checks_run=list(body["checks"]),
            duplicate_reads=body["dup"],
            seen_reads=[list(identity) for identity in body["seen"]],
            grade=_grade_from_json(body["grade"]) if body["grade"] is not None else None,
            evaluation_id=body["eval"],
            evaluation_index=body["eval_index"],
        )


def _grade_to_json(grade: Grade) -> dict[str, Any]:
    return dataclasses.asdict(grade)


def _grade_from_json(body: dict[str, Any]) -> Grade:
    answer = body.get("answer")
    return Grade(
        score=body["score"],
        raw_score=body["raw_score"],
        asymmetric_penalty=body["asymmetric_penalty"],
        components=tuple(GradeComponent(**c) for c in body["components"]),
        grader_version=body["grader_version"],
        answer=(
            RevealedAnswer(**{**answer, "field_aliases": tuple(answer["field_aliases"])})
            if answer is not None
            else None
        ),
    )


# Rebuilds a live episode (scenario, evaluation slot) from a stored record; the manager supplies it.
Materialize = Callable[[EpisodeRecord], Awaitable["Episode"]]


class EpisodeStore(Protocol):
    """Where episodes live. Every method either does all it says or changes nothing.

    `shared` stores are read and written by other processes too: the manager then never mutates an
    episode it got from the store, but applies a step to a copy and commits it, and a commit fails
    (Aborted) when the stored version is no longer the one the step was computed on.
    """

    shared: bool

    async def reserve(self, owner: str, episode_id: str, *, named: bool) -> None:
        """Holds a running-episode slot for a reset under way. Refuses a named id already taken
        (AlreadyExists), a full owner quota or capacity (ResourceExhausted)."""
        ...

    async def release(self, owner: str, episode_id: str) -> None:
        """Gives back a reserved slot whose reset failed before `create`."""
        ...

    async def create(self, episode: Episode) -> None:
        """Stores a new episode (version 1) in its reserved slot."""
        ...

    async def get(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        """The episode's latest state, or None (never existed, closed, or expired)."""
        ...

    async def commit(self, episode: Episode) -> None:
        """Stores a step's result: `episode.version` is one past the version the step was computed on.
        Refuses with Aborted if the stored version moved, NotFound if the episode is gone. An episode
        that just ended gives back its running slot."""
        ...

    async def delete(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        """Removes the episode; returns its last state, or None if there was none."""
        ...

    def reap_idle(self) -> list[str]:
        """Closes episodes idle past the timeout (stores whose records expire by themselves return [])."""
        ...

    async def close(self) -> None:
        """Releases connections."""
        ...


class MemoryEpisodeStore:
    """The embedded store: live episodes in this process's memory, limits per process.

    Only running episodes (and resets under way) count against `max_episodes` and
    `max_episodes_per_owner`; an ended episode stays readable until it is closed, reaped, or pushed
    out by newer ended episodes (at most that many are kept, overall and per owner).
    """

    shared = False

    def __init__(self, config: EpisodeConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._episodes: dict[tuple[str, str], Episode] = {}
        # Running episodes plus resets still waiting for their scenario, overall and by owner: the
        # numbers the limits apply to (a pending reset holds its slot, so capacity cannot be overshot).
        self._open = 0
        self._open_by_owner: collections.Counter[str] = collections.Counter()
        self._pending_ids: set[tuple[str, str]] = set()
        # Ended episodes, oldest first, overall and by owner: kept for reading, within bounds.
        self._ended: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._ended_by_owner: dict[str, collections.OrderedDict[tuple[str, str], None]] = {}

    def __len__(self) -> int:
        return len(self._episodes)

    @property
    def open_count(self) -> int:
        return self._open

    def open_count_of(self, owner: str) -> int:
        return self._open_by_owner.get(owner, 0)

    def has(self, owner: str, episode_id: str) -> bool:
        return (owner, episode_id) in self._episodes

    def holds(self, episode: Episode) -> bool:
        """Whether `episode` is still the one stored under its id (not closed meanwhile)."""
        return self._episodes.get((episode.owner, episode.episode_id)) is episode

    async def reserve(self, owner: str, episode_id: str, *, named: bool) -> None:
        key = (owner, episode_id)
        if named and (key in self._episodes or key in self._pending_ids):
            raise AlreadyExists(f"episode {episode_id!r} already exists", reason="EPISODE_EXISTS")
        self._check_limits(owner)
        self._open += 1
        self._open_by_owner[owner] += 1
        self._pending_ids.add(key)

    async def release(self, owner: str, episode_id: str) -> None:
        self._pending_ids.discard((owner, episode_id))
        self._release_slot(owner)

    async def create(self, episode: Episode) -> None:
        key = (episode.owner, episode.episode_id)
        self._pending_ids.discard(key)
        self._episodes[key] = episode

    async def get(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        return self._episodes.get((owner, episode_id))

    async def commit(self, episode: Episode) -> None:
        # The episode was changed in place under its lock; only the ended bookkeeping is left (and not
        # for a submission whose episode was closed while it was graded).
        if episode.done and self.holds(episode):
            self._ended_now(episode)

    async def delete(self, owner: str, episode_id: str, materialize: Materialize) -> Episode | None:
        if (owner, episode_id) not in self._episodes:
            return None
        return self._remove((owner, episode_id))

    def reap_idle(self) -> list[str]:
        cutoff = self._clock() - self.config.idle_timeout_s
        expired = [key for key, ep in self._episodes.items() if ep.last_active < cutoff and not ep.lock.locked()]
        for key in expired:
            self._remove(key)
        return [episode_id for _, episode_id in expired]

    async def close(self) -> None:
        return None

    def _check_limits(self, owner: str) -> None:
        """Refuses a reset past the owner's quota or the process's capacity (after reaping idle episodes)."""
        quota = self.config.max_episodes_per_owner
        over_quota = quota is not None and self._open_by_owner.get(owner, 0) >= quota
        if over_quota or self._open >= self.config.max_episodes:
            self.reap_idle()
        if quota is not None and self._open_by_owner.get(owner, 0) >= quota:
            raise quota_exhausted(quota)
        if self._open >= self.config.max_episodes:
            raise capacity_exhausted(self.config.max_episodes)

    def _release_slot(self, owner: str) -> None:
        self._open -= 1
        left = self._open_by_owner[owner] - 1
        if left:
            self._open_by_owner[owner] = left
        else:
            del self._open_by_owner[owner]

    def _ended_now(self, episode: Episode) -> None:
        """An episode just ended: it gives back its slot and joins the bounded set of ended ones kept."""
        self._release_slot(episode.owner)
        key = (episode.owner, episode.episode_id)
        mine = self._ended_by_owner.setdefault(episode.owner, collections.OrderedDict())
        self._ended[key] = None
        mine[key] = None
        keep_mine = self.config.max_episodes_per_owner or self.config.max_episodes
        while len(mine) > keep_mine:
            self._remove(next(iter(mine)))
        while len(self._ended) > self.config.max_episodes:
            self._remove(next(iter(self._ended)))

    def _remove(self, key: tuple[str, str]) -> Episode:
        episode = self._episodes.pop(key)
        if not episode.done:
            self._release_slot(episode.owner)
        else:
            del self._ended[key]
            mine = self._ended_by_owner[episode.owner]
            del mine[key]
            if not mine:
                del self._ended_by_owner[episode.owner]
        return episode


def quota_exhausted(quota: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"quota max_episodes_per_principal reached: {quota} running episodes per principal; "
        "finish or close one of yours first",
        reason="EPISODE_QUOTA",
        metadata={"quota": "max_episodes_per_principal", "limit": str(quota)},
    )


def capacity_exhausted(max_episodes: int) -> ResourceExhausted:
    return ResourceExhausted(
        f"at capacity: {max_episodes} episodes running; retry later",
        reason="EPISODE_CAPACITY",
        metadata={"quota": "max_episodes", "max_episodes": str(max_episodes)},
    )

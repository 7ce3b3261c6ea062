"""The episode core: episodes, actions, rewards, budgets. No transport imports.

The two things it waits on (a scenario, a grade) come through small protocols that the server
implements over gRPC. Every refused call leaves the episode exactly as it was: checks and remote
calls happen before any mutation. Episodes live in an `EpisodeStore` (mlopsdebug_episode.store): in
memory (the default) a step mutates the episode under its lock; in a shared store (Redis) a step is
applied to a copy that is committed only if nobody advanced the episode meanwhile (else ABORTED).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import yaml

from mlopsdebug_common.domain import Grade, SanityCheckResult, Scenario
from mlopsdebug_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from mlopsdebug_common.sealing import SealedKey
from mlopsdebug_common.tasks import MAX_SEED, TASK_IDS, TASKS, TaskSpec
from mlopsdebug_common.validation import (
    EPISODE_ID_PATTERN,
    STEP_BATCH_MAX_STEPS,
    validate_seed,
    validate_split,
    validate_task_id,
)
from mlopsdebug_episode.actions import READ_TARGETS, Action, parse_epoch_filter, validate_action
from mlopsdebug_episode.evaluation import (
    EvaluationBook,
    EvaluationStore,
    MemoryEvaluationStore,
    SlotRef,
    score_only,
)
from mlopsdebug_episode.store import EpisodeRecord, EpisodeStore, MemoryEpisodeStore

REWARD_NEW_ARTIFACT: Final = 0.02
REWARD_REPEATED_READ: Final = -0.02
REWARD_NEW_SANITY_CHECK: Final = 0.01
_EPISODE_ID = re.compile(EPISODE_ID_PATTERN)
# Log lines that open an epoch ("Epoch 3/20", "epoch=3", "[epoch 3]") move the epoch filter's cursor.
_EPOCH_MARK = re.compile(r"\bepoch\b\D{0,3}(\d+)", re.IGNORECASE)
# Outcomes of queries and filtered log reads kept, by (scenario, what was asked): a scenario never
# changes, so neither do they, and recomputing them (json.dumps, filtering the log) costs every step.
LOOKUP_CACHE_SIZE: Final = 16_384
EXCERPT_CACHE_SIZE: Final = 1_024  # an excerpt may be a whole log


class ScenarioSource(Protocol):
    async def get(self, task_id: str, seed: int, split: str = "all") -> Scenario: ...


class Grader(Protocol):
    """Scores a diagnosis; whether the grade reveals the answer is the grader's own setting."""

    async def grade(self, key: SealedKey, diagnosis: Any, *, task: TaskSpec) -> Grade: ...


@dataclasses.dataclass(frozen=True, slots=True)
class EpisodeConfig:
    """Limits of the episode service: of one process with the memory store, of all replicas together
    with a shared store (counted in Redis). Only running episodes (and resets under way) count against
    `max_episodes` and `max_episodes_per_owner`; an ended episode stays readable until it is closed,
    reaped, or pushed out by newer ended episodes (at most that many are kept, overall and per owner).
    """

    max_episodes: int = 10_000
    idle_timeout_s: float = 900.0
    # Running episodes one owner may hold; None: only max_episodes applies.
    max_episodes_per_owner: int | None = None

    def __post_init__(self) -> None:
        if self.max_episodes < 1 or (self.max_episodes_per_owner is not None and self.max_episodes_per_owner < 1):
            raise ValueError("max_episodes and max_episodes_per_owner must be at least 1")


@dataclasses.dataclass(frozen=True, slots=True)
class LogExcerpt:
    log_filter: str
    content: str
    matched_lines: int
    total_lines: int


@dataclasses.dataclass(frozen=True, slots=True)
class ArtifactRead:
    name: str
    content: str


@dataclasses.dataclass(frozen=True, slots=True)
class FieldLookup:
    artifact: str
    field_path: str
    found: bool
    value_json: str = ""
    available_keys: tuple[str, ...] = ()


ActionOutcome = ArtifactRead | LogExcerpt | SanityCheckResult | FieldLookup | Grade | None


@dataclasses.dataclass(slots=True)
class Episode:
    owner: str  # the scope that created it: only calls from the same owner reach it
    episode_id: str
    task: TaskSpec
    seed: int
    scenario: Scenario
    created_at: str
    last_active: float
    step_count: int = 0
    terminated: bool = False
    truncated: bool = False
    cumulative_reward: float = 0.0
    artifacts_read: list[str] = dataclasses.field(default_factory=list)
    sanity_checks_run: list[str] = dataclasses.field(default_factory=list)
    duplicate_reads: int = 0
    seen_reads: set[tuple[str, ...]] = dataclasses.field(default_factory=set)
    grade: Grade | None = None
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    # The sealed evaluation's slot this episode plays; None in training mode.
    evaluation: SlotRef | None = None
    split: str = "all"
    # 1 when created, +1 per applied step: a shared store's compare-and-set guard.
    version: int = 1

    def successor(self) -> Episode:
        """A copy to apply one step to (shared stores): the original stays as it was until the commit."""
        return dataclasses.replace(
            self,
            artifacts_read=list(self.artifacts_read),
            sanity_checks_run=list(self.sanity_checks_run),
            seen_reads=set(self.seen_reads),
            version=self.version + 1,
        )

    @property
    def sealed(self) -> bool:
        """In a sealed evaluation: the seed is withheld and grades carry only the score."""
        return self.evaluation is not None

    @property
    def done(self) -> bool:
        return self.terminated or self.truncated

    @property
    def state(self) -> str:
        if self.terminated:
            return "terminated"
        if self.truncated:
            return "truncated"
        return "running"


@dataclasses.dataclass(frozen=True, slots=True)
class StepResult:
    episode: Episode
    outcome: ActionOutcome
    reward: float
    messages: tuple[str, ...]


class EpisodeManager:
    """Owns all episodes of one process. Safe for any number of concurrent callers on one event loop.

    Every episode belongs to an owner (an opaque scope string the server derives from the caller:
    a principal, a client token, a connection). Episode ids are scoped to their owner: another owner
    naming the same id reaches nothing (NOT_FOUND, as for an id that never existed) and may create
    its own episode under that id. The empty owner is the default for in-process callers.
    """

    def __init__(
        self,
        scenarios: ScenarioSource,
        grader: Grader,
        config: EpisodeConfig = EpisodeConfig(),
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        evaluations: EvaluationStore | EvaluationBook | None = None,
        store: EpisodeStore | None = None,
    ) -> None:
        self._scenarios = scenarios
        # A bare book (tests, embedded use) is held in memory; a deployment passes its store.
        self.evaluations: EvaluationStore = (
            MemoryEvaluationStore(evaluations) if evaluations is None or isinstance(evaluations, EvaluationBook)
            else evaluations
        )
        self._grader = grader
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self.store: EpisodeStore = store if store is not None else MemoryEpisodeStore(config, clock)
        self._parsed: collections.OrderedDict[tuple[str, str], Any] = collections.OrderedDict()
        self._lookups: collections.OrderedDict[tuple[str, str, str], FieldLookup] = collections.OrderedDict()
        self._excerpts: collections.OrderedDict[tuple[str, str], LogExcerpt] = collections.OrderedDict()

    def _memory(self) -> MemoryEpisodeStore:
        if not isinstance(self.store, MemoryEpisodeStore):
            raise TypeError("only the memory store counts episodes in this process")
        return self.store

    def __len__(self) -> int:
        return len(self._memory())

    @property
    def open_count(self) -> int:
        """Running episodes and resets under way: what max_episodes limits (memory store)."""
        return self._memory().open_count

    def open_count_of(self, owner: str) -> int:
        return self._memory().open_count_of(owner)

    async def reset(
        self,
        task_id: str,
        seed: int | None = None,
        episode_id: str = "",
        split: str = "all",
        *,
        evaluation_id: str = "",
        owner: str = "",
    ) -> Episode:
        """Starts an episode; with `evaluation_id`, on that sealed evaluation's next scenario of the task."""
        if evaluation_id or self.evaluations.require_evaluation:
            task_id = await self.evaluations.resolve_task(evaluation_id, task_id, seed)
        task = TASKS[validate_task_id(task_id)]
        validate_split(task.task_id, split)
        if seed is None:
            seed = secrets.randbelow(MAX_SEED + 1)
        validate_seed(seed)
        named = bool(episode_id)
        if episode_id:
            if not _EPISODE_ID.match(episode_id):
                raise InvalidArgument.for_field(
                    "episode_id", "1 to 128 characters of [A-Za-z0-9._:-]", reason="INVALID_EPISODE_ID"
                )
        else:
            episode_id = "ep-" + secrets.token_hex(12)
        await self.store.reserve(owner, episode_id, named=named)
        try:
            slot = await self.evaluations.draw(evaluation_id, task.task_id) if evaluation_id else None
        except BaseException:
            await self.store.release(owner, episode_id)
            raise
        if slot is not None:
            seed = slot.seed
        attached = False
        try:
            scenario = await self._scenarios.get(task.task_id, seed, split)
            if slot is not None:  # refused if the evaluation closed meanwhile
                await self.evaluations.attach(slot, episode_id, scenario.scenario_id)
                attached = True
            now = self._wall_clock().replace(microsecond=0).isoformat().replace("+00:00", "Z")
            episode = Episode(
                owner, episode_id, task, seed, scenario, now, self._clock(), evaluation=slot, split=split
            )
            await self.store.create(episode)
        except BaseException:
            # Nobody saw the scenario: the next reset takes it. Once bound to this episode id it stays used
            # (score 0), as a record whose write failed may exist all the same; a store that is down too
            # keeps it drawn.
            if slot is not None and not attached:
                with contextlib.suppress(Exception):
                    await self.evaluations.put_back(slot)
            with contextlib.suppress(Exception):  # a store that is down lets the reservation expire
                await self.store.release(owner, episode_id)
            raise
        return episode

    async def _materialize(self, record: EpisodeRecord) -> Episode:
        """A live episode from a stored record: its scenario regenerated (or cached) and checked by id."""
        task = TASKS.get(record.task_id)
        if task is None:
            raise FailedPrecondition(f"episode {record.episode_id!r} plays task {record.task_id!r}, unknown here",
                                     reason="EPISODE_UNREADABLE")
        slot = None
        if record.evaluation_id:
            slot = self.evaluations.slot_of(record.evaluation_id, record.task_id, record.evaluation_index, record.seed)
            if slot is None:
                raise FailedPrecondition(
                    f"episode {record.episode_id!r} belongs to a sealed evaluation held by another replica; "
                    "send its calls to the replica that created the evaluation",
                    reason="EVALUATION_ELSEWHERE",
                )
        scenario = await self._scenarios.get(record.task_id, record.seed, record.split)
        if scenario.scenario_id != record.scenario_id:
            raise FailedPrecondition(
                f"episode {record.episode_id!r} was started on a scenario that this replica's generator no longer "
                "makes (another generator version or salt); it cannot continue here and expires when idle",
                reason="SCENARIO_CHANGED",
            )
        return Episode(
            owner=record.owner,
            episode_id=record.episode_id,
            task=task,
            seed=record.seed,
            scenario=scenario,
            created_at=record.created_at,
            last_active=self._clock(),
            step_count=record.step_count,
            terminated=record.terminated,
            truncated=record.truncated,
            cumulative_reward=record.cumulative_reward,
            artifacts_read=list(record.artifacts_read),
            sanity_checks_run=list(record.sanity_checks_run),
            duplicate_reads=record.duplicate_reads,
            seen_reads={tuple(identity) for identity in record.seen_reads},
            grade=record.grade,
            evaluation=slot,
            split=record.split,
            version=record.version,
        )

    async def get(self, episode_id: str, *, owner: str = "") -> Episode:
        if not episode_id:
            raise InvalidArgument.for_field("episode_id", "required", reason="EPISODE_ID_MISSING")
        episode = await self.store.get(owner, episode_id, self._materialize)
        if episode is None:
            raise _not_found(episode_id)
        return episode

    def has(self, episode_id: str, *, owner: str = "") -> bool:
        """Whether this process holds the episode (memory store)."""
        return self._memory().has(owner, episode_id)

    @staticmethod
    def list_tasks() -> tuple[TaskSpec, ...]:
        """The tasks a reset accepts: the families first, then the pinned versions."""
        return tuple(TASKS[task_id] for task_id in TASK_IDS)

    async def close(self, episode_id: str, *, owner: str = "") -> Episode:
        if not episode_id:
            raise InvalidArgument.for_field("episode_id", "required", reason="EPISODE_ID_MISSING")
        episode = await self.store.delete(owner, episode_id, self._materialize)
        if episode is None:
            raise _not_found(episode_id)
        return episode

    def reap_idle(self) -> list[str]:
        """Closes episodes idle longer than the timeout; returns their ids (a shared store expires them itself)."""
        return self.store.reap_idle()

    async def step(self, episode_id: str, action: Action, *, owner: str = "") -> StepResult:
        validate_action(action)
        episode = await self.get(episode_id, owner=owner)
        if self.store.shared:
            return await self._step_shared(episode, action)
        memory: MemoryEpisodeStore = self.store  # type: ignore[assignment]
        async with episode.lock:
            if not memory.holds(episode):
                raise NotFound(f"episode {episode_id!r} was closed", reason="EPISODE_NOT_FOUND")
            if episode.done:
                raise _ended(episode)
            slot = episode.evaluation
            if slot is not None:
                await self.evaluations.check_open(slot)
            full_grade = None
            if action.kind == "submit_diagnosis":
                # The remote call happens before any mutation: if it fails, the episode is untouched.
                grade = await self._grader.grade(
                    episode.scenario.answer_key,
                    action.diagnosis,
                    task=episode.task,
                )
                if slot is not None:  # the full grade goes to the operator's report only
                    await self.evaluations.check_sealable(slot)
                    full_grade, grade = grade, score_only(grade)
                result = self._apply(episode, action, grade, grade.score)
            else:
                outcome, reward = self._observe(episode, action)
                result = self._apply(episode, action, outcome, reward)
            episode.version += 1
            await memory.commit(episode)
            if slot is not None:
                await self.evaluations.observe(slot, episode.step_count, episode.truncated, full_grade)
            return result

    async def _step_shared(self, episode: Episode, action: Action) -> StepResult:
        """A step on a shared store's episode: computed on the version just read, applied to a copy, and
        committed only if the stored version is still that one (else ABORTED, nothing applied)."""
        if episode.done:
            raise _ended(episode)
        slot = episode.evaluation
        if slot is not None:
            await self.evaluations.check_open(slot)
        full_grade = None
        if action.kind == "submit_diagnosis":
            full_grade = await self._grader.grade(episode.scenario.answer_key, action.diagnosis, task=episode.task)
            if slot is not None:
                await self.evaluations.check_sealable(slot)
            outcome: ActionOutcome = score_only(full_grade) if slot is not None else full_grade
            reward = full_grade.score
        else:
            outcome, reward = self._observe(episode, action)
        successor = episode.successor()
        result = self._apply(successor, action, outcome, reward)
        await self.store.commit(successor)
        if slot is not None:
            await self.evaluations.observe(slot, successor.step_count, successor.truncated, full_grade)
        return result

    async def step_batch(
        self,
        items: Sequence[tuple[str, Action | None]],
        *,
        owner: str = "",
        owners: Sequence[str] | None = None,
    ) -> list[StepResult | Exception]:
        """One step on each of several distinct episodes: a vector environment's step.

        Each item succeeds or fails alone, exactly as `step` would (its error is returned in its
        place, its episode untouched). Only a malformed batch raises, before any item runs.
        Submissions wait on the grader, so they run concurrently after the other items.
        `owners`, when given, names each item's owner (a gateway's batch carries many clients' steps).
        """
        item_owners = list(owners) if owners is not None else [owner] * len(items)
        if not 1 <= len(items) <= STEP_BATCH_MAX_STEPS:
            raise InvalidArgument.for_field(
                "steps", f"{len(items)} steps; a batch holds 1 to {STEP_BATCH_MAX_STEPS}", reason="BATCH_SIZE"
            )
        if len({(o, episode_id) for o, (episode_id, _) in zip(item_owners, items, strict=True)}) != len(items):
            raise InvalidArgument.for_field(
                "steps",
                "two steps name the same episode; a batch takes one step per episode",
                reason="BATCH_DUPLICATE",
            )
        results: list[StepResult | Exception | None] = []
        submissions: list[int] = []
        others: list[int] = []
        for index, (episode_id, action) in enumerate(items):
            if action is not None and action.kind == "submit_diagnosis":
                submissions.append(index)
                results.append(None)  # filled in once graded
            elif self.store.shared:
                others.append(index)
                results.append(None)  # filled in below, all at once
            else:
                results.append(await self._step_or_error(episode_id, action, item_owners[index]))
        if others:  # a shared store's round trips for distinct episodes go out together (one pipeline)
            stepped = await asyncio.gather(*(self._step_or_error(*items[i], item_owners[i]) for i in others))
            for index, outcome in zip(others, stepped, strict=True):
                results[index] = outcome
        if submissions:
            graded = await asyncio.gather(*(self._step_or_error(*items[i], item_owners[i]) for i in submissions))
            for index, outcome in zip(submissions, graded, strict=True):
                results[index] = outcome
        return [outcome for outcome in results if outcome is not None]

    async def _step_or_error(self, episode_id: str, action: Action | None, owner: str) -> StepResult | Exception:
        try:
            if action is None:
                raise InvalidArgument.for_field("action", "required", reason="ACTION_MISSING")
            return await self.step(episode_id, action, owner=owner)
        except Exception as exc:  # noqa: BLE001 - one item's failure is that item's answer
            return exc

    def _observe(self, episode: Episode, action: Action) -> tuple[ActionOutcome, float]:
        """Computes the result and reward of a non-submitting action without mutating the episode."""
        scenario = episode.scenario
        if action.kind == "run_sanity_check":
            first = action.check not in episode.sanity_checks_run
            return scenario.sanity_check(action.check), (REWARD_NEW_SANITY_CHECK if first else 0.0)
        if action.kind == "query_artifact":
            outcome: ActionOutcome = self._lookup(scenario, action.artifact, action.field_path.strip())
            target = action.artifact
        else:
            target = READ_TARGETS[action.kind]
            content = scenario.artifact(target).content
            if action.kind == "read_logs":
                outcome = self._excerpt(scenario, target, content, action.log_filter)
            else:
                outcome = ArtifactRead(target, content)
        if target not in episode.artifacts_read:
            reward = REWARD_NEW_ARTIFACT
        elif action.identity() in episode.seen_reads:
            reward = REWARD_REPEATED_READ
        else:
            reward = 0.0
        return outcome, reward

    def _apply(self, episode: Episode, action: Action, outcome: ActionOutcome, reward: float) -> StepResult:
        messages: list[str] = []
        episode.step_count += 1
        episode.last_active = self._clock()
        if action.kind == "submit_diagnosis":
            episode.terminated = True
            episode.grade = outcome  # type: ignore[assignment]
            messages.append(f"Diagnosis graded: score {reward:.3f}. The episode has ended.")
        else:
            if action.kind == "run_sanity_check":
                if action.check not in episode.sanity_checks_run:
                    episode.sanity_checks_run.append(action.check)
            else:
                target = action.artifact if action.kind == "query_artifact" else READ_TARGETS[action.kind]
                if target not in episode.artifacts_read:
                    episode.artifacts_read.append(target)
                identity = action.identity()
                if reward < 0:
                    episode.duplicate_reads += 1
                    messages.append("Identical to an earlier read; repeated reads cost reward.")
                episode.seen_reads.add(identity)
            if episode.step_count >= episode.task.max_steps:
                episode.truncated = True
                messages.append("Step budget exhausted without a diagnosis; the episode is truncated.")
            else:
                left = episode.task.max_steps - episode.step_count
                if left <= 3:
                    messages.append(f"{left} step{'s' if left != 1 else ''} left.")
        episode.cumulative_reward = round(episode.cumulative_reward + reward, 10)
        return StepResult(episode, outcome, reward, tuple(messages))

    def _excerpt(self, scenario: Scenario, log: str, content: str, log_filter: str) -> LogExcerpt:
        key = (scenario.scenario_id, log_filter)
        excerpt = self._excerpts.get(key)
        if excerpt is None:
            excerpt = _filter_log(self._parsed_artifact(scenario, log), content, log_filter)
            _remember(self._excerpts, key, excerpt, EXCERPT_CACHE_SIZE)
        else:
            self._excerpts.move_to_end(key)
        return excerpt

    def _lookup(self, scenario: Scenario, artifact: str, path: str) -> FieldLookup:
        key = (scenario.scenario_id, artifact, path)
        found = self._lookups.get(key)
        if found is None:
            found = self._look_up(scenario, artifact, path)
            _remember(self._lookups, key, found, LOOKUP_CACHE_SIZE)
        else:
            self._lookups.move_to_end(key)
        return found

    def _look_up(self, scenario: Scenario, artifact: str, path: str) -> FieldLookup:
        doc = self._parsed_artifact(scenario, artifact)
        node: Any = doc
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                node = node[int(part)]
            else:
                if isinstance(node, dict):
                    keys = tuple(sorted(str(k) for k in node))
                elif isinstance(node, list):
                    keys = tuple(str(i) for i in range(len(node)))
                else:
                    keys = ()
                return FieldLookup(artifact, path, False, available_keys=keys)
        return FieldLookup(artifact, path, True, value_json=json.dumps(node, sort_keys=False, default=str))

    def _parsed_artifact(self, scenario: Scenario, artifact: str) -> Any:
        """Parsed artifacts (the log indexed by line), memoised per scenario: re-parsing per step would dominate."""
        key = (scenario.scenario_id, artifact)
        cached = self._parsed.get(key)
        if cached is not None:
            self._parsed.move_to_end(key)
            return cached
        content = scenario.artifact(artifact).content
        if artifact == "train.log":
            doc: Any = _IndexedLog.of(content)
        elif artifact.endswith(".yaml"):
            doc = yaml.safe_load(content)
        else:
            doc = json.loads(content)
        self._parsed[key] = doc
        if len(self._parsed) > 4096:
            self._parsed.popitem(last=False)
        return doc


def _remember(cache: collections.OrderedDict[Any, Any], key: Any, value: Any, limit: int) -> None:
    cache[key] = value
    if len(cache) > limit:
        cache.popitem(last=False)


def _not_found(episode_id: str) -> NotFound:
    shown = episode_id if len(episode_id) <= 64 else episode_id[:64] + "..."
    return NotFound(
        f"no open episode {shown!r} (never started, closed, or expired after being idle)",
        reason="EPISODE_NOT_FOUND",
    )


def _ended(episode: Episode) -> FailedPrecondition:
    return FailedPrecondition(
        f"episode {episode.episode_id!r} has ended ({episode.state}); reset to start a new one",
        reason="EPISODE_ENDED",
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _IndexedLog:
    """A log split once, with the lowered text and the epoch of every line, for cheap filtering."""

    lines: tuple[str, ...]
    lowered: tuple[str, ...]
    epochs: tuple[int, ...]

    @classmethod
    def of(cls, content: str) -> _IndexedLog:
        lines = tuple(content.splitlines())
        epochs, current = [], 0
        for line in lines:
            mark = _EPOCH_MARK.search(line)
            if mark is not None:
                current = int(mark.group(1))
            epochs.append(current)
        return cls(lines, tuple(line.lower() for line in lines), tuple(epochs))


def _filter_log(log: _IndexedLog, content: str, log_filter: str) -> LogExcerpt:
    total = len(log.lines)
    text = log_filter.strip()
    if not text:
        return LogExcerpt("", content.rstrip("\n"), total, total)
    span = parse_epoch_filter(text)
    if span is not None:
        first, last = span
        kept = [line for line, epoch in zip(log.lines, log.epochs, strict=True) if first <= epoch <= last]
    else:
        needle = text.lower()
        kept = [line for line, low in zip(log.lines, log.lowered, strict=True) if needle in low]
    return LogExcerpt(log_filter, "\n".join(kept), len(kept), total)

"""Sealed evaluations: held-out test sets served by the episode service. No transport imports.

An operator creates an evaluation (tasks x episodes) and gives its id to the agent. The agent starts
episodes with that id; the service draws each one's scenario from the evaluation's secret stream, so
the agent can neither choose a scenario nor learn its seed, and no scenario is played twice. A
submission's full grade stays here, for the operator's report; the agent gets a grade holding only
the score. Without a second grade of the same scenario and without per-component credit, the grade
cannot serve as an oracle (issue #15, item 3).

The episode core reaches evaluations through an `EvaluationStore` (the calls it makes are listed
there) and holds of each episode's slot only a `SlotRef`. `MemoryEvaluationStore` keeps this process's
`EvaluationBook` (the default, one replica); `RedisEvaluationStore` (redis_evaluations.py) keeps them in
Redis for every replica. Both derive the seeds with `planned_seeds` and build the report with
`assemble_report`, so the same key and play give the same report on either.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Final, Protocol

from mlopsdebug_common.domain import Grade
from mlopsdebug_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from mlopsdebug_common.tasks import MAX_SEED
from mlopsdebug_common.validation import validate_task_id

# Most episodes of one evaluation, all tasks together: its report (about 0.7 KB per episode with the
# full grade and the answer) must fit one 4 MiB message.
MAX_EPISODES: Final = 2_000
STREAM_KEY_MIN_BYTES: Final = 16
STREAM_KEY_MAX_BYTES: Final = 64
_STREAM_DOMAIN: Final = b"mlopsdebug/episode/evaluation-stream/v1"

# What became of a planned episode (EvaluationEpisodeStatus on the wire).
NOT_STARTED: Final = "not_started"
UNFINISHED: Final = "unfinished"
GRADED: Final = "graded"
TRUNCATED: Final = "truncated"


def stream_seed(key: bytes, task_id: str, counter: int) -> int:
    """The `counter`-th seed of `task_id` in the stream of `key`: unpredictable without the key."""
    message = b"|".join((_STREAM_DOMAIN, task_id.encode(), str(counter).encode()))
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big") & MAX_SEED


def planned_seeds(key: bytes, task_id: str, episodes: int) -> list[int]:
    """The seeds of an evaluation's `episodes` scenarios of `task_id`, in order: distinct draws of the
    stream, so no scenario is played twice in one evaluation. Every store derives them the same way."""
    seeds: list[int] = []
    seen: set[int] = set()
    counter = 0
    while len(seeds) < episodes:
        seed = stream_seed(key, task_id, counter)
        counter += 1
        if seed not in seen:
            seen.add(seed)
            seeds.append(seed)
    return seeds


def score_only(grade: Grade) -> Grade:
    """What the agent of a sealed evaluation sees of a grade: the score, nothing that explains it."""
    return Grade(
        score=grade.score,
        raw_score=0.0,
        asymmetric_penalty=False,
        components=(),
        grader_version=grade.grader_version,
        answer=None,
    )


def slot_status(*, drawn: bool, graded: bool, truncated: bool) -> str:
    if not drawn:
        return NOT_STARTED
    if graded:
        return GRADED
    return TRUNCATED if truncated else UNFINISHED


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclasses.dataclass(slots=True, eq=False)
class Slot:
    """One planned episode: a scenario of the evaluation and what the episode that took it did."""

    evaluation: Evaluation
    task_id: str
    index: int
    seed: int
    drawn: bool = False
    episode_id: str = ""
    scenario_id: str = ""
    step_count: int = 0
    truncated: bool = False
    full_grade: Grade | None = None

    def check_open(self) -> None:
        """Refuses an action in a closed evaluation; an allowed one counts as activity (see expiry)."""
        self.evaluation.check_open()
        self.evaluation.touch()

    def attach(self, episode_id: str, scenario_id: str) -> None:
        """Binds the started episode; refused if the evaluation closed while its scenario was fetched."""
        self.check_open()
        self.episode_id, self.scenario_id = episode_id, scenario_id

    def check_sealable(self) -> None:
        """Refused once the evaluation is closed (the report is final) or if the slot was graded already
        (one grade per scenario), so the caller must not apply the submission then."""
        self.check_open()
        if self.full_grade is not None:
            raise FailedPrecondition("this scenario has already been graded", reason="SCENARIO_GRADED")

    def record(self, grade: Grade) -> None:
        """Keeps the full grade of a committed submission (checked by `check_sealable` before) for the report."""
        self.full_grade = grade

    def observe(self, step_count: int, truncated: bool) -> None:
        self.step_count = step_count
        self.truncated = truncated

    @property
    def status(self) -> str:
        return slot_status(drawn=self.drawn, graded=self.full_grade is not None, truncated=self.truncated)

    @property
    def score(self) -> float:
        return self.full_grade.score if self.full_grade is not None else 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class TaskProgress:
    task_id: str
    episodes: int
    started: int
    ended: int


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    evaluation_id: str
    closed: bool
    tasks: tuple[TaskProgress, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class ReportEpisode:
    task_id: str
    index: int
    seed: int
    scenario_id: str
    episode_id: str
    status: str
    step_count: int
    score: float
    grade: Grade | None


@dataclasses.dataclass(frozen=True, slots=True)
class TaskScore:
    task_id: str
    episodes: int
    graded: int
    mean_score: float


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    evaluation_id: str
    episodes: tuple[ReportEpisode, ...]
    tasks: tuple[TaskScore, ...]
    stream_key: bytes


class Evaluation:
    """One evaluation: its planned slots per task (seeds drawn at creation), and whether it is closed."""

    def __init__(
        self,
        evaluation_id: str,
        token_digest: bytes,
        stream_key: bytes,
        plan: Sequence[tuple[str, int]],
        clock: Callable[[], float] = time.monotonic,
    ):
        self._clock = clock
        self.last_active = clock()
        self.evaluation_id = evaluation_id
        self.token_digest = token_digest
        self.stream_key = stream_key
        self.plan = tuple(plan)
        self.slots: dict[str, list[Slot]] = {
            task_id: [Slot(self, task_id, index, seed) for index, seed in enumerate(planned_seeds(stream_key, task_id, episodes))]
            for task_id, episodes in self.plan
        }
        # Slots put back after a failed start, taken again first.
        self._returned: dict[str, list[Slot]] = {task_id: [] for task_id, _ in self.plan}
        self._next: dict[str, int] = {task_id: 0 for task_id, _ in self.plan}
        self.closed = False
        self.expired = False  # closed by the service after being idle, not by its operator
        self.report: Report | None = None

    def touch(self) -> None:
        self.last_active = self._clock()

    def finish(self) -> Report:
        """Closes the evaluation (once) and freezes its report."""
        if self.report is None:
            self.closed = True
            self.report = self.build_report()
        return self.report

    def check_open(self) -> None:
        if self.closed:
            raise closed_error("after being idle too long" if self.expired else "by its operator")

    def remaining(self, task_id: str) -> int:
        return len(self.slots[task_id]) - self._next[task_id] + len(self._returned[task_id])

    def draw(self, task_id: str) -> Slot:
        self.touch()
        returned = self._returned[task_id]
        if returned:
            slot = returned.pop(0)
        else:
            slot = self.slots[task_id][self._next[task_id]]
            self._next[task_id] += 1
        slot.drawn = True
        return slot

    def put_back(self, slot: Slot) -> None:
        slot.drawn = False
        self._returned[slot.task_id].append(slot)
        self._returned[slot.task_id].sort(key=lambda s: s.index)

    def progress(self) -> Progress:
        tasks = []
        for task_id, episodes in self.plan:
            slots = self.slots[task_id]
            tasks.append(
                TaskProgress(
                    task_id,
                    episodes,
                    started=sum(1 for s in slots if s.drawn),
                    ended=sum(1 for s in slots if s.status in (GRADED, TRUNCATED)),
                )
            )
        return Progress(self.evaluation_id, self.closed, tuple(tasks))

    def build_report(self) -> Report:
        episodes = [
            ReportEpisode(
                task_id=task_id,
                index=slot.index,
                seed=slot.seed,
                scenario_id=slot.scenario_id,
                episode_id=slot.episode_id,
                status=slot.status,
                step_count=slot.step_count,
                score=slot.score,
                grade=slot.full_grade,
            )
            for task_id, _ in self.plan
            for slot in self.slots[task_id]
        ]
        return assemble_report(self.evaluation_id, self.plan, episodes, self.stream_key)


def assemble_report(
    evaluation_id: str, plan: Sequence[tuple[str, int]], episodes: Sequence[ReportEpisode], stream_key: bytes
) -> Report:
    """The report of every planned episode (in plan order) with the mean score per task."""
    scores = []
    for task_id, planned in plan:
        mine = [e for e in episodes if e.task_id == task_id]
        scores.append(
            TaskScore(
                task_id,
                planned,
                graded=sum(1 for e in mine if e.grade is not None),
                mean_score=math.fsum(e.score for e in mine) / planned,
            )
        )
    return Report(evaluation_id, tuple(episodes), tuple(scores), stream_key)


def closed_error(by: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"this evaluation has been closed {by}; its episodes accept no more actions", reason="EVALUATION_CLOSED"
    )


def validate_plan(plan: Sequence[tuple[str, int]], stream_key: bytes) -> None:
    """Refuses a plan ((task, episodes), ...) or stream key that `CreateEvaluation` must not accept."""
    if not plan:
        raise InvalidArgument.for_field("tasks", "required: at least one task", reason="EVALUATION_TASKS")
    seen: set[str] = set()
    for position, (task_id, episodes) in enumerate(plan):
        field = f"tasks[{position}]"
        validate_task_id(task_id, field=f"{field}.task_id")
        if task_id in seen:
            raise InvalidArgument.for_field(
                f"{field}.task_id", f"task {task_id!r} listed twice", reason="EVALUATION_TASKS"
            )
        seen.add(task_id)
        if not 1 <= episodes <= MAX_EPISODES:
            raise InvalidArgument.for_field(
                f"{field}.episodes",
                f"{episodes} outside [1, {MAX_EPISODES}]",
                reason="EVALUATION_EPISODES",
            )
    if sum(episodes for _, episodes in plan) > MAX_EPISODES:
        raise InvalidArgument.for_field(
            "tasks",
            f"more than {MAX_EPISODES} episodes in all; split them over several evaluations",
            reason="EVALUATION_EPISODES",
        )
    if stream_key and not STREAM_KEY_MIN_BYTES <= len(stream_key) <= STREAM_KEY_MAX_BYTES:
        raise InvalidArgument.for_field(
            "scenario_stream_key",
            f"{len(stream_key)} bytes; give {STREAM_KEY_MIN_BYTES} to {STREAM_KEY_MAX_BYTES}, or none for a random key",
            reason="STREAM_KEY_LENGTH",
        )


def check_named(evaluation_id: str) -> None:
    """A reset that must name an evaluation (it got here because the deployment requires one)."""
    if not evaluation_id:
        raise FailedPrecondition(
            "this deployment serves sealed evaluations only: reset with the evaluation_id your operator gave you",
            reason="EVALUATION_REQUIRED",
        )


def check_seed(seed: int | None) -> None:
    if seed is not None:
        raise InvalidArgument.for_field(
            "seed", "must be absent in an evaluation: the service draws the scenario", reason="SEED_IN_EVALUATION"
        )


def choose_task(plan: Sequence[tuple[str, int]], remaining: Callable[[str], int], task_id: str) -> str:
    """The task whose next scenario a reset gets: the named one, or the first with scenarios left."""
    if not task_id:
        for planned, _ in plan:
            if remaining(planned):
                return planned
        raise FailedPrecondition("every scenario of this evaluation has been started", reason="EVALUATION_EXHAUSTED")
    if task_id not in dict(plan):
        shown = task_id if len(task_id) <= 40 else task_id[:40] + "..."
        held = ", ".join(t for t, _ in plan)
        raise InvalidArgument.for_field(
            "task_id",
            f"task {shown!r} is not part of this evaluation (it holds {held})",
            reason="TASK_NOT_IN_EVALUATION",
        )
    if not remaining(task_id):
        raise exhausted(task_id)
    return task_id


def exhausted(task_id: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"every {task_id} scenario of this evaluation has been started", reason="EVALUATION_EXHAUSTED"
    )


def not_found(evaluation_id: str) -> NotFound:
    shown = evaluation_id if len(evaluation_id) <= 64 else evaluation_id[:64] + "..."
    return NotFound(f"no evaluation {shown!r}", reason="EVALUATION_NOT_FOUND")


def missing_id() -> InvalidArgument:
    return InvalidArgument.for_field("evaluation_id", "required", reason="EVALUATION_ID_MISSING")


def wrong_token() -> PermissionDenied:
    return PermissionDenied("wrong operator token for this evaluation", reason="OPERATOR_TOKEN")


class EvaluationBook:
    """All evaluations of one episode service. Single event loop; no method awaits.

    `require_evaluation` makes the deployment a held-out test server: every reset must name an
    evaluation, so no detailed grade is ever served. At most `max_evaluations` are held; creating one
    more evicts the oldest closed evaluation (its report is then gone) or, with all open, is refused.
    An open evaluation in which nothing happened for `idle_timeout_s` is closed by the service when
    room is needed (its report waits for the operator until evicted), so that evaluations nobody
    closes cannot hold the capacity forever.
    """

    def __init__(
        self,
        *,
        max_evaluations: int = 64,
        require_evaluation: bool = False,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        new_stream_key: Callable[[], bytes] = lambda: secrets.token_bytes(32),
        new_id: Callable[[], str] = lambda: "ev-" + secrets.token_hex(16),
        idle_timeout_s: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_evaluations = max_evaluations
        self.idle_timeout_s = idle_timeout_s
        self._clock = clock
        self.require_evaluation = require_evaluation
        self._new_token = new_token
        self._new_stream_key = new_stream_key
        self._new_id = new_id
        self._evaluations: dict[str, Evaluation] = {}  # insertion order: oldest first

    def __len__(self) -> int:
        return len(self._evaluations)

    def create(self, plan: Sequence[tuple[str, int]], stream_key: bytes = b"") -> tuple[Evaluation, str]:
        """A new evaluation of `plan` ((task, episodes), ...); returns it with its operator token."""
        validate_plan(plan, stream_key)
        if len(self._evaluations) >= self.max_evaluations:
            self.expire_idle()
            # Reports their operators fetched go first; then those of evaluations closed for idling.
            oldest_closed = next(
                (eid for eid, ev in self._evaluations.items() if ev.closed and not ev.expired),
                next((eid for eid, ev in self._evaluations.items() if ev.closed), None),
            )
            if oldest_closed is None:
                raise ResourceExhausted(
                    f"{self.max_evaluations} evaluations are open; close one first",
                    reason="EVALUATION_CAPACITY",
                    metadata={"max_evaluations": str(self.max_evaluations)},
                )
            del self._evaluations[oldest_closed]
        token = self._new_token()
        evaluation = Evaluation(
            self._new_id(), token_digest(token), stream_key or self._new_stream_key(), plan, self._clock
        )
        self._evaluations[evaluation.evaluation_id] = evaluation
        return evaluation, token

    def get(self, evaluation_id: str) -> Evaluation:
        if not evaluation_id:
            raise missing_id()
        evaluation = self._evaluations.get(evaluation_id)
        if evaluation is None:
            raise not_found(evaluation_id)
        return evaluation

    def resolve_task(self, evaluation_id: str, task_id: str, seed: int | None) -> str:
        """Checks a reset against its evaluation; returns the task whose next scenario it will get.

        Changes nothing. A deployment that requires evaluations refuses a reset without one.
        """
        check_named(evaluation_id)
        evaluation = self.get(evaluation_id)
        check_seed(seed)
        evaluation.check_open()
        return choose_task(evaluation.plan, evaluation.remaining, task_id)

    def draw(self, evaluation_id: str, task_id: str) -> Slot:
        """Takes the next scenario of `task_id` (checked by `resolve_task` in the same loop turn)."""
        return self.get(evaluation_id).draw(self.resolve_task(evaluation_id, task_id, None))

    def slot_of(self, evaluation_id: str, task_id: str, index: int) -> Slot | None:
        """The slot a stored episode plays, if this process holds its evaluation (they are per replica)."""
        evaluation = self._evaluations.get(evaluation_id)
        slots = evaluation.slots.get(task_id, []) if evaluation is not None else []
        return slots[index] if 0 <= index < len(slots) else None

    def put_back(self, slot: Slot) -> None:
        """Returns a slot whose episode never started (its scenario could not be fetched)."""
        slot.evaluation.put_back(slot)

    def progress(self, evaluation_id: str) -> Progress:
        return self.get(evaluation_id).progress()

    def close(self, evaluation_id: str, operator_token: str) -> Report:
        """Closes the evaluation (idempotent for its operator) and returns its report."""
        evaluation = self.get(evaluation_id)
        if not operator_token or not hmac.compare_digest(token_digest(operator_token), evaluation.token_digest):
            raise wrong_token()
        return evaluation.finish()

    def expire_idle(self) -> list[str]:
        """Closes the open evaluations idle longer than the timeout; returns their ids."""
        cutoff = self._clock() - self.idle_timeout_s
        expired = [ev for ev in self._evaluations.values() if not ev.closed and ev.last_active < cutoff]
        for evaluation in expired:
            evaluation.expired = True
            evaluation.finish()
        return [evaluation.evaluation_id for evaluation in expired]


@dataclasses.dataclass(frozen=True, slots=True)
class SlotRef:
    """Which planned scenario an episode plays: all an episode holds of its evaluation. The slot's
    state (episode, steps, full grade) stays in the evaluation store, so any replica reaches it."""

    evaluation_id: str
    task_id: str
    index: int
    seed: int


class EvaluationStore(Protocol):
    """Where sealed evaluations live: `MemoryEvaluationStore` (one process, the default) or
    `RedisEvaluationStore` (mlopsdebug_episode.redis_evaluations: shared by every replica).

    The episode core calls in at these points: a reset that names an evaluation checks it
    (`resolve_task`), draws a slot (`draw`), binds its episode (`attach`) or gives the slot back if
    the scenario cannot be fetched (`put_back`); every action checks that the evaluation is open
    (`check_open`, which also counts as activity); a submission checks that the slot is still
    ungraded before it is applied (`check_sealable`); every applied step updates the slot (`observe`,
    with the full grade of a submission). Each method does all it says or nothing.
    """

    @property
    def require_evaluation(self) -> bool:
        """Every reset must name an evaluation (a held-out test server)."""
        ...

    async def create(self, plan: Sequence[tuple[str, int]], stream_key: bytes = b"") -> tuple[Progress, str]:
        """A new evaluation of `plan`; returns its progress (which names it) and its operator token."""
        ...

    async def progress(self, evaluation_id: str) -> Progress: ...

    async def close(self, evaluation_id: str, operator_token: str) -> Report:
        """Closes the evaluation (idempotent for its operator) and returns its report."""
        ...

    async def resolve_task(self, evaluation_id: str, task_id: str, seed: int | None) -> str:
        """Checks a reset; returns the task whose next scenario it will get. Changes nothing."""
        ...

    async def draw(self, evaluation_id: str, task_id: str) -> SlotRef:
        """Takes the next scenario of `task_id`: never the same one twice, across all replicas."""
        ...

    async def put_back(self, slot: SlotRef) -> None:
        """Returns a drawn slot not bound to an episode (its scenario could not be fetched) to the front;
        nothing in a closed evaluation or for a slot already back."""
        ...

    async def attach(self, slot: SlotRef, episode_id: str, scenario_id: str) -> None:
        """Binds the started episode; refused if the evaluation closed while its scenario was fetched."""
        ...

    def slot_of(self, evaluation_id: str, task_id: str, index: int, seed: int) -> SlotRef | None:
        """The slot a stored episode plays, or None if this store cannot reach its evaluation."""
        ...

    async def check_open(self, slot: SlotRef) -> None: ...

    async def check_sealable(self, slot: SlotRef) -> None:
        """Refuses a submission if the evaluation is closed or the slot already graded."""
        ...

    async def observe(self, slot: SlotRef, step_count: int, truncated: bool, full_grade: Grade | None = None) -> None:
        """Records an applied step (and a submission's full grade); nothing once the evaluation is closed."""
        ...

    async def aclose(self) -> None:
        """Releases connections."""
        ...


class MemoryEvaluationStore:
    """The embedded store: the evaluations of this process's `EvaluationBook`. Nothing here awaits, so
    every method runs within one turn of the event loop, as the book requires."""

    def __init__(self, book: EvaluationBook | None = None) -> None:
        self.book = book if book is not None else EvaluationBook()

    @property
    def require_evaluation(self) -> bool:
        return self.book.require_evaluation

    def _slot(self, ref: SlotRef) -> Slot:
        slot = self.book.slot_of(ref.evaluation_id, ref.task_id, ref.index)
        if slot is None:  # only closed evaluations are evicted
            raise closed_error("and evicted")
        return slot

    async def create(self, plan: Sequence[tuple[str, int]], stream_key: bytes = b"") -> tuple[Progress, str]:
        evaluation, token = self.book.create(plan, stream_key)
        return evaluation.progress(), token

    async def progress(self, evaluation_id: str) -> Progress:
        return self.book.progress(evaluation_id)

    async def close(self, evaluation_id: str, operator_token: str) -> Report:
        return self.book.close(evaluation_id, operator_token)

    async def resolve_task(self, evaluation_id: str, task_id: str, seed: int | None) -> str:
        return self.book.resolve_task(evaluation_id, task_id, seed)

    async def draw(self, evaluation_id: str, task_id: str) -> SlotRef:
        slot = self.book.draw(evaluation_id, task_id)
        return SlotRef(evaluation_id, slot.task_id, slot.index, slot.seed)

    async def put_back(self, slot: SlotRef) -> None:
        held = self.book.slot_of(slot.evaluation_id, slot.task_id, slot.index)
        # Not once bound to an episode or closed (the report is final), nor twice.
        if held is not None and held.drawn and not held.episode_id and not held.evaluation.closed:
            self.book.put_back(held)

    async def attach(self, slot: SlotRef, episode_id: str, scenario_id: str) -> None:
        self._slot(slot).attach(episode_id, scenario_id)

    def slot_of(self, evaluation_id: str, task_id: str, index: int, seed: int) -> SlotRef | None:
        held = self.book.slot_of(evaluation_id, task_id, index)
        return SlotRef(evaluation_id, task_id, index, held.seed) if held is not None else None

    async def check_open(self, slot: SlotRef) -> None:
        self._slot(slot).check_open()

    async def check_sealable(self, slot: SlotRef) -> None:
        self._slot(slot).check_sealable()

    async def observe(self, slot: SlotRef, step_count: int, truncated: bool, full_grade: Grade | None = None) -> None:
        held = self.book.slot_of(slot.evaluation_id, slot.task_id, slot.index)
        if held is None or held.evaluation.closed:  # the report is final
            return
        if full_grade is not None and held.full_grade is None:
            held.record(full_grade)
        held.observe(step_count, truncated)
        held.evaluation.touch()

    async def aclose(self) -> None:
        return None

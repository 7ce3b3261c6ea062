"""Sealed evaluations: held-out test sets served by the episode service. No transport imports.

An operator creates an evaluation (tasks x episodes) and gives its id to the agent. The agent starts
episodes with that id; the service draws each one's scenario from the evaluation's secret stream, so
the agent can neither choose a scenario nor learn its seed, and no scenario is played twice. A
submission's full grade stays here, for the operator's report; the agent gets a grade holding only
the score. Without a second grade of the same scenario and without per-component credit, the grade
cannot serve as an oracle (issue #15, item 3).

The episode core calls in at four points: a reset that names an evaluation draws a slot
(`resolve_task`, `draw`, `put_back` if the scenario cannot be fetched, `attach`), every action checks
that the evaluation is still open (`Slot.check_open`), a submission swaps its grade for the
score-only one (`Slot.seal`), and every applied step updates the slot (`Slot.observe`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Final

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


def _token_digest(token: str) -> bytes:
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

    def seal(self, grade: Grade) -> Grade:
        """Keeps the full grade for the report; returns the score-only grade for the agent.

        Refused once the evaluation is closed (the report is final) or if the slot was graded
        already (one grade per scenario), so the caller must not apply the submission then.
        """
        self.check_sealable()
        self.full_grade = grade
        return score_only(grade)

    def check_sealable(self) -> None:
        """What `seal` checks, for a caller that records the grade only once its step is committed."""
        self.check_open()
        if self.full_grade is not None:
            raise FailedPrecondition("this scenario has already been graded", reason="SCENARIO_GRADED")

    def record(self, grade: Grade) -> None:
        """Keeps the full grade of a committed submission (checked by `check_sealable` before)."""
        self.full_grade = grade

    def detach(self) -> None:
        """Undoes `attach` for an episode that could not be stored."""
        self.episode_id = self.scenario_id = ""

    def observe(self, step_count: int, truncated: bool) -> None:
        self.step_count = step_count
        self.truncated = truncated

    @property
    def status(self) -> str:
        if not self.drawn:
            return NOT_STARTED
        if self.full_grade is not None:
            return GRADED
        return TRUNCATED if self.truncated else UNFINISHED

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
        self.slots: dict[str, list[Slot]] = {}
        for task_id, episodes in self.plan:
            seeds: list[int] = []
            seen: set[int] = set()
            counter = 0
            while len(seeds) < episodes:  # distinct seeds: no scenario twice in one evaluation
                seed = stream_seed(stream_key, task_id, counter)
                counter += 1
                if seed not in seen:
                    seen.add(seed)
                    seeds.append(seed)
            self.slots[task_id] = [Slot(self, task_id, index, seed) for index, seed in enumerate(seeds)]
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
            by = "after being idle too long" if self.expired else "by its operator"
            raise FailedPrecondition(
                f"this evaluation has been closed {by}; its episodes accept no more actions",
                reason="EVALUATION_CLOSED",
            )

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
        episodes: list[ReportEpisode] = []
        scores: list[TaskScore] = []
        for task_id, planned in self.plan:
            slots = self.slots[task_id]
            for slot in slots:
                episodes.append(
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
                )
            scores.append(
                TaskScore(
                    task_id,
                    planned,
                    graded=sum(1 for s in slots if s.full_grade is not None),
                    mean_score=math.fsum(s.score for s in slots) / planned,
                )
            )
        return Report(self.evaluation_id, tuple(episodes), tuple(scores), self.stream_key)


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
            self._new_id(), _token_digest(token), stream_key or self._new_stream_key(), plan, self._clock
        )
        self._evaluations[evaluation.evaluation_id] = evaluation
        return evaluation, token

    def get(self, evaluation_id: str) -> Evaluation:
        if not evaluation_id:
            raise InvalidArgument.for_field("evaluation_id", "required", reason="EVALUATION_ID_MISSING")
        evaluation = self._evaluations.get(evaluation_id)
        if evaluation is None:
            shown = evaluation_id if len(evaluation_id) <= 64 else evaluation_id[:64] + "..."
            raise NotFound(f"no evaluation {shown!r}", reason="EVALUATION_NOT_FOUND")
        return evaluation

    def resolve_task(self, evaluation_id: str, task_id: str, seed: int | None) -> str:
        """Checks a reset against its evaluation; returns the task whose next scenario it will get.

        Changes nothing. A deployment that requires evaluations refuses a reset without one.
        """
        if not evaluation_id:
            raise FailedPrecondition(
                "this deployment serves sealed evaluations only: reset with the evaluation_id your operator gave you",
                reason="EVALUATION_REQUIRED",
            )
        evaluation = self.get(evaluation_id)
        if seed is not None:
            raise InvalidArgument.for_field(
                "seed",
                "must be absent in an evaluation: the service draws the scenario",
                reason="SEED_IN_EVALUATION",
            )
        evaluation.check_open()
        if not task_id:
            for planned, _ in evaluation.plan:
                if evaluation.remaining(planned):
                    return planned
            raise FailedPrecondition(
                "every scenario of this evaluation has been started", reason="EVALUATION_EXHAUSTED"
            )
        if task_id not in evaluation.slots:
            shown = task_id if len(task_id) <= 40 else task_id[:40] + "..."
            held = ", ".join(t for t, _ in evaluation.plan)
            raise InvalidArgument.for_field(
                "task_id",
                f"task {shown!r} is not part of this evaluation (it holds {held})",
                reason="TASK_NOT_IN_EVALUATION",
            )
        if not evaluation.remaining(task_id):
            raise FailedPrecondition(
                f"every {task_id} scenario of this evaluation has been started", reason="EVALUATION_EXHAUSTED"
            )
        return task_id

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
        if not operator_token or not hmac.compare_digest(
            _token_digest(operator_token), evaluation.token_digest
        ):
            raise PermissionDenied("wrong operator token for this evaluation", reason="OPERATOR_TOKEN")
        return evaluation.finish()

    def expire_idle(self) -> list[str]:
        """Closes the open evaluations idle longer than the timeout; returns their ids."""
        cutoff = self._clock() - self.idle_timeout_s
        expired = [ev for ev in self._evaluations.values() if not ev.closed and ev.last_active < cutoff]
        for evaluation in expired:
            evaluation.expired = True
            evaluation.finish()
        return [evaluation.evaluation_id for evaluation in expired]

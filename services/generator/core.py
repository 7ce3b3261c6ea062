"""The generator's pure core: (task, seed, salt) -> one scenario with a sealed answer key.

Seed streams (numpy SeedSequence, entropy = [seed, salt, task index, version]) are spawned in a fixed
order: child 0 chooses the fault, child 1 builds the world, children 2.. run one sanity check each, so
adding a check never changes the world. Output is byte-identical for equal inputs in any process.
"""

from __future__ import annotations

import numpy as np

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import SANITY_CHECKS, ArtifactDoc, RunSummary, SanityCheckResult, Scenario
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import MAX_SEED, TASK_ORDER, TASKS, TaskSpec
from mlopsdebug_generator import checks, ids, locate, render
from mlopsdebug_generator.world import World, build_world

GENERATOR_VERSION = "2.0.0"

__all__ = [
    "GENERATOR_VERSION",
    "InvalidSeedError",
    "UnknownTaskError",
    "generate_scenario",
    "generate_world",
    "list_tasks",
    "render_world",
]


class UnknownTaskError(ValueError):
    """The task id is not one of TASK_ORDER."""


class InvalidSeedError(ValueError):
    """The seed is not an integer in [0, MAX_SEED]."""


def list_tasks() -> tuple[TaskSpec, ...]:
    return tuple(TASKS[task_id] for task_id in TASK_ORDER)


def _validate(task_id: str, seed: int) -> int:
    if task_id not in TASKS:
        raise UnknownTaskError(f"unknown task {task_id!r}; expected one of {', '.join(TASK_ORDER)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise InvalidSeedError(f"seed must be an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise InvalidSeedError(f"seed {seed} is outside [0, {MAX_SEED}]")
    return TASK_ORDER.index(task_id)


def _build(task_id: str, seed: int, salt: bytes, fault: str | None, healthy: bool) -> tuple[World, np.random.SeedSequence]:
    task_index = _validate(task_id, seed)
    seed = int(seed)
    spec = TASKS[task_id]
    if fault is not None and fault not in spec.fault_pool:
        raise ValueError(f"fault {fault!r} is not in the pool of task {task_id!r}")
    root = ids.root_sequence(task_index, seed, salt, GENERATOR_VERSION)
    fault_seq, world_seq = ids.child_sequence(root, 0), ids.child_sequence(root, 1)
    if fault is None:
        fault_rng = np.random.Generator(np.random.PCG64(fault_seq))
        fault = spec.fault_pool[int(fault_rng.integers(len(spec.fault_pool)))]
    world = build_world(
        task_id,
        seed,
        fault,
        not healthy,
        world_seq=world_seq,
        scenario_id=ids.scenario_id(task_id, seed, salt, GENERATOR_VERSION),
        run_suffix=ids.run_suffix(task_id, seed, salt, GENERATOR_VERSION),
        generator_version=GENERATOR_VERSION,
    )
    return world, root


def generate_world(
    task_id: str, seed: int, *, salt: bytes = b"", fault: str | None = None, healthy: bool = False
) -> World:
    """The world of (task, seed); `fault` forces a fault of the task's pool, `healthy` leaves it out.

    `healthy=True` is the same run (model, data, config, clock) with the fault not applied.
    """
    return _build(task_id, seed, salt, fault, healthy)[0]


def _check_streams(task_id: str, seed: int, salt: bytes) -> list[checks.Stream]:
    """Children 2.. of the root sequence, one per check, built only if the check draws from it."""
    root = ids.root_sequence(TASK_ORDER.index(task_id), seed, salt, GENERATOR_VERSION)
    return [checks.Stream(root, 2 + i) for i in range(len(SANITY_CHECKS))]


def render_world(
    world: World, *, salt: bytes = b"", _root: np.random.SeedSequence | None = None
) -> tuple[RunSummary, tuple[ArtifactDoc, ...], tuple[SanityCheckResult, ...]]:
    """The agent-visible part of a scenario: run summary, the six artifacts, the eight checks."""
    artifacts = render.artifacts(world)
    if _root is None:
        streams = _check_streams(world.task_id, world.seed, salt)
    else:
        streams = [checks.Stream(_root, 2 + i) for i in range(len(SANITY_CHECKS))]
    results = checks.run_all(world, streams)
    return render.run_summary(world), artifacts, results


def answer_key(world: World) -> AnswerKey:
    location = locate.locate(world)
    return AnswerKey(
        fault_id=world.fault_id,
        category=FAULTS[world.fault_id].category,
        file=location.file,
        field=location.field,
        field_aliases=location.aliases,
        params=location.params,
        task_id=world.task_id,
        seed=world.seed,
        scenario_id=world.scenario_id,
        generator_version=GENERATOR_VERSION,
    )


def generate_scenario(task_id: str, seed: int, *, sealer: Sealer, salt: bytes = b"") -> Scenario:
    """The scenario of (task, seed, salt): artifacts, sanity checks, run summary, sealed answer key."""
    world, root = _build(task_id, seed, salt, None, False)
    summary, artifacts, results = render_world(world, salt=salt, _root=root)
    return Scenario(
        scenario_id=world.scenario_id,
        task_id=task_id,
        seed=int(seed),
        generator_version=GENERATOR_VERSION,
        run_summary=summary,
        artifacts=artifacts,
        sanity_checks=results,
        answer_key=sealer.seal(answer_key(world)),
    )

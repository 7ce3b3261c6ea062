"""The generator's pure core: (task, seed, salt) -> one scenario with a sealed answer key.

Bad input (task, seed, split, forced fault) raises mlopsdebug_common.errors.InvalidArgument, checked by
mlopsdebug_common.validation, the same checks the episode service runs.

Seed streams (numpy SeedSequence, entropy = [seed, salt, task index, version]) are spawned in a fixed
order: child 0 chooses the fault, child 1 builds the world, children 2.. run one sanity check each, so
adding a check never changes the world. Output is byte-identical for equal inputs in any process.
"""

from __future__ import annotations

import numpy as np

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import SANITY_CHECKS, ArtifactDoc, RunSummary, SanityCheckResult, Scenario
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import (
    GENERATOR_VERSIONS,
    LATEST_VERSION,
    SPLITS,
    TASK_IDS,
    TASK_ORDER,
    TASKS,
    TaskSpec,
)
from mlopsdebug_common.validation import validate_seed, validate_split, validate_task_id
from mlopsdebug_generator import checks, ids, locate, render
from mlopsdebug_generator.world import World, build_world

# The generator version behind each task version (mlopsdebug_common.tasks.GENERATOR_VERSIONS).
GENERATOR_VERSION = GENERATOR_VERSIONS[LATEST_VERSION]

__all__ = [
    "GENERATOR_VERSION",
    "GENERATOR_VERSIONS",
    "SPLITS",
    "generate_scenario",
    "generate_world",
    "list_tasks",
    "render_world",
]


def list_tasks() -> tuple[TaskSpec, ...]:
    """Every task id: the plain family names (newest versions) first, then each pinned version."""
    return tuple(TASKS[task_id] for task_id in TASK_IDS)


def split_pool(spec: TaskSpec, split: str) -> tuple[str, ...]:
    """The faults a reset on this split draws from: all of the task's, or its train or held-out part."""
    validate_split(spec.task_id, split)
    if split == "all":
        return spec.fault_pool
    heldout = set(spec.heldout_faults)
    return tuple(f for f in spec.fault_pool if (f in heldout) == (split == "heldout"))


def _scenario_name(spec: TaskSpec, split: str) -> str:
    """What ids are keyed by: the task family (so "easy" and "easy-v2" are one task), and the split."""
    return spec.family if split == "all" else f"{spec.family}/{split}"


def _root(spec: TaskSpec, seed: int, salt: bytes) -> np.random.SeedSequence:
    return ids.root_sequence(TASK_ORDER.index(spec.family), seed, salt, GENERATOR_VERSIONS[spec.version])


def _build(
    task_id: str, seed: int, salt: bytes, fault: str | None, healthy: bool, split: str = "all"
) -> tuple[World, np.random.SeedSequence]:
    spec = TASKS[validate_task_id(task_id)]
    seed = validate_seed(seed)
    pool = split_pool(spec, split)
    if fault is not None and fault not in spec.fault_pool:
        raise InvalidArgument.for_field("fault", f"fault {fault!r} is not in the pool of task {task_id!r}")
    version = GENERATOR_VERSIONS[spec.version]
    root = _root(spec, seed, salt)
    fault_seq, world_seq = ids.child_sequence(root, 0), ids.child_sequence(root, 1)
    if fault is None:
        fault_rng = np.random.Generator(np.random.PCG64(fault_seq))
        fault = pool[int(fault_rng.integers(len(pool)))]
    name = _scenario_name(spec, split)
    world = build_world(
        task_id,
        seed,
        fault,
        not healthy,
        world_seq=world_seq,
        scenario_id=ids.scenario_id(name, seed, salt, version),
        run_suffix=ids.run_suffix(name, seed, salt, version),
        generator_version=version,
        revision=spec.version,
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
    root = _root(TASKS[task_id], seed, salt)
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
        generator_version=world.generator_version,
    )


def generate_scenario(
    task_id: str, seed: int, *, sealer: Sealer, salt: bytes = b"", split: str = "all"
) -> Scenario:
    """The scenario of (task, seed, salt, split): artifacts, sanity checks, run summary, sealed answer key."""
    world, root = _build(task_id, seed, salt, None, False, split)
    summary, artifacts, results = render_world(world, salt=salt, _root=root)
    return Scenario(
        scenario_id=world.scenario_id,
        task_id=task_id,
        seed=int(seed),
        generator_version=world.generator_version,
        run_summary=summary,
        artifacts=artifacts,
        sanity_checks=results,
        answer_key=sealer.seal(answer_key(world)),
    )

"""Task versions: pinned ids reproduce their published scenarios byte for byte; plain names are the newest.

tests/data/v1_digests.json holds digests of scenarios made by generator 2.0.0 (the seed's three-fault
pools) before the pools grew: every artifact, sanity check, run summary and answer key (less its
task id, which now names the pinned version) of seeds 0-59 per task, and of seeds 0-19 per fault,
planted and healthy. Regenerating them must never be needed; a change that breaks this test changes
published results.
"""

from __future__ import annotations

import hashlib
import json
import pathlib

import pytest

from mlopsdebug_common.faults import FAULT_POOLS, FAULTS
from mlopsdebug_common.tasks import LATEST_VERSION, TASK_ORDER, TASKS
from mlopsdebug_generator import core

GOLDEN = pathlib.Path(__file__).parent.parent / "data" / "v1_digests.json"
# Digests of version 2 (generator 3.0.0, the eight-fault pools) made before version 3 existed, and of the
# grades its keys earn: version 3 must change neither a v2 scenario nor a v2 grade.
GOLDEN_V2 = pathlib.Path(__file__).parent.parent / "data" / "v2_digests.json"
# Digests of version 3 (generator 4.0.0) and its grades, made before the generator's speed work (issue 16):
# making generation faster must not move one byte of a published scenario.
GOLDEN_V3 = pathlib.Path(__file__).parent.parent / "data" / "v3_digests.json"
GRADED_SEEDS = 40
SEEDS_PER_TASK = 60
SEEDS_PER_FAULT = 20


def world_digest(task_id: str, seed: int, *, fault: str | None = None, healthy: bool = False) -> str:
    world = core.generate_world(task_id, seed, fault=fault, healthy=healthy)
    summary, artifacts, results = core.render_world(world)
    h = hashlib.sha256()
    for part in (*artifacts, *results, summary):
        h.update(repr(part).encode())
    if not healthy:
        key = json.loads(core.answer_key(world).to_bytes())
        key.pop("task_id")
        h.update(json.dumps(key, sort_keys=True).encode())
    return h.hexdigest()[:16]


def digests(version_suffix: str, pool_version: int = 1) -> dict[str, list[str]]:
    """Digests of every task's seeds and every fault's (of `pool_version`) planted and healthy worlds."""
    out = {
        family: [world_digest(family + version_suffix, seed) for seed in range(SEEDS_PER_TASK)]
        for family in TASK_ORDER
    }
    for family in TASK_ORDER:
        for fault in FAULT_POOLS[(family, pool_version)]:
            out[fault] = [
                world_digest(family + version_suffix, seed, fault=fault, healthy=healthy)
                for seed in range(SEEDS_PER_FAULT)
                for healthy in (False, True)
            ]
    return out


class TestPinnedVersions:
    def test_v1_tasks_reproduce_the_published_scenarios(self):
        expected = json.loads(GOLDEN.read_text())
        got = digests("-v1")
        changed = {name: sum(a != b for a, b in zip(got[name], expected[name], strict=True)) for name in expected}
        assert not any(changed.values()), f"scenarios changed under the pinned v1 ids: {changed}"

    def test_v1_pools_are_the_seeds_three_faults(self):
        for family in TASK_ORDER:
            assert len(TASKS[f"{family}-v1"].fault_pool) == 3
            assert TASKS[f"{family}-v1"].fault_pool == FAULT_POOLS[(family, 1)]


def grade_digests(version: int) -> dict[str, list[str]]:
    """Per task: the digest of each seed's grades for a fixed set of answers (each fault's full answer as a
    constant, the scenario's own answer, and its category and file alone), so a grader change that moves any
    grade of this version shows."""
    from mlopsdebug_common.domain import Diagnosis
    from mlopsdebug_grader import core as grader
    from mlopsdebug_grader.fix_rules import gold_fix

    out = {}
    for family in TASK_ORDER:
        task_id = f"{family}-v{version}"
        asym = TASKS[task_id].asymmetric_penalty
        keys = [core.answer_key(core.generate_world(task_id, seed)) for seed in range(GRADED_SEEDS)]
        constants = [core.answer_key(core.generate_world(task_id, 0, fault=f)) for f in TASKS[task_id].fault_pool]

        def full(k):
            return Diagnosis(k.category, k.file, k.field, "", gold_fix(k))

        row = []
        for key in keys:
            answers = [full(c) for c in constants]
            answers.append(full(key))
            answers.append(Diagnosis(key.category, key.file, "", "", ""))
            answers.append(Diagnosis(key.category, key.file, "", "", gold_fix(key)))
            grades = [grader.grade(key, a, asymmetric_penalty=asym, reveal_answer=False) for a in answers]
            h = hashlib.sha256(repr([(g.score, [c.credit for c in g.components]) for g in grades]).encode())
            row.append(h.hexdigest()[:16])
        out[family] = row
    return out


class TestPinnedVersion2:
    """Version 2 stays as published when a newer version is added."""

    def test_v2_tasks_reproduce_the_published_scenarios(self):
        expected = json.loads(GOLDEN_V2.read_text())["scenarios"]
        got = digests("-v2", pool_version=2)
        changed = {name: sum(a != b for a, b in zip(got[name], expected[name], strict=True)) for name in expected}
        assert set(got) == set(expected)
        assert not any(changed.values()), f"scenarios changed under the pinned v2 ids: {changed}"

    def test_v2_grades_are_unchanged(self):
        expected = json.loads(GOLDEN_V2.read_text())["grades"]
        got = grade_digests(2)
        changed = {name: sum(a != b for a, b in zip(got[name], expected[name], strict=True)) for name in expected}
        assert not any(changed.values()), f"grades of v2 keys changed: {changed}"


class TestPinnedVersion3:
    """Version 3 stays as published while the generator is optimised (or a newer version is added)."""

    def test_v3_tasks_reproduce_the_published_scenarios(self):
        expected = json.loads(GOLDEN_V3.read_text())["scenarios"]
        got = digests("-v3", pool_version=3)
        changed = {name: sum(a != b for a, b in zip(got[name], expected[name], strict=True)) for name in expected}
        assert set(got) == set(expected)
        assert not any(changed.values()), f"scenarios changed under the pinned v3 ids: {changed}"

    def test_v3_grades_are_unchanged(self):
        expected = json.loads(GOLDEN_V3.read_text())["grades"]
        got = grade_digests(3)
        changed = {name: sum(a != b for a, b in zip(got[name], expected[name], strict=True)) for name in expected}
        assert not any(changed.values()), f"grades of v3 keys changed: {changed}"


class TestLatestVersion:
    @pytest.mark.parametrize("family", TASK_ORDER)
    def test_plain_name_is_the_newest_version(self, family):
        plain, pinned = TASKS[family], TASKS[f"{family}-v{LATEST_VERSION}"]
        assert plain.version == pinned.version == LATEST_VERSION
        assert plain.fault_pool == pinned.fault_pool
        for seed in (0, 1, 99):
            a = core.generate_scenario(family, seed, sealer=_sealer())
            b = core.generate_scenario(f"{family}-v{LATEST_VERSION}", seed, sealer=_sealer())
            assert a.artifacts == b.artifacts and a.scenario_id == b.scenario_id
            assert a.generator_version == core.GENERATOR_VERSION

    @pytest.mark.parametrize("family", TASK_ORDER)
    def test_versions_give_different_scenarios_for_one_seed(self, family):
        a = core.generate_scenario(f"{family}-v1", 5, sealer=_sealer())
        b = core.generate_scenario(family, 5, sealer=_sealer())
        assert a.generator_version == core.GENERATOR_VERSIONS[1] != b.generator_version
        assert a.scenario_id != b.scenario_id and a.artifacts != b.artifacts

    def test_keys_are_graded_by_the_version_of_the_generator_that_made_them(self):
        """A key of a plain name is graded as the version that was newest when it was sealed (generator 4.0.0:
        version 3); keys made before version 3 stay version 2, as they were graded before; pinned ids are their own."""
        from mlopsdebug_common.tasks import GENERATOR_VERSIONS, key_version

        assert key_version("easy", GENERATOR_VERSIONS[LATEST_VERSION]) == LATEST_VERSION == 4
        assert key_version("medium", "4.0.0") == 3
        assert key_version("hard", "3.0.0") == key_version("hard", "2.0.0") == 2
        assert key_version("easy-v3", "5.0.0") == 3 and key_version("easy-v1", "2.0.0") == 1

    def test_every_fault_is_in_exactly_one_family(self):
        for fault, spec in FAULTS.items():
            assert fault in TASKS[spec.task_id].fault_pool


def _sealer():
    from mlopsdebug_common.sealing import Sealer

    return Sealer(b"k" * 32)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["v3"]:  # how tests/data/v3_digests.json was made, with generator 4.0.0's code
        print(json.dumps({"scenarios": digests("-v3", pool_version=3), "grades": grade_digests(3)}, indent=0))
    elif sys.argv[1:] == ["v2"]:  # how tests/data/v2_digests.json was made, with generator 3.0.0's code
        print(json.dumps({"scenarios": digests("-v2", pool_version=2), "grades": grade_digests(2)}, indent=0))
    else:  # how tests/data/v1_digests.json was made, with generator 2.0.0's code
        print(json.dumps(digests(""), indent=0))

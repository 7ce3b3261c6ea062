"""Fault splits: a reset chooses all of a task's faults, the train part or the held-out part.

Held-out faults are fixed in mlopsdebug_common.faults; these tests mark one fault held out on the spot
(monkeypatch) so that they do not depend on which faults a release holds out.
"""

from __future__ import annotations

import collections
import dataclasses

import pytest

from mlopsdebug_common.domain import Diagnosis
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_common.validation import validate_split
from mlopsdebug_generator import core
from mlopsdebug_grader import core as grader

SEALER = Sealer(b"split-unit-test-secret-0123456789")
HELD = "silent_metric_swap"


@pytest.fixture
def held_out(monkeypatch):
    """Marks one hard fault as held out for the duration of a test."""
    monkeypatch.setitem(FAULTS, HELD, dataclasses.replace(FAULTS[HELD], heldout=True))
    return HELD


def faults_drawn(task_id: str, split: str, seeds: range) -> collections.Counter:
    return collections.Counter(
        SEALER.open(core.generate_scenario(task_id, s, sealer=SEALER, split=split).answer_key).fault_id for s in seeds
    )


class TestWithoutHeldOutFaults:
    def test_v1_tasks_have_only_the_all_split(self):
        for task_id in ("easy-v1", "medium-v1", "hard-v1"):
            assert not TASKS[task_id].has_heldout_split
            assert validate_split(task_id, "all") == "all"
            for split in ("train", "heldout"):
                with pytest.raises(InvalidArgument) as caught:
                    validate_split(task_id, split)
                assert caught.value.reason == "NO_SUCH_SPLIT"
                with pytest.raises(InvalidArgument) as caught:
                    core.generate_scenario(task_id, 1, sealer=SEALER, split=split)
                assert caught.value.reason == "NO_SUCH_SPLIT"

    def test_unknown_split(self):
        with pytest.raises(InvalidArgument) as caught:
            validate_split("easy", "test")
        assert caught.value.reason == "UNKNOWN_SPLIT"


class TestWithAHeldOutFault:
    def test_each_split_draws_only_its_faults(self, held_out):
        task = FAULTS[held_out].task_id
        assert TASKS[task].has_heldout_split
        heldout = set(TASKS[task].heldout_faults)
        assert held_out in heldout
        assert set(faults_drawn(task, "heldout", range(40))) == heldout
        train = faults_drawn(task, "train", range(80))
        assert set(train) == set(TASKS[task].fault_pool) - heldout
        assert held_out in faults_drawn(task, "all", range(60))

    def test_split_is_part_of_the_scenario_identity(self, held_out):
        task = FAULTS[held_out].task_id
        ids = {split: core.generate_scenario(task, 3, sealer=SEALER, split=split).scenario_id
               for split in ("all", "train", "heldout")}
        assert len(set(ids.values())) == 3
        # "all" is what a reset without a split always gave: marking a fault held out moves no scenario.
        unmarked = dataclasses.replace(FAULTS[held_out], heldout=False)
        FAULTS[held_out] = unmarked
        assert core.generate_scenario(task, 3, sealer=SEALER).scenario_id == ids["all"]

    def test_held_out_answers_stay_sealed_in_training_mode(self, held_out):
        world = core.generate_world(FAULTS[held_out].task_id, 3, fault=held_out)
        key = core.answer_key(world)
        wrong = Diagnosis("config_error", "config.yaml", "optimizer.lr", "a guess", "lower the learning rate")
        hidden = grader.grade(key, wrong, asymmetric_penalty=True, reveal_answer=True)
        shown = grader.grade(key, wrong, asymmetric_penalty=True, reveal_answer=True, reveal_heldout=True)
        assert hidden.answer is None and shown.answer is not None and shown.answer.fault_id == held_out
        assert hidden.score == shown.score
        assert not any(key.field in c.reason for c in hidden.components)

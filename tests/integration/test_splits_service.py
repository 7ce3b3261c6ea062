"""Fault splits over real gRPC: Reset's split reaches the generator, a task without held-out faults
refuses train/heldout with INVALID_ARGUMENT, and `mlopsdebug eval --split` records the split."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlopsdebug_cli.main import main
from mlopsdebug_client import EpisodeClient, InvalidArgumentError
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_generator import core

HELD = "silent_metric_swap"


@pytest.fixture
def held_out(monkeypatch):
    """One hard fault held out (the in-process services share this process's fault table)."""
    monkeypatch.setitem(FAULTS, HELD, dataclasses.replace(FAULTS[HELD], heldout=True))
    return HELD


def test_reset_on_a_split_plays_that_splits_scenario(cluster, held_out):
    sealer = Sealer(cluster.secret)
    with EpisodeClient(cluster.episode_addr) as client:
        for split in ("heldout", "train", "all"):
            reset = client.reset("hard", seed=11, split=split)
            expected = core.generate_scenario("hard", 11, sealer=sealer, salt=cluster.salt, split=split)
            assert reset.observation.run_summary.run_id == expected.run_summary.run_id
            client.close_episode(reset.episode_id)
        drawn = sealer.open(core.generate_scenario("hard", 11, sealer=sealer, split="heldout").answer_key).fault_id
        assert HELD in TASKS["hard"].heldout_faults and drawn in TASKS["hard"].heldout_faults


def test_a_task_without_held_out_faults_refuses_the_split(cluster):
    with EpisodeClient(cluster.episode_addr) as client:
        for split in ("train", "heldout"):
            with pytest.raises(InvalidArgumentError) as caught:
                client.reset("hard-v1", seed=1, split=split)
            assert caught.value.reason == "NO_SUCH_SPLIT"
    with pytest.raises(ValueError):
        EpisodeClient(cluster.episode_addr).reset("hard", seed=1, split="test")


def test_eval_records_the_split_and_refuses_a_missing_one(cluster, held_out, tmp_path):
    out = tmp_path / "heldout.jsonl"
    args = ["eval", "--address", cluster.episode_addr, "--output", str(out), "--no-progress",
            "--agent", "random", "--tasks", "hard", "--seeds", "0-3", "--split", "heldout"]
    assert main(args) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["task"], r["split"], r["seed"]) for r in records] == [("hard", "heldout", s) for s in range(4)]
    assert main(args) == 0 and len(out.read_text().splitlines()) == 4  # resumed: same keys
    missing = ["eval", "--address", cluster.episode_addr, "--output", str(tmp_path / "v1.jsonl"), "--no-progress",
               "--agent", "random", "--tasks", "hard-v1", "--seeds", "0", "--split", "train"]
    assert main(missing) == 2

"""`mlopsdebug eval` with the blind baselines against in-process clusters: training on disjoint seeds,
the cached table, no artifact ever read, and agreement with the gaming benchmark's offline figures."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys

import pytest

from mlopsdebug_agents.blind import BlindTable
from mlopsdebug_cli.evaluate import read_records
from mlopsdebug_cli.main import main

TRAIN, TEST = "100-129", "0-5"
_BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench" / "gaming_benchmark.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("gaming_benchmark", _BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gaming_benchmark", module)  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def revealing(request):
    """A private in-process cluster whose grades reveal the answer (what training needs)."""
    from inprocess import InProcessCluster

    c = InProcessCluster(salt=b"", reveal_answers=True).start()  # the benchmark learns unsalted
    request.addfinalizer(c.stop)
    return c


def run_eval(address: str, tmp_path: pathlib.Path, *args: str, output: str = "eval.jsonl") -> int:
    return main(["eval", "--address", address, "--output", str(tmp_path / output), "--no-progress",
                 "--train-cache", str(tmp_path / "cache"), *args])  # fmt: skip


@pytest.fixture(scope="module")
def blind_run(revealing, tmp_path_factory):
    """One run of both blind agents on every task: the records and the cached table."""
    tmp_path = tmp_path_factory.mktemp("blind")
    code = run_eval(revealing.episode_addr, tmp_path, "--agent", "checks-only,prior", "--train-seeds", TRAIN,
                    "--seeds", TEST)  # fmt: skip
    assert code == 0
    tables = sorted((tmp_path / "cache").glob("*.json"))
    assert [t.name.split("-")[0] for t in tables] == ["easy", "hard", "medium"]  # one file per task
    return tmp_path, read_records(tmp_path / "eval.jsonl"), tables


class TestTraining:
    def test_both_agents_play_every_episode_without_reading_an_artifact(self, blind_run):
        _, records, _ = blind_run
        assert {(k.agent, k.task) for k in records} == {(a, t) for a in ("checks-only", "prior")
                                                        for t in ("easy", "medium", "hard")}  # fmt: skip
        assert len(records) == 2 * 3 * 6
        for key, record in records.items():
            actions = [s["action"]["action_type"] for s in record["steps"]]
            assert record["status"] == "terminated" and record["grade"] is not None
            assert all(s["observation"]["artifacts_read"] == [] for s in record["steps"])
            if key.agent == "prior":
                assert actions == ["submit_diagnosis"]
            else:
                assert actions == ["run_sanity_check"] * 8 + ["submit_diagnosis"]

    def test_the_table_is_what_the_benchmark_learns_offline_and_scores_match(self, blind_run):
        """Learning through the service (survey, probes, revealed grades) equals learning from the generator and
        grader directly, so the benchmark's figures are the agents' own."""
        _, records, table_paths = blind_run
        bench = load_bench()
        sealer = bench.Sealer(bench.SECRET)
        lo, hi = (int(x) for x in TRAIN.split("-"))
        train = [e for t in ("easy", "medium", "hard") for e in bench.blind_episodes(t, range(lo, hi + 1), sealer, training=True)]
        offline = bench.learn_blind(train)
        for path in table_paths:
            served = BlindTable.from_json(json.loads(path.read_text()))
            (task,) = served.tasks
            assert served.tasks[task] == offline.tasks[task]
            assert served.meta["fingerprint"]["train_seeds"] == TRAIN
            # Learned on the train split: every training episode revealed its answer, none was a held-out fault.
            assert served.meta["sealed"] == 0 and served.meta["examples"] == sum(e.example.task == task for e in train)
        for task in ("easy", "medium", "hard"):
            for e in bench.blind_episodes(task, range(6), sealer):
                entry, _ = offline.task(task).lookup(e.example.pattern)
                checks_only = records[next(k for k in records if (k.agent, k.task, k.seed) == ("checks-only", task, e.example.seed))]
                prior = records[next(k for k in records if (k.agent, k.task, k.seed) == ("prior", task, e.example.seed))]
                assert checks_only["score"] == pytest.approx(bench.submit(e.key, entry.answer).score)
                assert prior["score"] == pytest.approx(bench.submit(e.key, offline.task(task).prior.answer).score)

    def test_a_rerun_reuses_the_cached_table(self, blind_run, revealing, capsys):
        tmp_path, _, table_paths = blind_run
        before = [p.read_text() for p in table_paths]
        capsys.readouterr()
        code = run_eval(revealing.episode_addr, tmp_path, "--agent", "checks-only", "--train-seeds", TRAIN,
                        "--seeds", "6-7", "--tasks", "easy", output="again.jsonl")  # fmt: skip
        assert code == 0
        err = capsys.readouterr().err
        assert "reusing the tables learned on seeds 100-129 for easy" in err and "training" not in err
        assert [p.read_text() for p in table_paths] == before and len(list(table_paths[0].parent.iterdir())) == 3

    def test_other_seeds_make_another_table(self, blind_run, revealing):
        tmp_path, _, _ = blind_run
        code = run_eval(revealing.episode_addr, tmp_path, "--agent", "prior", "--train-seeds", "200-209",
                        "--seeds", "0", "--tasks", "easy", output="other.jsonl")  # fmt: skip
        assert code == 0 and len(list((tmp_path / "cache").glob("easy-*.json"))) == 2


def test_answers_revealed_for_held_out_faults_teach_nothing(blind_run, tmp_path):
    """`mlopsdebug eval`'s own cluster reveals held-out faults' answers (its report needs them); the agents
    learn on the train split, so they learn there exactly what they learn where those answers stay sealed."""
    from inprocess import InProcessCluster

    _, _, sealed_tables = blind_run
    revealing_all = InProcessCluster(salt=b"", reveal_answers=True, grader_overrides={"reveal_heldout": True}).start()
    try:
        code = run_eval(revealing_all.episode_addr, tmp_path, "--agent", "checks-only", "--train-seeds", TRAIN,
                        "--seeds", "0", "--tasks", "medium")  # fmt: skip
    finally:
        revealing_all.stop()
    assert code == 0
    (table,) = (tmp_path / "cache").glob("medium-*.json")
    (sealed,) = [t for t in sealed_tables if t.name.startswith("medium-")]
    assert BlindTable.from_json(json.loads(table.read_text())).tasks == BlindTable.from_json(json.loads(sealed.read_text())).tasks


class TestRefusals:
    def test_overlapping_train_and_evaluated_seeds_are_refused(self, revealing, tmp_path, capsys):
        code = run_eval(revealing.episode_addr, tmp_path, "--agent", "checks-only", "--train-seeds", "0-20",
                        "--seeds", "15-30")  # fmt: skip
        assert code == 2 and "overlap" in capsys.readouterr().err
        assert not (tmp_path / "eval.jsonl").exists() and not (tmp_path / "cache").exists()

    def test_the_default_training_range_is_refused_when_it_overlaps(self, revealing, tmp_path, capsys):
        assert run_eval(revealing.episode_addr, tmp_path, "--agent", "prior", "--seeds", "10200") == 2
        assert "10200" in capsys.readouterr().err

    def test_a_cluster_that_withholds_answers_cannot_train(self, cluster, tmp_path, capsys):
        code = run_eval(cluster.episode_addr, tmp_path, "--agent", "prior", "--train-seeds", "50-51", "--seeds", "0",
                        "--tasks", "easy")  # fmt: skip
        assert code == 2 and "does not reveal answers" in capsys.readouterr().err

    def test_training_elsewhere_then_evaluating_a_sealed_cluster(self, cluster, revealing, tmp_path):
        code = run_eval(cluster.episode_addr, tmp_path, "--agent", "prior", "--train-seeds", "50-53", "--seeds", "0-1",
                        "--tasks", "easy", "--train-address", revealing.episode_addr)  # fmt: skip
        assert code == 0
        records = read_records(tmp_path / "eval.jsonl")
        assert len(records) == 2 and all(r["fault"] is None for r in records.values())

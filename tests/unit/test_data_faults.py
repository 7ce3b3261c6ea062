"""The medium family's version-2 data faults through their mechanisms, and the healthy variation that hides them.

A joined column that encodes the label (target_derived_feature) and random evaluation transforms
(eval_random_augmentation): the evidence each leaves in dataset_stats.json, train.log and
eval_results.json, the healthy twin that does not leave it, and the same fields in healthy runs.
"""

from __future__ import annotations

import json
import re

from mlopsdebug_generator import core, render

SEEDS = range(40)
# The mechanisms on the published version-2 scenarios (version 3 draws other worlds for the same seeds, with
# more benign noise; the fault contract and the played contract cover it).
TASK = "medium-v2"


def _docs(world) -> dict[str, str]:
    return {a.name: a.content for a in render.artifacts(world)}


def _logged_best_val_acc(log: str, best: int) -> float:
    line = re.search(rf"epoch {best}/\d+ done .* val_acc=(\S+)", log)
    assert line is not None
    return float(line.group(1))


class TestTargetDerivedFeature:
    def test_the_joined_column_encodes_the_label_and_test_pays_for_it(self):
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="target_derived_feature")
            twin = core.generate_world(TASK, seed, fault="target_derived_feature", healthy=True)
            column = planted.details.column
            stats = json.loads(_docs(planted)["dataset_stats.json"])["features"]
            twin_stats = json.loads(_docs(twin)["dataset_stats.json"])["features"]
            leak = stats["target_association"][column]
            assert min(leak["train"], leak["val"]) >= 0.85
            others = [v for f, per in stats["target_association"].items() if f != column for v in per.values()]
            assert max(others) < 0.5
            assert max(twin_stats["target_association"][column].values()) < 0.5
            # The same join in both runs: only what the column means differs.
            assert stats["joined_columns"][column]["source"] == twin_stats["joined_columns"][column]["source"]
            assert planted.eval.val.accuracy >= max(0.9, twin.eval.val.accuracy + 0.04)
            assert planted.eval.test.accuracy < twin.eval.test.accuracy - 0.03
            assert planted.eval.val.accuracy - planted.eval.test.accuracy > 0.05

    def test_the_key_names_the_constant_that_lists_the_column(self):
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="target_derived_feature")
            key = core.answer_key(planted)
            code = _docs(planted)["preprocessing.py"]
            assert re.search(rf'^{key.field} = \[\n    "{planted.details.column}",\n\]', code, re.M)
            assert f"part[{key.field}]" in code or f"), {key.field})," in code

    def test_healthy_version_2_tabular_runs_join_half_the_time_and_version_1_never(self):
        joined = []
        for seed in range(60):
            world = core.generate_world(TASK, seed, fault="data_leakage_overlap", healthy=True)
            if world.modality != "tabular":
                continue
            stats = json.loads(_docs(world)["dataset_stats.json"])["features"]
            assert max(v for per in stats["target_association"].values() for v in per.values()) < 0.5
            joined.append("joined_columns" in stats)
            v1 = core.generate_world("medium-v1", seed, fault="data_leakage_overlap", healthy=True)
            if v1.modality != "tabular":
                continue
            v1_stats = json.loads(_docs(v1)["dataset_stats.json"])["features"]
            assert "target_association" not in v1_stats and "joined_columns" not in v1_stats
            assert "merge(" not in _docs(v1)["preprocessing.py"]
        assert any(joined) and not all(joined)


class TestEvalRandomAugmentation:
    def test_evaluation_crops_at_random_and_disagrees_with_the_log(self):
        variants = set()
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="eval_random_augmentation")
            twin = core.generate_world(TASK, seed, fault="eval_random_augmentation", healthy=True)
            docs, twin_docs = _docs(planted), _docs(twin)
            variants.add(planted.details.variant)
            ops = json.loads(docs["dataset_stats.json"])["preprocessing"]["eval_transforms"]
            twin_ops = json.loads(twin_docs["dataset_stats.json"])["preprocessing"]["eval_transforms"]
            assert any(op.startswith("Random") for op in ops)
            assert [op.split("(")[0] for op in twin_ops] == ["Resize", "CenterCrop"]
            best = planted.trajectory.best_epoch
            logged = _logged_best_val_acc(docs["train.log"], best)
            assert abs(planted.eval.val.accuracy - logged) > 0.002
            assert twin.eval.val.accuracy == _logged_best_val_acc(twin_docs["train.log"], twin.trajectory.best_epoch)
            assert f"epoch={best:02d}-val_loss={planted.trajectory.val_loss[best - 1]:.4f}" in planted.eval.checkpoint
        assert variants == {"reuse", "crop"}

    def test_random_crops_cost_accuracy_on_average(self):
        gaps = []
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="eval_random_augmentation")
            twin = core.generate_world(TASK, seed, fault="eval_random_augmentation", healthy=True)
            gaps.append(twin.eval.test.accuracy - planted.eval.test.accuracy)
        assert sum(gaps) / len(gaps) > 0.005

    def test_healthy_vision_runs_resize_to_the_crop_or_wider_and_version_1_keeps_its_line(self):
        resizes = set()
        for seed in range(60):
            world = core.generate_world(TASK, seed, fault="data_leakage_overlap", healthy=True)
            if world.modality != "vision":
                continue
            resizes.add(world.eval_resize == world.vision.image_size)
            v1 = core.generate_world("medium-v1", seed, fault="data_leakage_overlap", healthy=True)
            if v1.modality == "vision":
                v1_docs = _docs(v1)
                assert "eval_transforms" not in json.loads(v1_docs["dataset_stats.json"])["preprocessing"]
                one_line = "transforms.Compose([transforms.Resize(IMAGE_SIZE), transforms.CenterCrop(IMAGE_SIZE)"
                assert one_line in v1_docs["preprocessing.py"]
        assert resizes == {True, False}


class TestOversampleBeforeSplit:
    def test_copies_of_minority_rows_straddle_the_split(self):
        gains = []
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="oversample_before_split")
            twin = core.generate_world(TASK, seed, fault="oversample_before_split", healthy=True)
            docs = _docs(planted)
            stats = json.loads(docs["dataset_stats.json"])
            val_counts = list(stats["splits"]["val"]["class_counts"].values())
            test_counts = list(stats["splits"]["test"]["class_counts"].values())
            assert max(val_counts) - min(val_counts) <= 1  # a balanced pool, stratified
            assert max(test_counts) > 2 * min(test_counts)  # the frozen test split keeps the real mix
            assert planted.splits.shared_ids > 0
            assert stats["splits"]["val"]["n_unique_ids"] < stats["splits"]["val"]["n_samples"]
            assert stats["preprocessing"]["resampling"]["n_rows_in"] == planted.splits.pool_rows
            checks = {c.check: c.status for c in core.render_world(planted)[2]}
            assert checks["data_leakage"] == "fail"
            code = docs["preprocessing.py"]
            pool, fn = planted.names["pool_var"], planted.resample_fn
            assert code.index(f"    {pool} = {fn}({pool})") < code.index(f"{planted.names['split_fn']}({pool},")
            assert twin.resample_scope in ("", "train") and twin.splits.shared_ids == 0
            gains.append(planted.eval.val.accuracy - twin.eval.val.accuracy)
        assert sum(gains) / len(gains) > 0.02

    def test_healthy_runs_oversample_the_training_split_sometimes(self):
        scopes = []
        for seed in range(80):
            world = core.generate_world(TASK, seed, fault="data_leakage_scaler", healthy=True)
            scopes.append(world.resample_scope)
            if world.resample_scope != "train":
                continue
            counts = world.splits.counts
            assert counts[0].max() - counts[0].min() <= 1 and counts[1].max() > 2 * counts[1].min()
            assert world.splits.shared_ids == 0
            assert world.splits.unique_ids[0] < world.splits.n[0] or world.max_train_samples
            code = _docs(world)["preprocessing.py"]
            train = world.names["train_var"]
            assert f"    {train} = {world.resample_fn}({train})" in code
        assert 0.1 < scopes.count("train") / len(scopes) < 0.5


class TestJoinDuplicateRows:
    def test_a_lookup_with_several_rows_per_id_repeats_rows_across_the_split(self):
        gains = []
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="join_duplicate_rows")
            twin = core.generate_world(TASK, seed, fault="join_duplicate_rows", healthy=True)
            docs, twin_docs = _docs(planted), _docs(twin)
            stats = json.loads(docs["dataset_stats.json"])
            for split in ("train", "val", "test"):
                entry = stats["splits"][split]
                assert entry["n_unique_ids"] < entry["n_samples"] or split == "train" and "subsampled_from" in entry
            assert planted.splits.shared_ids > 0
            assert {c.check: c.status for c in core.render_world(planted)[2]}["data_leakage"] == "fail"
            table = planted.details.table
            assert f'pd.read_parquet(DATA_DIR / "{table}.parquet")' in docs["preprocessing.py"]
            assert f'load_table("{table}")' in twin_docs["preprocessing.py"]
            assert twin.splits.shared_ids == 0 and twin.resample_scope == "" and twin.join_table == table
            # The twin is the same run with a lookup of one row per id: the pool keeps its size.
            assert planted.splits.n[2] > twin.splits.n[2]
            gains.append(planted.eval.val.accuracy - twin.eval.val.accuracy)
        assert sum(gains) / len(gains) > 0.02


class TestNormalizationFromTest:
    def test_normalize_reproduces_the_test_images_statistics(self):
        for seed in SEEDS:
            planted = core.generate_world(TASK, seed, fault="normalization_from_test")
            twin = core.generate_world(TASK, seed, fault="normalization_from_test", healthy=True)
            stats = json.loads(_docs(planted)["dataset_stats.json"])
            twin_stats = json.loads(_docs(twin)["dataset_stats.json"])
            pixels = stats["features"]["pixel_mean"]
            assert stats["preprocessing"]["normalize"]["mean"] == pixels["test"] != pixels["train"]
            assert twin_stats["preprocessing"]["normalize"]["mean"] != twin_stats["features"]["pixel_mean"]["test"]
            assert 'MEAN, STD = channel_stats("test")' in _docs(planted)["preprocessing.py"]
            checks = {c.check: c.status for c in core.render_world(planted)[2]}
            twin_checks = {c.check: c.status for c in core.render_world(twin)[2]}
            assert checks["feature_statistics"] == "fail" and twin_checks["feature_statistics"] != "fail"

    def test_healthy_runs_from_scratch_compute_statistics_on_the_train_manifest_half_the_time(self):
        sources = []
        for seed in range(80):
            world = core.generate_world(TASK, seed, fault="data_leakage_overlap", healthy=True)
            if world.modality != "vision" or world.pretrained:
                continue
            sources.append(world.norm_source)
            code = _docs(world)["preprocessing.py"]
            assert ('MEAN, STD = channel_stats("train")' in code) == (world.norm_source == "pool")
        assert set(sources) == {"", "pool"}

"""The generator core's public API: tasks, validation, determinism, identifiers and answer keys."""

from __future__ import annotations

import collections
import hashlib
import json
import math
import os
import subprocess
import sys

import pytest
import yaml

from mlopsdebug_common.domain import SANITY_CHECKS, TRAINING_STATUSES, ArtifactDoc, RunSummary, Scenario
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.faults import ARTIFACT_FILES, FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import MAX_SEED, TASK_ORDER, TASKS
from mlopsdebug_generator import core, render_config

SEALER = Sealer(b"generator-unit-test-secret-000000")


def digest(scenario: Scenario) -> str:
    """A canonical fingerprint of everything in a scenario (NaN-safe, unlike dataclass equality)."""
    h = hashlib.sha256()
    parts = [scenario.scenario_id, scenario.task_id, str(scenario.seed), scenario.generator_version, repr(scenario.run_summary)]
    for a in scenario.artifacts:
        parts += [a.name, a.content, a.description, a.last_modified]
    for c in scenario.sanity_checks:
        parts += [c.check, c.status, c.summary, json.dumps(c.metrics, sort_keys=True), *c.details]
    key = scenario.answer_key
    parts += [key.key_id, key.nonce.hex(), key.ciphertext.hex(), key.scenario_id]
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


class TestTasks:
    def test_list_tasks_returns_the_families_then_the_pinned_versions(self):
        """list_tasks() is easy, medium, hard (the newest versions), then easy-v1, medium-v1, ..."""
        ids = [t.task_id for t in core.list_tasks()]
        assert ids[:3] == list(TASK_ORDER) and sorted(ids) == sorted(TASKS)
        assert all(t is TASKS[t.task_id] for t in core.list_tasks())

    def test_generator_versions(self):
        """The generator version that enters the seed entropy and the answer key, per task version."""
        assert core.GENERATOR_VERSIONS == {1: "2.0.0", 2: "3.0.0", 3: "4.0.0", 4: "5.0.0"}
        assert core.GENERATOR_VERSION == "5.0.0"


class TestValidation:
    def test_unknown_task_raises_invalid_argument(self):
        """An unknown task id is the common InvalidArgument (UNKNOWN_TASK) that names the valid tasks."""
        with pytest.raises(InvalidArgument, match="expected one of easy") as caught:
            core.generate_scenario("impossible", 1, sealer=SEALER)
        assert caught.value.reason == "UNKNOWN_TASK" and caught.value.violations[0].field == "task_id"

    @pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 2**64])
    def test_seed_outside_range_raises_invalid_seed_error(self, seed):
        """Seeds outside [0, MAX_SEED] are rejected."""
        with pytest.raises(InvalidArgument) as caught:
            core.generate_scenario("easy", seed, sealer=SEALER)
        assert caught.value.reason == "INVALID_SEED"

    @pytest.mark.parametrize("seed", ["3", 1.5, True, None])
    def test_non_integer_seed_raises_invalid_seed_error(self, seed):
        """Strings, floats and booleans are not seeds."""
        with pytest.raises(InvalidArgument) as caught:
            core.generate_world("easy", seed)
        assert caught.value.reason == "INVALID_SEED"

    def test_boundary_seeds_are_accepted(self):
        """0 and MAX_SEED both generate."""
        assert core.generate_scenario("hard", 0, sealer=SEALER).seed == 0
        assert core.generate_scenario("hard", MAX_SEED, sealer=SEALER).seed == MAX_SEED

    def test_forcing_a_fault_from_another_task_is_rejected(self):
        """generate_world(fault=...) accepts only faults of the task's pool."""
        with pytest.raises(InvalidArgument, match="not in the pool"):
            core.generate_world("easy", 1, fault="silent_metric_swap")


class TestScenarioShape:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_six_artifacts_eight_checks_summary_and_key(self, task_id):
        """A scenario has the artifacts in ARTIFACT_FILES order, the checks in SANITY_CHECKS order, and a key."""
        scenario = core.generate_scenario(task_id, 11, sealer=SEALER)
        assert tuple(a.name for a in scenario.artifacts) == ARTIFACT_FILES
        assert all(isinstance(a, ArtifactDoc) and a.content and a.description for a in scenario.artifacts)
        assert tuple(c.check for c in scenario.sanity_checks) == SANITY_CHECKS
        assert isinstance(scenario.run_summary, RunSummary)
        assert scenario.task_id == task_id and scenario.generator_version == core.GENERATOR_VERSION
        key = SEALER.open(scenario.answer_key)
        assert key.scenario_id == scenario.scenario_id and key.task_id == task_id and key.seed == 11
        assert key.fault_id in TASKS[task_id].fault_pool

    def test_structured_artifacts_parse(self):
        """config.yaml is YAML, the three JSON artifacts are JSON objects; size hints are computed."""
        scenario = core.generate_scenario("medium", 4, sealer=SEALER)
        assert isinstance(yaml.safe_load(scenario.artifact("config.yaml").content), dict)
        for name in ("dataset_stats.json", "eval_results.json", "model_card.json"):
            assert isinstance(json.loads(scenario.artifact(name).content), dict)
            assert scenario.artifact(name).size_hint.endswith("fields")
        assert scenario.artifact("train.log").size_hint.endswith("lines")

    def test_run_summary_values_are_in_range(self):
        """Metrics in [0, 1], epochs completed <= planned, statuses from the vocabulary."""
        for task_id in TASK_ORDER:
            for seed in range(20):
                s = core.generate_scenario(task_id, seed, sealer=SEALER).run_summary
                assert 0.0 <= s.val_metric <= 1.0 and 0.0 <= s.test_metric <= 1.0
                assert 0 <= s.epochs_completed <= s.epochs_planned
                assert s.training_status in TRAINING_STATUSES
                assert s.wall_clock_seconds > 0
                if s.training_status == "diverged":
                    assert math.isnan(s.final_train_loss) and math.isnan(s.final_val_loss)


class TestDeterminism:
    def test_same_inputs_give_identical_scenarios(self):
        """Two calls with the same (task, seed, salt) return byte-identical scenarios."""
        for task_id in TASK_ORDER:
            assert digest(core.generate_scenario(task_id, 42, sealer=SEALER)) == digest(
                core.generate_scenario(task_id, 42, sealer=SEALER)
            )

    def test_identical_across_processes_and_hash_seeds(self):
        """A fresh interpreter with another PYTHONHASHSEED produces the same bytes."""
        cases = [("easy", 3), ("medium", 8), ("hard", 21), ("hard", MAX_SEED)]
        here = [digest(core.generate_scenario(t, s, sealer=SEALER)) for t, s in cases]
        program = (
            f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r})\n"
            "from test_generator import digest, SEALER\n"
            "from mlopsdebug_generator import core\n"
            f"for t, s in {cases!r}: print(digest(core.generate_scenario(t, s, sealer=SEALER)))\n"
        )
        for hash_seed in ("0", "12345"):
            env = {**os.environ, "PYTHONHASHSEED": hash_seed}
            out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
            assert out.stdout.split() == here

    def test_check_results_do_not_depend_on_run_order(self):
        """Each check draws from its own stream: running them in reverse order changes nothing."""
        from mlopsdebug_generator import checks

        world = core.generate_world("medium", 17, fault="data_leakage_overlap")
        forward = checks.run_all(world, core._check_streams("medium", 17, b""))
        streams = core._check_streams("medium", 17, b"")
        backward = [checks.CHECKS[name](world, stream) for name, stream in reversed(list(zip(SANITY_CHECKS, streams, strict=True)))]
        assert forward == tuple(reversed(backward))

    def test_sealing_secret_changes_only_the_key(self):
        """Another secret seals another key; the agent-visible scenario is unchanged."""
        a = core.generate_scenario("easy", 9, sealer=SEALER)
        b = core.generate_scenario("easy", 9, sealer=Sealer(b"another-secret-another-secret!!"))
        assert a.artifacts == b.artifacts and a.scenario_id == b.scenario_id
        assert a.answer_key.ciphertext != b.answer_key.ciphertext


class TestSaltAndIdentifiers:
    def test_salt_changes_ids_and_world(self):
        """A deployment salt gives other ids and another world for the same public seed."""
        plain = core.generate_scenario("medium", 5, sealer=SEALER)
        salted = core.generate_scenario("medium", 5, sealer=SEALER, salt=b"deployment-salt")
        assert plain.scenario_id != salted.scenario_id
        assert plain.run_summary.run_id[-8:] != salted.run_summary.run_id[-8:]
        assert plain.artifact("config.yaml").content != salted.artifact("config.yaml").content
        again = core.generate_scenario("medium", 5, sealer=SEALER, salt=b"deployment-salt")
        assert digest(again) == digest(salted)

    def test_the_service_refuses_to_run_unsalted_by_accident(self, monkeypatch):
        """No MLOPSDEBUG_SALT and no explicit public choice: the generator does not start."""
        from mlopsdebug_generator.config import salt_from_env

        monkeypatch.delenv("MLOPSDEBUG_SALT", raising=False)
        monkeypatch.delenv("MLOPSDEBUG_SALT_PUBLIC", raising=False)
        with pytest.raises(SystemExit, match=r"MLOPSDEBUG_SALT is not set.*openssl rand -hex 16"):
            salt_from_env()
        monkeypatch.setenv("MLOPSDEBUG_SALT", "")
        with pytest.raises(SystemExit, match="MLOPSDEBUG_SALT is not set"):
            salt_from_env()
        monkeypatch.setenv("MLOPSDEBUG_SALT_PUBLIC", "true")
        assert salt_from_env() == b""  # public on purpose
        monkeypatch.setenv("MLOPSDEBUG_SALT", "s3cret")
        with pytest.raises(SystemExit, match="contradict"):
            salt_from_env()
        monkeypatch.setenv("MLOPSDEBUG_SALT_PUBLIC", "false")
        assert salt_from_env() == b"s3cret"

    def test_a_public_generator_says_so_loudly(self, caplog):
        """An unsalted generator logs a WARNING that its answers are computable offline."""
        from mlopsdebug_generator.config import GeneratorConfig
        from mlopsdebug_generator.server import GeneratorServicer

        with caplog.at_level("WARNING", logger="mlopsdebug.generator"):
            GeneratorServicer(GeneratorConfig(secret=b"s" * 32, salt=b"x"))
            assert not caplog.records
            GeneratorServicer(GeneratorConfig(secret=b"s" * 32))
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert "every answer is computable offline" in caplog.records[0].getMessage()

    def test_ids_do_not_depend_on_the_fault(self):
        """scenario_id and the run id's hash are the same whichever fault is planted."""
        for task_id in TASK_ORDER:
            worlds = [core.generate_world(task_id, 77, fault=f) for f in TASKS[task_id].fault_pool]
            assert len({w.scenario_id for w in worlds}) == 1
            assert len({w.run_id[-8:] for w in worlds}) == 1

    def test_ids_look_like_real_ids_and_are_unique(self):
        """run-YYYYMMDD-8hex and scn-24hex, distinct across seeds and tasks."""
        seen = set()
        for task_id in TASK_ORDER:
            for seed in range(50):
                s = core.generate_scenario(task_id, seed, sealer=SEALER)
                assert s.run_summary.run_id.startswith("run-") and len(s.run_summary.run_id) == 21
                assert s.scenario_id.startswith("scn-") and len(s.scenario_id) == 28
                seen.add(s.scenario_id)
        assert len(seen) == 150


class TestFaultChoice:
    @pytest.mark.parametrize("task_id", TASK_ORDER)
    def test_every_fault_of_the_pool_is_drawn_about_equally(self, task_id):
        """Over 100 seeds per fault of the pool, each fault is drawn within 40% of its fair share."""
        pool = TASKS[task_id].fault_pool
        seeds = 100 * len(pool)
        counts = collections.Counter(SEALER.open(core.generate_scenario(task_id, s, sealer=SEALER).answer_key).fault_id for s in range(seeds))
        assert set(counts) == set(pool)
        assert all(60 <= n <= 140 for n in counts.values()), counts


class TestAnswerKeys:
    @pytest.mark.parametrize("fault", list(FAULTS))
    def test_key_matches_the_fault_spec(self, fault):
        """Category, required params and JSON-scalar params for 25 seeds of each fault."""
        spec = FAULTS[fault]
        for seed in range(25):
            key = core.answer_key(core.generate_world(spec.task_id, seed, fault=fault))
            assert key.fault_id == fault and key.category == spec.category
            assert set(spec.params) <= set(key.params)
            assert all(isinstance(v, (str, int, float, bool)) for v in key.params.values())
            assert key.field not in key.field_aliases

    @pytest.mark.parametrize("fault", ["exploding_lr", "wrong_optimizer", "batch_size_overflow"])
    def test_config_field_is_the_dotted_path_holding_the_bad_value(self, fault):
        """The canonical field resolves in the parsed config.yaml to bad_value; no alias is another real path."""
        for seed in range(40):
            world = core.generate_world("easy", seed, fault=fault)
            key = core.answer_key(world)
            if world.fault_in_code:  # version 3: the value is set in preprocessing.py's overrides (tested there)
                continue
            config = yaml.safe_load(render_config.render(world))
            node = config
            for part in key.field.split("."):
                node = node[part]
            assert node == key.params["bad_value"]
            for alias in key.field_aliases:
                node = config
                for part in alias.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                assert node is None or node == key.params["bad_value"], f"alias {alias} names another field"

    def test_fix_params_are_in_their_ranges(self):
        """Bad values are really bad and safe bounds are the agreed ones."""
        for seed in range(60):
            key = core.answer_key(core.generate_world("easy-v1", seed, fault="exploding_lr"))
            assert key.params["safe_max"] == 1e-2 and key.params["bad_value"] > key.params["safe_max"]
            world = core.generate_world("easy", seed, fault="exploding_lr")
            key = core.answer_key(world)
            assert key.params["safe_max"] == (0.2 if world.optimizer == "sgd" else 1e-2)
            assert key.params["bad_value"] >= 5 * key.params["safe_max"]
            key = core.answer_key(core.generate_world("easy", seed, fault="wrong_optimizer"))
            assert key.params["safe_max"] == 0.95 and 0.95 < key.params["bad_value"] < 1.0
            key = core.answer_key(core.generate_world("easy", seed, fault="batch_size_overflow"))
            assert key.params["bad_value"] > key.params["train_size"]
            key = core.answer_key(core.generate_world("medium", seed, fault="wrong_split_ratio"))
            assert 0.5 < key.params["bad_value"] < 1.0
            key = core.answer_key(core.generate_world("medium", seed, fault="data_leakage_overlap"))
            assert key.params["mechanism"] in ("double_split", "duplicate_sources")
            key = core.answer_key(core.generate_world("hard", seed, fault="tokenizer_version_drift"))
            assert key.params["train_version"] != key.params["eval_version"]


class TestGallery:
    def test_gallery_renders_evidence_for_each_task(self, capsys):
        """The README gallery generator prints one section per task with artifact excerpts and checks."""
        from mlopsdebug_generator import gallery

        gallery.main(["easy-v3:15", "medium-v3:13", "hard-v3:4"])  # pinned: their evidence stays as asserted
        text = capsys.readouterr().out
        assert text.count("\n### ") == 3 and text.count("*Sanity checks*") == 3
        assert "```yaml" in text and "```python" in text and "Root cause:" in text

    def test_the_optimizer_in_a_conclusion_is_the_runs_optimizer(self, capsys):
        """exploding_lr's conclusion names the run's optimizer (easy-v2 seed 0: adamw on tabnet), not its model."""
        from mlopsdebug_generator import gallery

        world = core.generate_world("easy-v2", 0)
        assert world.fault_id == "exploding_lr" and world.optimizer == "adamw"
        gallery.main(["easy-v2:0"])
        root_cause = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Root cause:"))
        assert "stable range for adamw" in root_cause


class TestGeneratedDocs:
    def test_readme_and_grading_tables_and_gallery_are_current(self):
        """The README's task, rules and gallery sections and docs/grading.md's rules table are exactly what
        scripts/gen_docs.py prints from the registry, the fix rules and the generator today."""
        import importlib.util
        import pathlib

        path = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "gen_docs.py"
        spec = importlib.util.spec_from_file_location("gen_docs", path)
        gen_docs = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen_docs)
        stale = [p.name for p, text in gen_docs.rendered().items() if p.read_text(encoding="utf-8") != text]
        assert not stale, f"regenerate with python scripts/gen_docs.py: {stale}"

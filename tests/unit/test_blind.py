"""The blind baselines' learning, tables and agents, on synthetic records (no services)."""

from __future__ import annotations

import json

import pytest

from mlopsdebug_agents import load_agent_factory
from mlopsdebug_agents.blind import (
    NEUTRAL_FIX,
    Answer,
    BlindAgentFactory,
    BlindTable,
    ChecksOnlyAgent,
    Example,
    FaultClassifier,
    NaiveBayesClassifier,
    PriorAgent,
    Probe,
    Revealed,
    fail_set,
    fix_candidates,
    learn_table,
    nested_location,
    pattern_of,
    probe_plan,
)
from mlopsdebug_agents.random_agent import SANITY_CHECKS
from mlopsdebug_cli.blind_training import TrainingError, check_disjoint, seeds_text

A = Revealed("fault_a", "config_error", "config.yaml", "optimizer.lr", ("lr",), "Lower the lr to 1e-3 (it was 3).")
B = Revealed("fault_b", "data_leakage", "preprocessing.py", "make_split", (), "Split once.")
P_A, P_B = "FPPPPPPP", "PFPPPPPP"


def example(answer: Revealed, seed: int, pattern: str, task: str = "t", asymmetric: bool = False) -> Example:
    return Example(task, seed, pattern, answer, asymmetric)


def probes_for(examples, credit_of) -> list[Probe]:
    """Probes as the grade would score them: `credit_of(example, fix)` -> fix credit; the field always coherent."""
    plan = probe_plan(examples, fix_candidates(examples))
    return [Probe(e.task, e.seed, a.fix, 1.0, credit_of(e, a.fix)) for e, a in plan]


def full_credit(_example, fix):
    return 1.0


def record(statuses: dict[str, str], answer: dict | None, *, task="easy", seed=3) -> dict:
    """An `mlopsdebug eval` record of a checks-then-submit episode."""
    steps = [
        {"action": {"action_type": "run_sanity_check", "sanity_check_type": c}, "error": None,
         "observation": {"artifacts_read": [], "result": {"type": "sanity_check", "check": c, "status": s}}}
        for c, s in statuses.items()
    ]  # fmt: skip
    steps.append({
        "action": {"action_type": "submit_diagnosis", "proposed_fix": "Split once."}, "error": None,
        "observation": {"artifacts_read": [], "result": {"type": "grade", "score": 0.4}},
    })  # fmt: skip
    grade = {
        "score": 0.4, "asymmetric_penalty": task == "hard", "answer": answer,
        "components": [{"kind": k, "weight": w, "credit": c, "reason": ""}
                       for k, w, c in (("category", 0.15, 1.0), ("file", 0.25, 1.0), ("field", 0.3, 0.0), ("fix", 0.3, 0.5))],
    }  # fmt: skip
    return {"task": task, "seed": seed, "agent": "x", "steps": steps, "grade": grade}


class TestPatterns:
    def test_one_letter_per_check_in_check_order_and_unknown_as_question_mark(self):
        statuses = {"data_leakage": "fail", "label_consistency": "warn", "class_balance": "not_applicable"}
        assert pattern_of(statuses) == "WF?N????"
        assert pattern_of(dict.fromkeys(SANITY_CHECKS, "pass")) == "PPPPPPPP"

    def test_fail_set_keeps_only_failures(self):
        assert fail_set("WFPNFW?P") == ".F..F..."


class TestFromRecords:
    def test_example_has_the_verdicts_and_the_revealed_answer(self):
        answer = {"fault_id": "fault_b", "category": "data_leakage", "file": "preprocessing.py", "field": "make_split",
                  "field_aliases": ["split_fn"], "fix_rule": "Split once."}  # fmt: skip
        e = Example.from_record(record(dict.fromkeys(SANITY_CHECKS, "pass") | {"data_leakage": "fail"}, answer))
        assert e is not None and e.pattern == "PFPPPPPP" and e.task == "easy" and e.seed == 3
        assert e.answer == Revealed("fault_b", "data_leakage", "preprocessing.py", "make_split", ("split_fn",), "Split once.")
        assert not e.asymmetric

    def test_no_example_without_a_revealed_answer(self):
        assert Example.from_record(record({"data_leakage": "fail"}, None)) is None

    def test_probe_reads_the_submitted_fix_and_the_grade_credits(self):
        probe = Probe.from_record(record({}, None))
        assert probe == Probe("easy", 3, "Split once.", 0.0, 0.5)


class TestFixCandidates:
    def test_rule_sentences_as_given_and_without_parentheses_most_frequent_first(self):
        rules = ["Lower the lr to 1e-3 (it was 3).", "Lower the lr to 1e-3 (it was 5).", "Lower the lr to 1e-3 (it was 3)."]
        examples = [example(Revealed("fault_a", "config_error", "config.yaml", "lr", (), r), i, P_A) for i, r in enumerate(rules)]
        assert fix_candidates(examples)[("t", "fault_a")] == [
            "Lower the lr to 1e-3.", "Lower the lr to 1e-3 (it was 3).", "Lower the lr to 1e-3 (it was 5)."
        ]  # fmt: skip
        assert fix_candidates(examples, per_fault=1) == {("t", "fault_a"): ["Lower the lr to 1e-3."]}

    def test_probe_plan_tries_every_candidate_on_up_to_n_episodes_of_its_fault(self):
        examples = [example(A, i, P_A) for i in range(5)] + [example(B, 10 + i, P_B) for i in range(2)]
        plan = probe_plan(examples, fix_candidates(examples), per_text=3)
        # fault_a has two candidates (with and without the parentheses), fault_b one.
        assert len(plan) == 3 * 2 + 2 * 1
        for e, answer in plan:
            assert (answer.category, answer.file, answer.field) == (e.answer.category, e.answer.file, e.answer.field)


class TestLearning:
    def test_each_pattern_gets_its_faults_answer_and_unseen_patterns_back_off(self):
        examples = [example(A, i, P_A) for i in range(3)] + [example(B, 10, P_B)]
        table = learn_table(examples, probes_for(examples, full_credit)).task("t")
        entry, level = table.lookup(P_A)
        assert level == "pattern" and entry.episodes == 3 and entry.train_score == pytest.approx(1.0)
        assert (entry.answer.category, entry.answer.file, entry.answer.field) == ("config_error", "config.yaml", "lr")
        assert table.lookup(P_B)[0].answer.field == "make_split"
        # Same failed checks, other warnings: the failed-checks table; nothing like it: the prior (the majority fault).
        assert table.lookup("FPWPPWPP") == (table.fail_sets["F......."], "fail_set")
        assert table.lookup("FFPPPPPP") == (table.prior, "prior")
        assert table.prior.answer.category == "config_error" and table.prior.episodes == 4
        assert table.prior.train_score == pytest.approx(0.75)

    def test_a_field_alias_shared_across_scenarios_beats_each_canonical_name(self):
        a1 = Revealed("fault_a", "config_error", "config.yaml", "optimizer.lr", ("lr",), "Lower the lr.")
        a2 = Revealed("fault_a", "config_error", "config.yaml", "model.optimizer.lr", ("lr",), "Lower the lr.")
        examples = [example(a1, 0, P_A), example(a2, 1, P_A)]
        table = learn_table(examples, probes_for(examples, full_credit)).task("t")
        assert table.prior.answer.field == "lr" and table.prior.train_score == pytest.approx(1.0)

    def test_the_fix_is_the_candidate_with_the_best_measured_credit(self):
        """A rule sentence quoting one scenario's value fails elsewhere; the probes show it."""
        rules = ["Use tokenizer v2 (not v1).", "Use tokenizer v3 (not v1)."]
        examples = [example(Revealed("drift", "evaluation_bug", "preprocessing.py", "tok", (), rules[i % 2]), i, P_A)
                    for i in range(4)]  # fmt: skip

        def credit(e, fix):
            return 1.0 if fix == "Use tokenizer v2." or fix == e.answer.fix_rule else 0.0

        table = learn_table(examples, probes_for(examples, credit)).task("t")
        assert table.prior.answer.fix == "Use tokenizer v2." and table.prior.train_score == pytest.approx(1.0)

    def test_a_neutral_fix_wins_when_any_faults_fix_would_void_the_field_elsewhere(self):
        """Three faults sharing category, file and field: a fault's fix scores 1 on a third of the seeds and 0.4 on
        the rest (its field is voided), 0.6 in all; a fix aimed at nothing keeps 0.7 everywhere."""
        faults = [Revealed(f"f{i}", "evaluation_bug", "preprocessing.py", "x", (), f"Do thing {i}.") for i in range(3)]
        examples = [example(faults[i % 3], i, P_A) for i in range(6)]
        table = learn_table(examples, probes_for(examples, full_credit)).task("t")
        assert table.prior.answer == Answer("evaluation_bug", "preprocessing.py", "x", NEUTRAL_FIX)
        assert table.prior.train_score == pytest.approx(0.7)

    def test_asymmetric_tasks_pay_one_and_a_half_times_each_miss(self):
        b_in_config = Revealed("fault_b", "config_error", "config.yaml", "batch_size", (), "Lower the batch size.")
        for asymmetric, expected in ((False, 0.7), (True, 0.55)):
            examples = [example(A, 0, P_A, task="t-v2", asymmetric=asymmetric),
                        example(b_in_config, 1, P_A, task="t-v2", asymmetric=asymmetric)]
            table = learn_table(examples, probes_for(examples, full_credit)).task("t-v2")
            # Either fault's answer: 1.0 on its own seed; 0.4 raw on the other (category and file), which the
            # asymmetric penalty makes max(0, 1 - 1.5 * 0.6) = 0.1.
            assert table.prior.train_score == pytest.approx(expected)

    def test_from_version_3_category_and_file_need_the_field(self):
        """Version 3 (and plain task names) scale category and file credit by the field credit: on the other
        fault's seed the shared category and file earn nothing."""
        b_in_config = Revealed("fault_b", "config_error", "config.yaml", "batch_size", (), "Lower the batch size.")
        assert nested_location("easy") and nested_location("easy-v3") and nested_location("easy-v4")
        assert not nested_location("easy-v2")
        for task in ("t-v3", "t-v4", "t"):
            examples = [example(A, 0, P_A, task=task), example(b_in_config, 1, P_A, task=task)]
            table = learn_table(examples, probes_for(examples, full_credit)).task(task)
            assert table.prior.train_score == pytest.approx(0.5)

    def test_incoherent_probes_count_against_their_fix(self):
        """A probe whose field earned nothing although it was right shows the fix aims at another fault."""
        examples = [example(A, 0, P_A)]
        probes = [Probe("t", 0, fix, 0.0, 0.5) for fix in fix_candidates(examples)[("t", "fault_a")]]
        table = learn_table(examples, probes).task("t")
        # With the field voided the fix is worth 0.15 + 0.25 + 0 + 0.15 = 0.55; the neutral fix keeps the field: 0.7.
        assert table.prior.answer.fix == NEUTRAL_FIX and table.prior.train_score == pytest.approx(0.7)

    def test_tasks_are_learned_apart(self):
        examples = [example(A, 0, P_A, task="easy"), example(B, 0, P_A, task="medium")]
        table = learn_table(examples, probes_for(examples, full_credit))
        assert table.task("easy").lookup(P_A)[0].answer.category == "config_error"
        assert table.task("medium").lookup(P_A)[0].answer.field == "make_split"
        with pytest.raises(KeyError, match="hard"):
            table.task("hard")

    def test_json_round_trip_and_format_check(self):
        examples = [example(A, i, P_A) for i in range(2)] + [example(B, 5, P_B)]
        table = learn_table(examples, probes_for(examples, full_credit), meta={"fingerprint": {"x": 1}})
        again = BlindTable.from_json(json.loads(table.dumps()))
        assert again == table and again.meta == {"fingerprint": {"x": 1}}
        with pytest.raises(ValueError, match="format"):
            BlindTable.from_json({"format": "other", "tasks": {}})


class TestClassifiers:
    def test_majority_per_pattern_with_back_off(self):
        examples = [example(A, 0, P_A), example(A, 1, P_A), example(B, 2, P_A), example(B, 3, P_B), example(B, 4, P_B)]
        classifier = FaultClassifier.fit(examples)
        assert classifier.predict("t", P_A) == "fault_a"
        assert classifier.predict("t", "PFWWPPPP") == "fault_b"  # fail set of P_B
        assert classifier.predict("t", "PPPPPPPF") == "fault_b"  # the task's majority

    def test_naive_bayes_learns_which_check_separates_the_faults(self):
        examples = [example(A, i, "FPPPPPP" + "PW"[i % 2]) for i in range(6)]
        examples += [example(B, 10 + i, "PFPPPPP" + "PW"[i % 2]) for i in range(6)]
        classifier = NaiveBayesClassifier.fit(examples)
        assert classifier.predict("t", "FPPPPPPW") == "fault_a"
        assert classifier.predict("t", "PFPPPPPP") == "fault_b"


def observation(task: str, step: int, max_steps: int = 20, result: dict | None = None) -> dict:
    return {"task_id": task, "step_count": step, "max_steps": max_steps, "last_action_result": result or {}}


def trained_table() -> BlindTable:
    examples = [example(A, 0, P_A, task="easy"), example(B, 1, P_B, task="easy"), example(B, 2, P_B, task="easy")]
    return learn_table(examples, probes_for(examples, full_credit))


class TestAgents:
    def test_checks_only_runs_the_eight_checks_then_answers_for_their_pattern(self):
        agent = ChecksOnlyAgent(0, table=trained_table())
        actions, result = [], None
        verdicts = dict.fromkeys(SANITY_CHECKS, "pass") | {"label_consistency": "fail"}
        for step in range(9):
            action = agent.act(observation("easy", step, result=result))
            actions.append(action)
            if action["action_type"] == "run_sanity_check":
                check = action["sanity_check_type"]
                result = {"type": "sanity_check", "check": check, "status": verdicts[check]}
        assert [a.get("sanity_check_type") for a in actions[:8]] == list(SANITY_CHECKS)
        assert actions[8]["action_type"] == "submit_diagnosis" and agent.level == "pattern"
        assert actions[8]["failure_category"] == "config_error"  # P_A: fault_a's answer
        assert {a["action_type"] for a in actions} == {"run_sanity_check", "submit_diagnosis"}

    def test_checks_only_submits_on_the_last_step_of_a_short_budget(self):
        agent = ChecksOnlyAgent(0, table=trained_table())
        assert agent.act(observation("easy", 0, max_steps=2))["action_type"] == "run_sanity_check"
        submitted = agent.act(observation("easy", 1, max_steps=2, result={"type": "sanity_check", "check":
                                                                           "label_consistency", "status": "pass"}))
        assert submitted["action_type"] == "submit_diagnosis" and agent.level in ("fail_set", "prior")

    def test_prior_submits_the_task_prior_at_once(self):
        table = trained_table()
        action = PriorAgent(0, table=table).act(observation("easy", 0))
        assert action == table.task("easy").prior.answer.action()
        assert action["root_cause_field"] == "make_split"  # fault_b is the majority

    def test_built_in_names_give_factories_that_need_training(self):
        for name in ("checks-only", "prior"):
            factory = load_agent_factory(name)
            assert isinstance(factory, BlindAgentFactory) and factory.needs_training
            with pytest.raises(RuntimeError, match="--train-seeds"):
                factory(seed=0)
            factory.train(trained_table())
            assert isinstance(factory(seed=0), ChecksOnlyAgent if name == "checks-only" else PriorAgent)

    def test_the_neutral_fix_aims_at_no_fault_for_the_grader(self):
        from mlopsdebug_grader.fix_rules import targeted_faults

        assert targeted_faults(NEUTRAL_FIX) == frozenset()


class TestTrainingSeeds:
    def test_overlap_with_the_evaluated_seeds_is_refused(self):
        check_disjoint([10, 11, 12], [0, 1, 2])
        with pytest.raises(TrainingError, match=r"2 seed\(s\) \(11-12\)"):
            check_disjoint([10, 11, 12], [11, 12, 13])

    def test_seeds_text_compresses_ranges(self):
        assert seeds_text([5, 1, 2, 3, 9, 10]) == "1-3,5,9-10"
        assert seeds_text([7]) == "7"

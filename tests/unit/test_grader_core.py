"""The grader core: weights, the asymmetric penalty, caps, explanations that keep the answer, determinism."""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest
from fix_corpus import make_key

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import CATEGORIES, GRADE_WEIGHTS, Diagnosis
from mlopsdebug_common.errors import InvalidArgument
from mlopsdebug_common.faults import ARTIFACT_FILES, FAULTS
from mlopsdebug_grader import core
from mlopsdebug_grader.fix_rules import gold_fix, rule_sentence

LR_KEY = AnswerKey(
    "exploding_lr", "config_error", "config.yaml", "optimizer.learning_rate", ("optimizer.lr", "learning_rate", "lr"),
    {"bad_value": 2.5, "safe_max": 0.01}, "easy", 11, "scn-core", "2.0.0",
)
TOKENIZER_KEY = AnswerKey(
    "tokenizer_version_drift", "evaluation_bug", "config.yaml", "eval.tokenizer_version", ("tokenizer_version",),
    {"train_version": "v3.2", "eval_version": "v3.1"}, "hard", 12, "scn-core-2", "2.0.0",
)
CORRECT = Diagnosis("config_error", "config.yaml", "optimizer.lr", "The loss diverges to NaN.", "Set lr to 1e-3.")


def grade(diagnosis: Diagnosis = CORRECT, key: AnswerKey = LR_KEY, *, asymmetric: bool = False, reveal: bool = False):
    return core.grade(key, diagnosis, asymmetric_penalty=asymmetric, reveal_answer=reveal)


def with_(**changes) -> Diagnosis:
    return dataclasses.replace(CORRECT, **changes)


WRONG = {
    "category": {"failure_category": "data_leakage"},
    "file": {"root_cause_file": "train.log"},
    "field": {"root_cause_field": "optimizer.momentum"},
    "fix": {"proposed_fix": "Retrain with more data."},
}


class TestScore:
    def test_correct_diagnosis_scores_one(self):
        """All four components right: score 1, with or without the penalty."""
        assert grade().score == 1.0
        assert grade(asymmetric=True).score == 1.0

    def test_components_come_in_order_with_their_weights(self):
        """category, file, field, fix with the design's weights, which sum to 1."""
        g = grade()
        assert [c.kind for c in g.components] == ["category", "file", "field", "fix"]
        assert [c.weight for c in g.components] == [GRADE_WEIGHTS[k] for k in ("category", "file", "field", "fix")]
        assert math.isclose(sum(c.weight for c in g.components), 1.0)

    @pytest.mark.parametrize(
        "wrong", [set(s) for r in range(5) for s in itertools.combinations(WRONG, r)], ids=lambda s: "-".join(sorted(s)) or "none"
    )
    def test_raw_score_is_the_weighted_sum_and_penalty_costs_one_and_a_half(self, wrong):
        """raw = sum of weights of right components; hard score = max(0, 1 - 1.5 * missed)."""
        changes = {k: v for name in wrong for k, v in WRONG[name].items()}
        expected_raw = sum(w for name, w in GRADE_WEIGHTS.items() if name not in wrong)
        plain, penalised = grade(with_(**changes)), grade(with_(**changes), asymmetric=True)
        assert plain.raw_score == pytest.approx(expected_raw)
        assert plain.score == pytest.approx(expected_raw)
        assert penalised.score == pytest.approx(max(0.0, 1 - 1.5 * (1 - expected_raw)))
        assert penalised.raw_score == plain.raw_score
        assert penalised.asymmetric_penalty and not plain.asymmetric_penalty

    def test_partial_fix_credit_on_the_hard_task(self):
        """A half-credit fix misses 0.15: 0.85 raw, 0.775 with the penalty."""
        g = grade(with_(proposed_fix="Lower the learning rate to 0.5."), asymmetric=True)
        assert g.components[3].credit == 0.5
        assert g.raw_score == pytest.approx(0.85)
        assert g.score == pytest.approx(0.775)

    def test_missing_category_and_file_on_the_hard_task(self):
        """Missing 0.4 costs 0.6: score 0.4."""
        g = grade(with_(failure_category="data_leakage", root_cause_file="model_card.json"), asymmetric=True)
        assert g.score == pytest.approx(0.4)

    def test_penalty_never_goes_below_zero(self):
        """Only the category right: 1 - 1.5 * 0.85 < 0 is clamped to 0."""
        g = grade(with_(root_cause_file="", root_cause_field="", proposed_fix=""), asymmetric=True)
        assert g.raw_score == pytest.approx(0.15)
        assert g.score == 0.0

    def test_exact_one_for_full_marks(self):
        """Float noise does not leave 0.9999999999999999."""
        assert grade().raw_score == 1.0


class TestScoreBounds:
    def test_random_diagnoses_always_score_in_the_unit_interval(self):
        """Random (seeded) text in every field never raises and always gives a score in [0, 1]."""
        rng = np.random.default_rng(np.random.SeedSequence(20260101))
        alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789 ._-/,;()[]'\"e%x^*") + ["lr ", "momentum ", "to ", "1e-3 "]
        keys = [LR_KEY, TOKENIZER_KEY]
        for _ in range(300):
            def text(limit: int) -> str:
                n = int(rng.integers(0, limit))
                return "".join(rng.choice(alphabet, size=n))

            d = Diagnosis(
                failure_category=str(rng.choice(CATEGORIES)),
                root_cause_file=str(rng.choice([*ARTIFACT_FILES, text(40)])),
                root_cause_field=text(60),
                diagnosis=text(300),
                proposed_fix=text(400),
            )
            key = keys[int(rng.integers(0, 2))]
            for asymmetric in (False, True):
                g = core.grade(key, d, asymmetric_penalty=asymmetric, reveal_answer=False)
                assert 0.0 <= g.score <= 1.0
                assert 0.0 <= g.raw_score <= 1.0
                assert all(0.0 <= c.credit <= 1.0 for c in g.components)


class TestCaps:
    @pytest.mark.parametrize(
        ("field", "limit"),
        [("root_cause_file", core.FILE_MAX_CHARS), ("root_cause_field", core.FIELD_MAX_CHARS),
         ("diagnosis", core.TEXT_MAX_CHARS), ("proposed_fix", core.TEXT_MAX_CHARS)],
    )
    def test_text_at_the_cap_is_accepted_and_one_more_is_refused(self, field, limit):
        """Each free-text field is refused one character over its cap, naming the field and the limit."""
        core.validate_diagnosis(with_(**{field: "a" * limit}))
        with pytest.raises(InvalidArgument) as info:
            core.validate_diagnosis(with_(**{field: "a" * (limit + 1)}))
        assert info.value.reason == "DIAGNOSIS_TOO_LONG"
        (violation,) = info.value.violations
        assert violation.field == f"diagnosis.{field}"
        assert violation.description == f"longer than {limit} characters"

    def test_documented_caps(self):
        """Field and file 200 characters, diagnosis and fix 4,000."""
        assert (core.FIELD_MAX_CHARS, core.FILE_MAX_CHARS, core.TEXT_MAX_CHARS) == (200, 200, 4000)

    def test_grade_refuses_too_long_input(self):
        """grade() validates too, so nothing is scored from refused input."""
        with pytest.raises(InvalidArgument) as info:
            grade(with_(proposed_fix="x" * 4001))
        assert info.value.reason == "DIAGNOSIS_TOO_LONG"

    def test_unknown_category_is_invalid_not_too_long(self):
        """An unknown category is refused with InvalidArgument, a reason distinct from the length error."""
        with pytest.raises(InvalidArgument, match="unknown failure category") as info:
            core.validate_diagnosis(with_(failure_category="optimizer_bug"))
        assert info.value.reason == "INVALID_DIAGNOSIS"

    def test_empty_category_is_refused(self):
        """The unset category is not a category."""
        with pytest.raises(InvalidArgument):
            core.validate_diagnosis(with_(failure_category=""))

    def test_empty_texts_are_accepted_and_earn_nothing(self):
        """Empty file, field and fix are valid input that scores zero for those components."""
        g = grade(with_(root_cause_file="", root_cause_field="", diagnosis="", proposed_fix=""))
        assert g.raw_score == pytest.approx(0.15)


def _answer_strings(key: AnswerKey) -> list[str]:
    return [key.fault_id, key.category, key.file, key.field, *key.field_aliases, rule_sentence(key),
            *(str(v) for v in key.params.values())]


class TestExplanations:
    @pytest.mark.parametrize("wrong", list(WRONG))
    def test_withheld_answer_is_named_nowhere(self, wrong):
        """With reveal off, no reason names the expected category, file, field, values or rule."""
        g = grade(with_(**WRONG[wrong]), reveal=False)
        assert g.answer is None
        reasons = " ".join(c.reason for c in g.components).lower()
        for secret in _answer_strings(LR_KEY):
            assert secret.lower() not in reasons, secret

    def test_withheld_answer_is_named_nowhere_for_a_wrong_fault(self):
        """A diagnosis of another fault learns nothing about the real one."""
        d = Diagnosis("evaluation_bug", "eval_results.json", "metrics.val", "", "Swap the val and test keys back.")
        g = grade(d, TOKENIZER_KEY, reveal=False)
        reasons = " ".join(c.reason for c in g.components).lower()
        for secret in _answer_strings(TOKENIZER_KEY):
            if secret.lower() in ("config.yaml",):
                continue  # file names also appear in any answer; this one is not in the diagnosis
            assert secret.lower() not in reasons, secret

    def test_every_component_has_a_one_line_reason(self):
        """Each component explains itself in one line."""
        for g in (grade(), grade(with_(**WRONG["fix"]))):
            for c in g.components:
                assert c.reason and "\n" not in c.reason

    def test_revealed_answer_names_everything(self):
        """With reveal on, the grade carries the fault, category, file, field, aliases and rule."""
        g = grade(with_(**WRONG["field"]), reveal=True)
        assert g.answer is not None
        assert g.answer.fault_id == "exploding_lr"
        assert g.answer.category == "config_error"
        assert g.answer.file == "config.yaml"
        assert g.answer.field == "optimizer.learning_rate"
        assert g.answer.field_aliases == ("optimizer.lr", "learning_rate", "lr")
        assert g.answer.fix_rule == rule_sentence(LR_KEY)
        assert "optimizer.learning_rate" in g.components[2].reason

    def test_reveal_does_not_change_the_score(self):
        """Revealing changes explanations, never credit."""
        for name in WRONG:
            d = with_(**WRONG[name])
            assert grade(d, reveal=True).score == grade(d, reveal=False).score

    def test_grader_version(self):
        """Grades carry the rules' version."""
        assert grade().grader_version == core.GRADER_VERSION == "3.0.0"


class TestDeterminism:
    def test_same_key_and_diagnosis_same_grade(self):
        """Grading twice gives equal grades."""
        d = with_(proposed_fix="Reduce lr to 1e-3 and switch to Adam.")
        assert grade(d) == grade(d)

    def test_gold_answers_of_every_fault_score_one(self):
        """The gold diagnosis of every fault scores 1 on its own key."""
        for fault_id, spec in FAULTS.items():
            key = AnswerKey(fault_id, spec.category, "preprocessing.py", "some.field", (), make_key(fault_id).params,
                            spec.task_id, 1, "scn", "2.0.0")
            d = Diagnosis(spec.category, key.file, key.field, "", gold_fix(key))
            assert core.grade(key, d, asymmetric_penalty=True, reveal_answer=False).score == 1.0, fault_id


SPLIT_KEY = AnswerKey(
    "wrong_split_ratio", "preprocessing_bug", "preprocessing.py", "VAL_FRACTION", ("test_size",), {"bad_value": 0.8},
    "medium", 21, "scn-core-3", "2.0.0",
)
SCALER_KEY = AnswerKey(
    "data_leakage_scaler", "data_leakage", "preprocessing.py", "scaler", ("StandardScaler",), {"scope": "pool"},
    "medium", 22, "scn-core-4", "2.0.0",
)


class TestOneFaultThroughout:
    def test_category_of_another_fault_than_the_fix_earns_nothing(self):
        """'data_leakage' with a split-ratio fix is incoherent: no category credit even on a leakage key."""
        d = Diagnosis("data_leakage", "preprocessing.py", "test_size", "", "Set test_size to 0.2.")
        g = grade(d, SCALER_KEY)
        assert g.components[0].credit == 0.0
        assert "another category" in g.components[0].reason

    def test_field_with_a_fix_for_another_fault_earns_nothing(self):
        """The split field with a scaler fix does not earn the field on a split key."""
        d = Diagnosis("preprocessing_bug", "preprocessing.py", "test_size", "",
                      "Fit the scaler on the training split only.")
        g = grade(d, SPLIT_KEY)
        assert g.components[2].credit == 0.0
        assert "different fault" in g.components[2].reason

    def test_fix_that_names_no_fault_does_not_gate(self):
        """Without a recognisable fix, category and field are judged on their own."""
        d = Diagnosis("preprocessing_bug", "preprocessing.py", "test_size", "", "Investigate further.")
        g = grade(d, SPLIT_KEY)
        assert [c.credit for c in g.components] == [1.0, 1.0, 1.0, 0.0]

    def test_remedy_that_accompanies_another_is_not_a_target(self):
        """A split size stated while splitting once aims at the overlap fault, not the split ratio."""
        d = Diagnosis("preprocessing_bug", "preprocessing.py", "test_size", "",
                      "Split once with test_size=0.2 and reuse those indices.")
        g = grade(d, SPLIT_KEY)
        assert g.components[0].credit == 0.0 and g.components[2].credit == 0.0

    def test_mixed_constant_answer_cannot_beat_guessing(self):
        """Over one key of each medium fault, the incoherent mix scores less than the split guess."""
        overlap_key = AnswerKey("data_leakage_overlap", "data_leakage", "preprocessing.py", "make_split", (),
                                {"mechanism": "double_split"}, "medium", 23, "scn-core-5", "2.0.0")
        keys = [SPLIT_KEY, SCALER_KEY, overlap_key]
        mix = Diagnosis("data_leakage", "preprocessing.py", "test_size", "", "Set test_size to 0.2.")
        guess = Diagnosis("preprocessing_bug", "preprocessing.py", "test_size", "", "Set test_size to 0.2.")
        mean = lambda d: sum(core.grade(k, d, asymmetric_penalty=False, reveal_answer=False).score for k in keys) / 3  # noqa: E731
        assert mean(mix) < mean(guess)


class TestAdversarialInput:
    @pytest.mark.parametrize(
        "text",
        ["lr lr lr " * 440, "1" * 4000, "split " * 800, "val to test " * 360, "not " * 1000, "lr=1e-3 " * 500,
         "1 x 10^-" * 500, ", " * 2000],
        ids=lambda t: t[:12],
    )
    def test_text_at_the_cap_is_graded_quickly(self, text):
        """Reading stays linear in the text: 4,000 characters of repeated tokens grade in well under 10 s."""
        import time

        from mlopsdebug_grader import fix_rules

        fix_rules.read_fix.cache_clear()
        fix_rules.proposed_faults.cache_clear()
        fix_rules.targeted_faults.cache_clear()
        d = with_(diagnosis=text[: core.TEXT_MAX_CHARS], proposed_fix=text[: core.TEXT_MAX_CHARS])
        started = time.perf_counter()
        g = grade(d, asymmetric=True)
        assert time.perf_counter() - started < 10.0
        assert 0.0 <= g.score <= 1.0

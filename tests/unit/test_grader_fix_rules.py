"""The per-fault fix rules: paraphrases pass, wrong values earn half, stuffing and contradictions earn nothing."""

from __future__ import annotations

import itertools

import pytest
from fix_corpus import DUPLICATE_SOURCE_PARAPHRASES, PARAPHRASES, make_key

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_grader import fix_rules
from mlopsdebug_grader.fix_rules import RULES, gold_fix, judge_fix, proposed_faults, rule_sentence
from mlopsdebug_grader.fix_text import normalise, numbers_in, split_sentences


def credit(fault_id: str, text: str, **overrides) -> float:
    return judge_fix(make_key(fault_id, **overrides), text).credit


class TestParaphrases:
    @pytest.mark.parametrize(
        ("fault_id", "text"), [(f, t) for f, texts in PARAPHRASES.items() for t in texts], ids=lambda x: str(x)[:40]
    )
    def test_correct_paraphrase_earns_full_credit(self, fault_id, text):
        """Every independently written correct fix earns full credit for its fault."""
        verdict = judge_fix(make_key(fault_id), text)
        assert verdict.credit == 1.0, verdict.reason

    @pytest.mark.parametrize("text", DUPLICATE_SOURCE_PARAPHRASES, ids=lambda x: x[:40])
    def test_duplicate_source_paraphrase_earns_full_credit(self, text):
        """Grouping or deduplicating by source fixes overlap caused by duplicated sources."""
        assert credit("data_leakage_overlap", text, mechanism="duplicate_sources") == 1.0

    @pytest.mark.parametrize("fault_id", sorted(PARAPHRASES))
    def test_every_fault_has_at_least_five_paraphrases(self, fault_id):
        """The paraphrase set is broad enough to mean something."""
        assert len(PARAPHRASES[fault_id]) >= 5

    @pytest.mark.parametrize(
        ("fault_id", "text"), [(f, t) for f, texts in PARAPHRASES.items() for t in texts], ids=lambda x: str(x)[:40]
    )
    def test_paraphrase_earns_nothing_for_the_other_faults_of_its_task(self, fault_id, text):
        """A fix for one fault does not score on a sibling fault: fixes cannot be mixed to beat guessing."""
        task = FAULTS[fault_id].task_id
        for other in (f for f, spec in FAULTS.items() if spec.task_id == task and f != fault_id):
            assert credit(other, text) == 0.0, other


class TestGoldFixes:
    @pytest.mark.parametrize("fault_id", sorted(FAULTS))
    def test_gold_fix_earns_full_credit(self, fault_id):
        """The canonical wording passes its own rule."""
        assert credit(fault_id, gold_fix(make_key(fault_id))) == 1.0

    @pytest.mark.parametrize("fault_id", sorted(FAULTS))
    def test_gold_fix_proposes_only_its_own_fault(self, fault_id):
        """The key-free multi-fault detector sees exactly one fault in each gold fix."""
        assert proposed_faults(gold_fix(make_key(fault_id))) == {fault_id}

    @pytest.mark.parametrize("fault_id", sorted(FAULTS))
    def test_rule_sentence_is_one_sentence(self, fault_id):
        """The revealed rule is a single line ending in a full stop."""
        sentence = rule_sentence(make_key(fault_id))
        assert sentence.endswith(".") and "\n" not in sentence and len(sentence) < 200

    def test_every_fault_has_a_rule(self):
        """No fault is left without a fix rule."""
        assert set(RULES) == set(FAULTS)

    def test_gold_fix_for_overlap_covers_both_mechanisms(self):
        """Splitting once at the source level removes both causes of overlap."""
        for mechanism in ("double_split", "duplicate_sources"):
            key = make_key("data_leakage_overlap", mechanism=mechanism)
            assert judge_fix(key, gold_fix(key)).credit == 1.0


class TestLearningRate:
    @pytest.mark.parametrize(
        "text",
        ["Set lr to 1e-3.", "Set lr to 0.001.", "Set lr to .001.", "Set lr to 1 x 10^-3.", "Set lr to 10^-3.",
         "Set lr to 1×10⁻³.", "Set lr to 3E-4.", "Set lr to 1e-2.", "lr=5e-3", "learning_rate: 0.0003"],
    )
    def test_number_notations_are_understood(self, text):
        """1e-3, 0.001, .001, 1x10^-3, 10^-3, 1×10⁻³, 3E-4 and YAML/Python assignments all parse."""
        assert credit("exploding_lr", text) == 1.0

    @pytest.mark.parametrize("text", ["Set the learning rate to 0.5.", "Raise the lr to 10.", "Use lr 0.05."])
    def test_wrong_value_earns_partial_credit(self, text):
        """Naming the learning rate with a value outside (0, 1e-2] earns half."""
        assert credit("exploding_lr", text) == 0.5

    def test_no_value_earns_partial_credit(self):
        """A direction without a value names the parameter but not a safe value."""
        assert credit("exploding_lr", "Lower the learning rate.") == 0.5

    def test_too_small_a_factor_earns_partial_credit(self):
        """Dividing 2.5 by 10 gives 0.25, still unsafe."""
        assert credit("exploding_lr", "Divide the learning rate by 10.") == 0.5

    def test_factor_is_applied_to_the_bad_value(self):
        """The same factor is enough when the bad value is smaller."""
        assert credit("exploding_lr", "Divide the learning rate by 10.", bad_value=0.05) == 1.0

    def test_zero_is_not_a_safe_learning_rate(self):
        """A learning rate must stay above zero."""
        assert credit("exploding_lr", "Set the learning rate to 0.") == 0.5

    def test_safe_and_unsafe_values_contradict(self):
        """Proposing 1e-3 and later 5 is a self-contradiction."""
        verdict = judge_fix(make_key("exploding_lr"), "Set lr to 1e-3. If that is slow, set the learning rate to 5.")
        assert verdict.credit == 0.0
        assert "contradicts" in verdict.reason

    def test_a_range_of_safe_values_is_not_a_contradiction(self):
        """'between 1e-4 and 1e-3' proposes two safe values."""
        assert credit("exploding_lr", "Set the learning rate somewhere between 1e-4 and 1e-3.") == 1.0

    def test_old_value_is_not_a_proposal(self):
        """'from 2.5' and 'instead of 2.5' name the old value, not the new one."""
        assert credit("exploding_lr", "Use lr 1e-3 instead of 5.") == 1.0

    def test_negated_value_is_not_a_proposal(self):
        """'not 0.1' is not proposed."""
        assert credit("exploding_lr", "Set the learning rate to 1e-3, not 0.1.") == 1.0

    def test_fix_without_the_parameter_earns_nothing(self):
        """A fix that changes something else does not fix the learning rate."""
        assert credit("exploding_lr", "Retrain the model for more epochs.") == 0.0

    def test_field_name_from_the_key_counts_as_a_mention(self):
        """The key's own field names are mentions of the parameter."""
        key = make_key("exploding_lr")
        key = AnswerKey(key.fault_id, key.category, key.file, "trainer.base_rate", (), key.params, key.task_id,
                        key.seed, key.scenario_id, key.generator_version)
        assert judge_fix(key, "Set trainer.base_rate to 0.001.").credit == 1.0

    def test_switching_optimizer_as_well_is_a_second_fault(self):
        """Lowering the learning rate and switching to Adam proposes the momentum fault's change too."""
        assert credit("exploding_lr", "Lower the learning rate to 1e-3 and switch to Adam.") == 0.0

    def test_negated_optimizer_switch_is_not_a_second_fault(self):
        """'no need to switch to Adam' proposes no switch."""
        assert credit("exploding_lr", "Lower the learning rate to 1e-3; don't switch to Adam.") == 1.0


class TestMomentum:
    def test_unsafe_momentum_earns_partial_credit(self):
        """0.99 is still above 0.95."""
        assert credit("wrong_optimizer", "Lower the momentum to 0.99.") == 0.5

    def test_contradicting_momentum_values_earn_nothing(self):
        """0.9 and then 0.98 cannot both be the fix."""
        assert credit("wrong_optimizer", "Set momentum to 0.9. Or better, set the momentum to 0.98.") == 0.0

    @pytest.mark.parametrize("text", ["Disable momentum.", "Train with plain SGD without momentum.",
                                      "Set the momentum to zero."])
    def test_disabling_momentum_is_safe(self, text):
        """No momentum at all is a safe value."""
        assert credit("wrong_optimizer", text) == 1.0

    def test_switching_away_from_adaptive_is_not_a_switch(self):
        """'replace Adam with SGD' does not switch to an adaptive optimizer."""
        assert credit("wrong_optimizer", "Replace Adam with SGD.") == 0.0

    def test_negated_switch_is_not_a_switch(self):
        """'don't use Adam' and no momentum value: not a fix."""
        assert credit("wrong_optimizer", "Don't use Adam here.") == 0.0

    def test_optimizer_switch_may_come_with_a_learning_rate(self):
        """The learning rate of the new optimizer is part of the switch, not a second fault."""
        assert credit("wrong_optimizer", "Switch to Adam with a learning rate of 1e-3.") == 1.0

    def test_the_same_text_earns_nothing_for_the_learning_rate_fault(self):
        """The tolerance is one-way: the switch is not a learning-rate fix."""
        assert credit("exploding_lr", "Switch to Adam with a learning rate of 1e-3.") == 0.0

    def test_momentum_and_batch_size_together_are_two_faults(self):
        """Changing momentum and the batch size proposes two different faults' changes."""
        assert credit("wrong_optimizer", "Set momentum to 0.9 and reduce the batch size to 64.") == 0.0


class TestBatchSize:
    def test_value_above_the_training_split_earns_partial_credit(self):
        """2048 is still more than the 1800 training samples."""
        assert credit("batch_size_overflow", "Reduce the batch size to 2048.") == 0.5

    def test_value_is_checked_against_this_scenarios_training_split(self):
        """The same value is safe when the training split is larger."""
        assert credit("batch_size_overflow", "Reduce the batch size to 2048.", train_size=50000) == 1.0

    def test_bound_by_the_training_split_earns_full_credit(self):
        """'no larger than the number of training samples' states the constraint itself."""
        assert credit("batch_size_overflow", "Make the batch size no larger than the number of training samples.") == 1.0

    def test_direction_only_earns_partial_credit(self):
        """'reduce the batch size' names the parameter without a safe value."""
        assert credit("batch_size_overflow", "Reduce the batch size.") == 0.5

    def test_contradicting_values_earn_nothing(self):
        """64 and 3000 cannot both be the fix."""
        assert credit("batch_size_overflow", "Set batch_size to 64. For speed, use a batch size of 3000.") == 0.0

    def test_training_size_mention_is_not_a_proposal(self):
        """The count of training samples in the sentence is not a proposed batch size."""
        assert credit("batch_size_overflow", "The batch size exceeds the 1800 training samples; lower it to 100.") == 1.0

    def test_with_a_learning_rate_change_is_two_faults(self):
        """Also lowering the learning rate proposes another fault's change."""
        assert credit("batch_size_overflow", "Set batch size 64 and lower the learning rate to 1e-3.") == 0.0

    def test_batch_norm_is_not_the_batch_size(self):
        """'batch norm' does not name the batch size."""
        assert credit("batch_size_overflow", "Add batch norm layers with 64 channels.") == 0.0


class TestScaler:
    @pytest.mark.parametrize(
        "text",
        ["Fit the scaler on the full dataset before splitting.", "Normalise all of the data with one StandardScaler.",
         "Compute the scaler statistics on the test set as well."],
    )
    def test_faulty_practice_earns_nothing(self, text):
        """Asserting the fault's own practice is not a fix."""
        assert credit("data_leakage_scaler", text) == 0.0

    def test_remedy_and_faulty_practice_contradict(self):
        """Fitting on X_train and also on all data is a contradiction."""
        verdict = judge_fix(make_key("data_leakage_scaler"), "Fit the scaler on X_train. Then refit the scaler on all the data.")
        assert verdict.credit == 0.0
        assert "contradicts" in verdict.reason

    @pytest.mark.parametrize(
        "text",
        ["Do not fit the scaler on the whole dataset.", "The scaler must never see validation or test data.",
         "Never fit the normalizer before the train/test split."],
    )
    def test_negated_faulty_practice_is_the_remedy(self, text):
        """'don't fit on all data' states the remedy."""
        assert credit("data_leakage_scaler", text) == 1.0

    def test_naming_the_scaler_without_a_change_earns_nothing(self):
        """'fix the scaler' says what is wrong but not how to fix it."""
        verdict = judge_fix(make_key("data_leakage_scaler"), "Fix the scaler.")
        assert verdict.credit == 0.0
        assert verdict.reason == fix_rules.R_VAGUE

    def test_with_a_split_ratio_change_is_two_faults(self):
        """Also changing test_size proposes another fault's change."""
        assert credit("data_leakage_scaler", "Fit the scaler on the training split only and set test_size to 0.2.") == 0.0

    def test_label_encoder_fit_is_not_a_scaler_fix(self):
        """fit_transform on training labels is about labels, not the scaler."""
        assert credit("data_leakage_scaler", "Call fit_transform on the training labels and reuse the label encoder.") == 0.0


class TestOverlap:
    def test_other_mechanisms_remedy_earns_partial_credit(self):
        """Deduplicating by source does not undo a double split."""
        verdict = judge_fix(make_key("data_leakage_overlap"), "Deduplicate the images by source id.")
        assert verdict.credit == 0.5
        assert verdict.reason == fix_rules.R_OTHER_MECHANISM

    def test_split_once_for_duplicated_sources_earns_partial_credit(self):
        """Splitting once does not separate duplicates of one source."""
        assert credit("data_leakage_overlap", "Split the data only once.", mechanism="duplicate_sources") == 0.5

    def test_bare_overlap_removal_earns_partial_credit(self):
        """Removing the shared items treats the symptom without naming the cause."""
        assert credit("data_leakage_overlap", "Remove the overlapping samples from the validation set.") == 0.5

    def test_splitting_again_earns_nothing(self):
        """Re-splitting is the fault itself."""
        assert credit("data_leakage_overlap", "Split the full data again to build the validation set.") == 0.0

    def test_single_split_may_state_its_size(self):
        """A split ratio inside the single split is part of this fix."""
        assert credit("data_leakage_overlap", "Split once with test_size=0.2 and reuse those indices.") == 1.0

    def test_the_same_text_earns_nothing_for_the_split_ratio_fault(self):
        """The tolerance is one-way: splitting once is not a split-ratio fix."""
        assert credit("wrong_split_ratio", "Split once with test_size=0.2 and reuse those indices.") == 0.0


class TestSplitRatio:
    @pytest.mark.parametrize("text", ["Set test_size to 0.5.", "Hold out 60% of the data."])
    def test_value_outside_the_range_earns_partial_credit(self, text):
        """A held-out fraction outside [0.05, 0.4] earns half."""
        assert credit("wrong_split_ratio", text) == 0.5

    @pytest.mark.parametrize("text", ["Use an 80/20 train/test split.", "Use an 80-20 split.",
                                      "Set train_size to 0.75.", "Keep 10% as the test set."])
    def test_ratios_and_training_fractions_are_understood(self, text):
        """Ratios and training fractions are converted to the held-out fraction."""
        assert credit("wrong_split_ratio", text) == 1.0

    def test_explicit_inverted_ratio_is_the_fault(self):
        """'20/80 train/test' keeps the inverted split."""
        assert credit("wrong_split_ratio", "Use a 20/80 train/test split.") == 0.5

    def test_contradicting_fractions_earn_nothing(self):
        """0.2 and then 60% cannot both be the fix."""
        assert credit("wrong_split_ratio", "Set test_size=0.2. Alternatively hold out 60%.") == 0.0

    def test_bounds_of_the_range_are_inclusive(self):
        """0.05 and 0.4 are in range."""
        assert credit("wrong_split_ratio", "Set test_size to 0.05.") == 1.0
        assert credit("wrong_split_ratio", "Set test_size to 0.4.") == 1.0

    def test_absolute_count_cannot_be_judged(self):
        """test_size=2000 is a count; it names the parameter without a checkable value."""
        assert credit("wrong_split_ratio", "Set test_size=2000 samples.") == 0.5


class TestLabelMapping:
    def test_fitting_a_new_encoder_on_eval_data_earns_nothing(self):
        """That is the fault itself."""
        assert credit("label_encoder_mismatch", "Fit a new label encoder on the evaluation labels.") == 0.0

    def test_negated_refit_is_the_remedy(self):
        """'never refit the encoder on eval data' states the remedy."""
        assert credit("label_encoder_mismatch", "Never refit the label encoder on the evaluation data.") == 1.0

    def test_naming_the_mapping_without_a_change_earns_nothing(self):
        """'check the label encoder' is not a fix."""
        assert credit("label_encoder_mismatch", "Check the label encoder.") == 0.0

    def test_with_a_tokenizer_change_is_two_faults(self):
        """Also loading another tokenizer proposes a second fault's change."""
        text = "Reuse the training label mapping and load the tokenizer version used in training."
        assert credit("label_encoder_mismatch", text) == 0.0


class TestMetricKeys:
    def test_crossing_the_keys_earns_nothing(self):
        """Writing validation results under the test key is the fault."""
        assert credit("silent_metric_swap", "Write the validation metrics under the test key.") == 0.0

    def test_describing_the_bug_is_not_asserting_it(self):
        """'val metrics were written to test' describes the bug; the remedy after it still counts."""
        text = "Validation metrics were written to the test key; write them under val instead."
        assert credit("silent_metric_swap", text) == 1.0

    def test_vague_mention_earns_nothing(self):
        """'look at the metrics' changes nothing."""
        assert credit("silent_metric_swap", "Look at the metrics again.") == 0.0


class TestTokenizer:
    def test_other_version_earns_partial_credit(self):
        """Loading the evaluation's version everywhere is not loading the training version."""
        assert credit("tokenizer_version_drift", "Load tokenizer v3.1 in both training and evaluation.") == 0.5

    def test_two_target_versions_contradict(self):
        """v3.2 or v3.3 cannot both be the fix."""
        assert credit("tokenizer_version_drift", "Load tokenizer v3.2 for evaluation, or v3.3.") == 0.0

    def test_date_versions_are_understood(self):
        """Calendar versions such as 2024.03 are matched exactly."""
        kw = {"train_version": "2024.03", "eval_version": "2023.11"}
        assert credit("tokenizer_version_drift", "Evaluate with tokenizer 2024.03 instead of 2023.11.", **kw) == 1.0
        assert credit("tokenizer_version_drift", "Evaluate with tokenizer 2023.11.", **kw) == 0.5

    def test_naming_the_tokenizer_without_a_version_earns_partial_credit(self):
        """'update the tokenizer' names the parameter without the right version."""
        assert credit("tokenizer_version_drift", "Update the tokenizer.") == 0.5

    def test_no_tokenizer_earns_nothing(self):
        """A version string alone does not name the tokenizer."""
        assert credit("tokenizer_version_drift", "Upgrade to v3.2.") == 0.0


ALL_GOLD = " ".join(gold_fix(make_key(f)) for f in sorted(FAULTS))
KEYWORD_BAG = (
    "learning rate lr momentum adam batch size scaler fit train only split once deduplicate source test_size"
    " label mapping encoder tokenizer version metric key swap validation test"
)


class TestStuffing:
    @pytest.mark.parametrize("fault_id", sorted(FAULTS))
    def test_all_gold_fixes_concatenated_earn_nothing(self, fault_id):
        """Every fault's remedy at once is a multi-fault fix."""
        verdict = judge_fix(make_key(fault_id), ALL_GOLD)
        assert verdict.credit == 0.0
        assert verdict.reason == fix_rules.R_SEVERAL

    @pytest.mark.parametrize("fault_id", sorted(FAULTS))
    def test_keyword_bag_earns_nothing(self, fault_id):
        """A list of keywords states no change."""
        assert credit(fault_id, KEYWORD_BAG) == 0.0

    @pytest.mark.parametrize(
        ("fault_id", "other"),
        [(f, g) for f, g in itertools.permutations(sorted(FAULTS), 2) if g not in RULES[f].tolerated],
    )
    def test_any_two_faults_remedies_earn_nothing(self, fault_id, other):
        """A correct fix plus another fault's remedy earns nothing."""
        text = gold_fix(make_key(fault_id)) + " " + gold_fix(make_key(other))
        assert credit(fault_id, text) == 0.0


class TestMultiFaultDetector:
    @pytest.mark.parametrize(
        ("fault_id", "text"), [(f, t) for f, texts in PARAPHRASES.items() for t in texts], ids=lambda x: str(x)[:40]
    )
    def test_paraphrase_proposes_only_its_fault(self, fault_id, text):
        """Correct paraphrases are not mistaken for multi-fault fixes."""
        assert proposed_faults(text) - {fault_id} <= RULES[fault_id].tolerated

    def test_empty_fix_earns_nothing(self):
        """An empty or blank fix says nothing."""
        assert judge_fix(make_key("exploding_lr"), "   ").credit == 0.0


class TestDeterminism:
    def test_same_input_same_verdict_without_caches(self):
        """Verdicts do not depend on cached state."""
        first = [judge_fix(make_key(f), t) for f, ts in PARAPHRASES.items() for t in ts]
        fix_rules.read_fix.cache_clear()
        fix_rules.proposed_faults.cache_clear()
        second = [judge_fix(make_key(f), t) for f, ts in PARAPHRASES.items() for t in ts]
        assert first == second


class TestFixText:
    @pytest.mark.parametrize(
        ("text", "value"),
        [("1x10^-3", 1e-3), ("1 * 10**-4", 1e-4), ("10^-2", 1e-2), ("3×10⁻⁴", 3e-4), ("2.5e-3", 2.5e-3), (".5", 0.5)],
    )
    def test_number_notation_is_canonicalised(self, text, value):
        """Scientific notation in its common spellings reads as one number."""
        tokens = numbers_in(normalise(text))
        assert len(tokens) == 1 and tokens[0].value == pytest.approx(value)

    def test_identifiers_with_digits_are_not_numbers(self):
        """resnet18, v3.2 and x_train hold no numbers."""
        assert numbers_in(normalise("resnet18 v3.2 x_train adam2")) == []

    def test_abbreviations_do_not_end_sentences(self):
        """'e.g. 256' stays in its sentence."""
        assert len(split_sentences(normalise("Use a smaller batch, e.g. 256. Then retrain."))) == 2


class TestSplitRatioKeyNames:
    def _key(self, field: str) -> AnswerKey:
        spec = FAULTS["wrong_split_ratio"]
        return AnswerKey("wrong_split_ratio", spec.category, "preprocessing.py", field, (), {"bad_value": 0.8},
                         spec.task_id, 3, "scn-split", "2.0.0")

    def test_training_fraction_constant_counts_as_training_side(self):
        """TRAIN_FRACTION = 0.8 keeps 20% held out: correct; TRAIN_FRACTION = 0.2 is the fault."""
        key = self._key("TRAIN_FRACTION")
        assert judge_fix(key, "Set TRAIN_FRACTION to 0.8.").credit == 1.0
        assert judge_fix(key, "TRAIN_FRACTION was 0.2; make it 0.85.").credit == 1.0
        assert judge_fix(key, "Set TRAIN_FRACTION to 0.3.").credit == 0.5

    def test_held_out_constant_counts_as_held_out_side(self):
        """VAL_FRACTION = 0.2 is correct."""
        key = self._key("VAL_FRACTION")
        assert judge_fix(key, "Set VAL_FRACTION = 0.2.").credit == 1.0
        assert judge_fix(key, "Set VAL_FRACTION = 0.8.").credit == 0.5


class TestTokenizerVersionSpellings:
    @pytest.mark.parametrize(
        ("train", "old"), [("v12", "v10"), ("2024.03", "2023.02"), ("1.4.0", "1.2.1")]
    )
    def test_upgrade_from_old_to_training_version(self, train, old):
        """'from <old> to <training>' proposes the training version, at the end of a sentence too."""
        text = f"Upgrade the eval tokenizer from {old} to {train}."
        assert credit("tokenizer_version_drift", text, train_version=train, eval_version=old) == 1.0


CODE_FIXES: dict[str, list[str]] = {
    "exploding_lr": ["optimizer:\n  lr: 0.0003", "config['optimizer']['lr'] = 1e-3", "--lr 1e-3", "lr: 2.5 -> 1e-3"],
    "wrong_optimizer": ["optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)",
                        "torch.optim.SGD(params, lr=0.01, momentum=0.9)", "momentum: 0.9  # was 0.999"],
    "batch_size_overflow": ["DataLoader(train_ds, batch_size=64, shuffle=True)", "batch_size: 128"],
    "data_leakage_scaler": ["scaler = StandardScaler().fit(X_train); X_val = scaler.transform(X_val)",
                            "X_train = scaler.fit_transform(X_train)\nX_test = scaler.transform(X_test)"],
    "wrong_split_ratio": ["train_test_split(X, y, test_size=0.2)", "VAL_FRACTION = 0.2"],
    "label_encoder_mismatch": ["label2id = json.load(open('label2id_train.json')) in the eval script",
                               "eval_labels = train_encoder.transform(eval_df.label)"],
    "silent_metric_swap": ['results["val"] = val_metrics; results["test"] = test_metrics',
                           "json.dump({'val': val_scores, 'test': test_scores}, f)"],
    "tokenizer_version_drift": ['tokenizer = AutoTokenizer.from_pretrained(name, revision="v3.2")  # eval',
                                "EVAL_TOKENIZER_VERSION = 'v3.2'"],
}


class TestCodeStyleFixes:
    @pytest.mark.parametrize(
        ("fault_id", "text"), [(f, t) for f, ts in CODE_FIXES.items() for t in ts], ids=lambda x: str(x)[:40]
    )
    def test_fix_written_as_code_earns_full_credit(self, fault_id, text):
        """Assignments, YAML, CLI flags and calls state the change as well as prose does."""
        verdict = judge_fix(make_key(fault_id), text)
        assert verdict.credit == 1.0, verdict.reason

    def test_grouped_split_with_a_size_fixes_duplicated_sources(self):
        """GroupShuffleSplit with a test_size is one fix, not two."""
        text = "train_idx, val_idx = next(GroupShuffleSplit(test_size=0.2).split(X, groups=df.source_id))"
        assert credit("data_leakage_overlap", text, mechanism="duplicate_sources") == 1.0


class TestBareMentions:
    @pytest.mark.parametrize("fault_id", ["exploding_lr", "wrong_optimizer", "batch_size_overflow", "wrong_split_ratio",
                                          "tokenizer_version_drift"])
    def test_list_of_names_without_a_change_earns_nothing(self, fault_id):
        """'learning rate momentum batch size ...' names parameters but changes none: no partial credit."""
        text = "learning rate momentum batch size test_size tokenizer"
        assert credit(fault_id, text) == 0.0

    @pytest.mark.parametrize("fault_id", ["exploding_lr", "wrong_optimizer", "batch_size_overflow"])
    def test_one_verb_over_a_list_changes_every_item(self, fault_id):
        """'reduce lr, momentum, batch size' proposes three faults' changes: nothing for any of them."""
        assert credit(fault_id, "Reduce lr, momentum, batch size.") == 0.0


def _corpus() -> list[str]:
    """Fix texts to probe: every paraphrase, gold and code fix, cross-fault pairs, and seeded keyword bags."""
    import numpy as np

    singles = [t for ts in PARAPHRASES.values() for t in ts] + DUPLICATE_SOURCE_PARAPHRASES
    singles += [t for ts in CODE_FIXES.values() for t in ts] + [gold_fix(make_key(f)) for f in FAULTS]
    rng = np.random.default_rng(np.random.SeedSequence(4242))
    pairs = [f"{singles[i]} {singles[j]}" for i, j in rng.integers(0, len(singles), size=(400, 2)) if i != j]
    words = ("lower reduce set use switch fit split once dedupe reuse load swap keep learning rate lr momentum adam"
             " batch size scaler train only training data test_size 0.2 1e-3 0.9 64 label mapping encoder tokenizer"
             " version same as training metric key val test back source group").split()
    bags = [" ".join(rng.choice(words, size=int(rng.integers(3, 15)))) for _ in range(400)]
    return singles + pairs + bags


CORPUS = _corpus()


class TestNoFixScoresOnTwoFaults:
    def test_no_text_earns_credit_on_two_faults_of_a_task(self):
        """Within a task, any fix text earns credit for at most one fault, so fixes cannot be mixed."""
        offenders = []
        for text in CORPUS:
            for task in ("easy", "medium", "hard"):
                scoring = [f for f, spec in FAULTS.items() if spec.task_id == task and credit(f, text) > 0]
                if len(scoring) > 1:
                    offenders.append((task, scoring, text))
        assert offenders == []

    def test_credit_implies_the_detector_sees_the_fault(self):
        """Whenever a rule gives credit, the key-free detector also reports that fault (multi-fault checks rely on it)."""
        misses = [(f, t) for t in CORPUS for f in FAULTS if credit(f, t) > 0 and f not in proposed_faults(t)]
        assert misses == []


# A second batch in a third engineer's words (also written before the rules were adjusted to them).
MORE_PARAPHRASES: dict[str, list[str]] = {
"exploding_lr": ["The LR should be on the order of 1e-4, not 2.5.", "Tune the learning rate down to 0.0001 and consider a warmup.",
  "Try 3e-4 for the learning rate.", "Bring lr back into a sane range (<= 1e-3).", "Learning rate: 2.5 is far too aggressive, 5e-4 works for this setup.",
  "Use a smaller learning rate, e.g. 0.001.", "I'd pick lr = 1e-3."],
"wrong_optimizer": ["Momentum should be 0.9, the usual default, not 0.999.", "Drop the momentum term to 0.9.", "Use AdamW instead of SGD.",
  "Lower beta (momentum) to 0.9.", "The optimizer needs momentum <= 0.9.", "Either use Adam or set SGD momentum to 0.9."],
"batch_size_overflow": ["batch size 4096 > 1800 samples; use 256.", "Choose a batch size like 64 that is smaller than the dataset.",
  "Make the batch size at most 1800 (the train set size).", "Cap the batch size at 512.", "Reduce batch_size to 32 or 64."],
"data_leakage_scaler": ["Compute normalization stats on train only.", "Fit the scaler inside the training fold, then transform val/test with those statistics.",
  "The StandardScaler must be fit after the split, using only training rows.", "Scale features using training-set statistics only.",
  "Move the normalization step after train_test_split and fit it on the training data."],
"data_leakage_overlap": ["Make a single train/val split and reuse it everywhere.", "Only split once; the second random split overlaps the first.",
  "Stop splitting twice: split the data once into train and validation."],
"wrong_split_ratio": ["test_size should be 0.2 (it was 0.8).", "Use an 80:20 split instead of 20:80.", "Hold out 20% of the data for testing.",
  "Invert the split so that 80% goes to training.", "Reserve 0.2 of the data for validation."],
"label_encoder_mismatch": ["Use the training label encoder for evaluation.", "Load the saved label mapping from training at eval time.",
  "Eval should map labels with the same dictionary the trainer used.", "Don't re-create the class index for the eval set; reuse the trainer's.",
  "Persist the class order from training and apply it during evaluation."],
"silent_metric_swap": ["Swap the val and test metrics back in eval_results.json.", "Write val metrics under 'val' and test metrics under 'test'.",
  "Make the results writer put each split's metrics under the right key.", "Un-swap the validation/test keys in the metrics writer."],
"tokenizer_version_drift": ["Use tokenizer v3.2 at eval time too.", "Evaluate with the same tokenizer as training (v3.2).",
  "Load the tokenizer that training used instead of v3.1.", "Set the eval tokenizer version to v3.2.", "Match the eval tokenizer version to the training one."],
}


class TestMoreParaphrases:
    @pytest.mark.parametrize(
        ("fault_id", "text"), [(f, t) for f, ts in MORE_PARAPHRASES.items() for t in ts], ids=lambda x: str(x)[:40]
    )
    def test_paraphrase_earns_full_credit(self, fault_id, text):
        """More correct wordings pass, and none proposes a second fault."""
        verdict = judge_fix(make_key(fault_id), text)
        assert verdict.credit == 1.0, verdict.reason
        assert proposed_faults(text) - {fault_id} <= RULES[fault_id].tolerated


# The training-configuration faults of easy-v2: what each rule reads (fault, fix, credit).
TRAINING_CONFIG_CASES = [
    ("weight_decay_too_high", "weight_decay: 0.01", 1.0),
    ("weight_decay_too_high", "--optimizer.weight_decay 1e-4", 1.0),
    ("weight_decay_too_high", "Raise the weight decay to 10.", 0.5),
    ("weight_decay_too_high", "Set weight_decay to 0.5.", 0.5),
    ("weight_decay_too_high", "Keep weight decay at 5.0 and add dropout 0.1", 0.0),
    ("weight_decay_too_high", "weight decay", 0.0),
    ("dropout_too_high", "nn.Dropout(p=0.1)", 1.0),
    ("dropout_too_high", "--model.dropout 0.2", 1.0),
    ("dropout_too_high", "Lower dropout to 0.6", 0.5),
    ("dropout_too_high", "Keep dropout unchanged.", 0.0),
    ("missing_warmup", "get_linear_schedule_with_warmup(optimizer, num_warmup_steps=500, num_training_steps=10000)", 1.0),
    ("missing_warmup", "Add a 1000-step warmup.", 1.0),
    ("missing_warmup", "Add warmup of 5 steps.", 0.5),
    ("missing_warmup", "Set warmup_steps to 9000.", 0.5),
    ("missing_warmup", "Keep warmup_steps at 0.", 0.0),
    ("missing_warmup", "Use no warmup.", 0.0),
    ("missing_warmup", "Lower the learning rate to 1e-5.", 0.0),
    ("scheduler_interval_mismatch", "{'scheduler': scheduler, 'interval': 'epoch'}", 1.0),
    ("scheduler_interval_mismatch", "Don't step the scheduler after every batch.", 1.0),
    ("scheduler_interval_mismatch", "Set the scheduler interval to step.", 0.0),
    ("scheduler_interval_mismatch", "Step the scheduler every batch.", 0.0),
    ("scheduler_interval_mismatch", "Use a cosine scheduler.", 0.0),
    ("fp16_no_loss_scaling", "scaler = torch.amp.GradScaler('cuda')", 1.0),
    ("fp16_no_loss_scaling", "precision: bf16-mixed", 1.0),
    ("fp16_no_loss_scaling", "scaler = GradScaler(enabled=False)", 0.0),
    ("fp16_no_loss_scaling", "Keep fp16 without loss scaling.", 0.0),
    ("fp16_no_loss_scaling", "Set grad_scaler: false", 0.0),
    ("fp16_no_loss_scaling", "Use precision 16-mixed.", 0.0),
]


class TestTrainingConfigRules:
    @pytest.mark.parametrize(("fault_id", "text", "expected"), TRAINING_CONFIG_CASES, ids=lambda x: str(x)[:40])
    def test_rule_reads_the_change(self, fault_id, text, expected):
        """Safe values and remedies earn full credit, unsafe values half, the faulty setting nothing."""
        assert credit(fault_id, text) == expected

    def test_warmup_lengths_as_shares_and_epochs_use_the_run_length(self):
        """'6% of training' and 'one epoch' are converted with the key's total steps and steps per epoch."""
        assert credit("missing_warmup", "Warm up over the first 6% of training steps.", total_steps=10000) == 1.0
        assert credit("missing_warmup", "Warm up over the first 60% of training steps.", total_steps=10000) == 0.5
        assert credit("missing_warmup", "Use a warm-up of 1 epoch.", steps_per_epoch=2500) == 1.0
        assert credit("missing_warmup", "Use a warm-up of 3 epochs.", steps_per_epoch=2500) == 0.5
        assert credit("missing_warmup", "Use a warmup ratio of 0.1.", total_steps=10000) == 1.0

    def test_adamw_weight_decay_is_not_an_optimizer_switch(self):
        """Naming AdamW's weight decay does not propose the momentum fault's remedy (a switch to Adam)."""
        assert proposed_faults("Use a standard AdamW weight decay of 1e-2 instead of 5.") == {"weight_decay_too_high"}
        assert "wrong_optimizer" in proposed_faults("Switch the optimizer to AdamW.")

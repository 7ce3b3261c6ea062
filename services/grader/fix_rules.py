"""Per-fault fix rules: does a proposed fix change what the fault broke, to something safe?

Each rule reads the fix for *what it changes*, not for which words it uses:
- numeric faults: the parameter must be named and every value proposed for it must lie in the safe
  range (a value outside it is partial credit; safe and unsafe values together contradict);
- mechanism faults: the fix must state the remedy (e.g. fit the scaler on the training split) and
  must not assert the faulty practice (fit on all data); negated statements count the other way round
  ("don't fit on the full dataset" states the remedy).

A fix that proposes remedies for two or more different faults earns nothing (`judge_fix`), except
where the other change is a natural part of this fault's remedy (`FixRule.tolerated`). Every rule is
deterministic and every reason line is safe to show when answers are withheld.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import re
from collections.abc import Iterable
from typing import Any, Final

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.faults import FAULT_POOLS
from mlopsdebug_common.tasks import TASKS
from mlopsdebug_grader.fix_text import (
    CHANGE_WORDS,
    MAX_MENTIONS,
    NumberToken,
    ParameterReading,
    Span,
    close,
    find_spans,
    is_negated,
    literal_pattern,
    normalise,
    read_parameter,
    split_sentences,
)

FULL: Final[float] = 1.0
PARTIAL: Final[float] = 0.5
NONE: Final[float] = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class FixDoc:
    """A fix as the rules read it: normalised text split into sentences."""

    text: str
    sentences: tuple[str, ...]

    def search(self, pattern: re.Pattern[str]) -> bool:
        return bool(pattern.search(self.text))

    def spans(self, pattern: re.Pattern[str]) -> list[Span]:
        return list(find_spans(self.sentences, pattern))


@functools.lru_cache(maxsize=8192)
def read_fix(text: str) -> FixDoc:
    normalised = normalise(text)
    return FixDoc(normalised, split_sentences(normalised))


@dataclasses.dataclass(frozen=True, slots=True)
class FixVerdict:
    credit: float
    reason: str  # one line; never names the expected answer


# Reasons, shared so that wording stays consistent (and answer-free) across rules.
R_EMPTY = "the fix is empty"
R_SEVERAL = "the fix proposes changes for several different faults; such a fix earns nothing"
R_SAFE_VALUE = "the fix sets the parameter at fault to a value in the safe range"
R_UNSAFE_VALUE = "the fix names the parameter at fault, but its value is outside the safe range"
R_NO_VALUE = "the fix names the parameter at fault, but gives no value in the safe range"
R_CONTRADICTS_VALUES = "the fix contradicts itself: it proposes both safe and unsafe values"
R_NOT_NAMED = "the fix does not change the parameter or mechanism at fault"
R_MECHANISM = "the fix states a change that removes the fault"
R_KEEPS_FAULT = "the fix keeps or reintroduces the faulty practice"
R_CONTRADICTS_MECHANISM = "the fix contradicts itself: it states both the remedy and the faulty practice"
R_VAGUE = "the fix names what is at fault but states no change that removes the fault"
R_OTHER_MECHANISM = "the fix addresses the right problem, but its change does not remove this fault's cause"


def _patterns(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


def _key_names(key: AnswerKey) -> tuple[str, ...]:
    """The field, its aliases and any string params naming variables: also names of the thing at fault."""
    names = [key.field, *key.field_aliases]
    names += [v for k, v in key.params.items() if isinstance(v, str) and k.endswith(("_var", "_name", "_key"))]
    return tuple(n for n in names if n)


def _with_key_names(base: re.Pattern[str], key: AnswerKey) -> re.Pattern[str]:
    literal = literal_pattern(_key_names(key))
    if literal is None:
        return base
    return re.compile(f"{literal.pattern}|{base.pattern}")


def _numeric_verdict(values: Iterable[float], is_safe, *, mentioned: bool) -> FixVerdict:
    values = list(values)
    if values:
        safe = [is_safe(v) for v in values]
        if all(safe):
            return FixVerdict(FULL, R_SAFE_VALUE)
        if any(safe):
            return FixVerdict(NONE, R_CONTRADICTS_VALUES)
        return FixVerdict(PARTIAL, R_UNSAFE_VALUE)
    if mentioned:
        return FixVerdict(PARTIAL, R_NO_VALUE)
    return FixVerdict(NONE, R_NOT_NAMED)


def _mechanism_verdict(*, right: bool, wrong: bool, named: bool) -> FixVerdict:
    if wrong:
        return FixVerdict(NONE, R_CONTRADICTS_MECHANISM if right else R_KEEPS_FAULT)
    if right:
        return FixVerdict(FULL, R_MECHANISM)
    if named:
        return FixVerdict(NONE, R_VAGUE)
    return FixVerdict(NONE, R_NOT_NAMED)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class FixRule:
    """The fix rule of one fault."""

    fault_id: str = ""
    # Other faults whose changes may accompany this fault's fix without making it a multi-fault fix.
    tolerated: frozenset[str] = frozenset()
    # For the docs table: what a correct fix must say.
    summary: str = ""

    def proposes(self, doc: FixDoc) -> bool:
        """Whether the fix proposes any change aimed at this fault (key-free: used to spot multi-fault fixes)."""
        raise NotImplementedError

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        raise NotImplementedError

    def gold_fix(self, key: AnswerKey) -> str:
        """The canonical fix in one sentence."""
        raise NotImplementedError

    def rule_sentence(self, key: AnswerKey) -> str:
        """What a correct fix must do, in one sentence, with this scenario's values (revealed answers only)."""
        raise NotImplementedError


# ----------------------------------------------------------------------------------------------------
# Numeric configuration faults

LEARNING_RATE = re.compile(
    r"(?<![a-z])(?:learning[\s_-]*rates?|(?:base_|max_|init_|initial_|peak_)?lrs?|step[\s_-]*sizes?)\b"
)
MOMENTUM = re.compile(r"(?<![a-z])momentum\b")
ADAPTIVE_OPTIMIZER = re.compile(
    r"\b(?:adam\w*|nadam|radam|amsgrad|rmsprop|adagrad|adadelta|adafactor|adabelief|lamb|adaptive"
    r"(?:[\s-]+\w+)?[\s-]+(?:optimi[sz]ers?|methods?|optimi[sz]ation))\b"
)
_OLD_OPTIMIZER_BEFORE = re.compile(
    r"(?:\bfrom|\breplac\w*|\bswap\w* out|\binstead of|\brather than|\bremov\w*|\bdrop\w*|\baway from"
    r"|\bditch\w*)\s+(?:the\s+)?(?:\w+\s+)?$"
)
_MOMENTUM_OFF = re.compile(
    r"\b(?:disabl\w*|remov\w*|turn\w* off|drop\w*|without|no|zero(?: out)?)\s+(?:the\s+)?(?:sgd\s+)?momentum\b"
    r"|\bmomentum\s*(?:=|:|to)?\s*(?:off|none|disabled|false)\b"
)
BATCH_SIZE = re.compile(
    r"\b(?:(?:mini[\s_-]?)?batch(?![\s_-]*norm)(?:[\s_-]*sizes?)?|bs|\w+_batch_size)\b"
)
_TRAIN_SIZE_REFERENCE = re.compile(r"^\s*(?:train\w*|training)\b|^\s*(?:\w+\s+)?(?:in|of) (?:the )?train")
_BATCH_BOUND = re.compile(
    r"\b(?:batch\w*)\b.{0,80}?\b(?:smaller|less|lower|fewer|below|under|(?:not|never|n't) (?:exceed|be (?:larger|bigger"
    r"|greater|more|above))|no (?:larger|bigger|greater|more) than|at most|does not exceed|doesn't exceed|within"
    r"|fits? (?:in|into|within)|than)\b.{0,50}?(?:train\w*[\s_-]*(?:set|split|size|samples|examples|data|rows|items"
    r"|images|records|partition|portion|count)|number of (?:train\w* )?(?:samples|examples|rows|items|images)"
    r"|train_size|n_train|len\(\s*train\w*|dataset size|size of the train\w*)"
)


class _NumericRule(FixRule):
    mention: re.Pattern[str] = LEARNING_RATE

    def _reading(self, doc: FixDoc, key: AnswerKey | None) -> ParameterReading:
        pattern = self.mention if key is None else _with_key_names(self.mention, key)
        bad = None if key is None else float(key.params["bad_value"])
        return read_parameter(doc.sentences, pattern, bad_value=bad)


class ExplodingLearningRate(_NumericRule):
    fault_id = "exploding_lr"
    mention = LEARNING_RATE
    summary = (
        "names the learning rate (learning rate / lr / step size or the field) and sets it to a value"
        " > 0 and <= `safe_max` (1e-2); a factor (\"divide by 1000\", \"3 orders of magnitude lower\") is applied"
        " to the bad value"
    )

    def proposes(self, doc: FixDoc) -> bool:
        return self._reading(doc, None).changed

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        reading = self._reading(doc, key)
        safe_max = float(key.params["safe_max"])
        return _numeric_verdict(reading.values, lambda v: 0 < v <= safe_max, mentioned=reading.changed)

    def gold_fix(self, key: AnswerKey) -> str:
        return f"Lower the learning rate to {_fmt(min(1e-3, float(key.params['safe_max']) / 10))}."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the learning rate to a value > 0 and <= {_fmt(float(key.params['safe_max']))}"
            f" (it was {_fmt(key.params['bad_value'])})."
        )


class SgdMomentumTooHigh(_NumericRule):
    fault_id = "wrong_optimizer"
    mention = MOMENTUM
    # Switching to Adam comes with an Adam-sized learning rate; that is part of this fix.
    tolerated = frozenset({"exploding_lr"})
    summary = (
        "sets the SGD momentum to a value in [0, `safe_max`] (0.95), or disables it, or switches to an adaptive"
        " optimizer (Adam, AdamW, RMSprop, Adagrad, ...); a learning rate for the new optimizer may accompany it"
    )

    def _switches(self, doc: FixDoc) -> bool:
        for span in doc.spans(ADAPTIVE_OPTIMIZER):
            before = span.sentence[max(0, span.start - 40) : span.start]
            if not is_negated(span) and not _OLD_OPTIMIZER_BEFORE.search(before):
                return True
        return False

    def _values(self, doc: FixDoc, reading: ParameterReading) -> list[float]:
        values = list(reading.values)
        values += [0.0 for span in doc.spans(_MOMENTUM_OFF) if not _negated_before(span)]
        return values

    def proposes(self, doc: FixDoc) -> bool:
        return self._reading(doc, None).changed or bool(doc.spans(_MOMENTUM_OFF)) or self._switches(doc)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        reading = self._reading(doc, key)
        values = self._values(doc, reading)
        safe_max = float(key.params["safe_max"])
        verdict = _numeric_verdict(values, lambda v: 0 <= v <= safe_max, mentioned=reading.changed)
        if self._switches(doc) and verdict.credit < FULL and verdict.reason != R_CONTRADICTS_VALUES:
            return FixVerdict(FULL, "the fix replaces the optimizer setting at fault with a safe one")
        return verdict

    def gold_fix(self, key: AnswerKey) -> str:
        target = min(0.9, float(key.params["safe_max"]))
        return f"Lower the SGD momentum to {_fmt(target)}, or switch to an adaptive optimizer such as Adam."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the momentum to at most {_fmt(float(key.params['safe_max']))} (it was {_fmt(key.params['bad_value'])})"
            " or switch to an adaptive optimizer such as Adam."
        )


def _negated_before(span: Span) -> bool:
    """Negation for phrases that carry their own negative word ("without momentum"): look before them only."""
    clause = span.sentence[max(0, span.start - 30) : span.start]
    return bool(re.search(r"\b(?:not|never|don't|do not|instead of|rather than)\b", clause))


class BatchLargerThanTrainingSet(_NumericRule):
    fault_id = "batch_size_overflow"
    mention = BATCH_SIZE
    summary = (
        "names the batch size and sets it to a value in [1, `train_size`], or bounds it by the size of the"
        " training split (\"smaller than the number of training samples\")"
    )

    def _reading(self, doc: FixDoc, key: AnswerKey | None) -> ParameterReading:
        pattern = self.mention if key is None else _with_key_names(self.mention, key)
        bad = None if key is None else float(key.params["bad_value"])
        return read_parameter(doc.sentences, pattern, bad_value=bad, exclude_after=_TRAIN_SIZE_REFERENCE)

    def _bounded(self, doc: FixDoc) -> bool:
        return any(_BATCH_BOUND.search(s) for s in doc.sentences)

    def proposes(self, doc: FixDoc) -> bool:
        return self._reading(doc, None).changed or self._bounded(doc)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        reading = self._reading(doc, key)
        train_size = float(key.params["train_size"])
        verdict = _numeric_verdict(reading.values, lambda v: 1 <= v <= train_size, mentioned=reading.changed)
        if not reading.values and self._bounded(doc):
            return FixVerdict(FULL, "the fix bounds the parameter at fault by a safe limit")
        return verdict

    def gold_fix(self, key: AnswerKey) -> str:
        return f"Reduce the batch size to {_gold_batch_size(int(key.params['train_size']))}, below the number of training samples."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the batch size to at most the {key.params['train_size']} samples of the training split"
            f" (it was {_fmt(key.params['bad_value'])})."
        )


def _gold_batch_size(train_size: int) -> int:
    if train_size >= 64:
        return 32
    return max(1, train_size // 2)


# ----------------------------------------------------------------------------------------------------
# The split ratio

TEST_FRACTION = re.compile(
    r"\b(?:test[\s_-]*(?:size|split|fraction|ratio|proportion|share|portion|set|percentage)"
    r"|(?:val|validation|eval|holdout|hold[\s_-]*out)[\s_-]*(?:size|split|fraction|ratio|proportion|share|portion"
    r"|set|percentage)|validation_split|hold(?:ing)?[\s_-]*out|held[\s_-]*out|remaining|the rest|rest of the data"
    r"|reserv\w*|set aside|put aside|hold back|allocat\w*"
    r"|(?:evaluat|test|validat|scor)\w* on|for (?:testing|validation|evaluation"
    r"|the test(?: set| split)?|the validation(?: set| split)?|test|val|eval))\b"
)
TRAIN_FRACTION = re.compile(
    r"\b(?:train(?:ing)?[\s_-]*(?:size|split|fraction|ratio|proportion|share|portion|set|percentage|data)"
    r"|train(?:ing)? on|for training|to training|to train)\b"
)
# Names that only a split-ratio change uses (others, like "training set", occur in many fixes).
SPLIT_PARAMETER = re.compile(
    r"\b(?:test[\s_-]*(?:size|fraction|ratio|proportion|percentage)|train[\s_-]*(?:size|fraction|ratio)"
    r"|split[\s_-]*(?:ratio|fraction|proportions?)|validation_split|val[\s_-]*(?:size|fraction|ratio)"
    r"|holdout[\s_-]*(?:size|fraction|ratio))\b"
)
_RATIO_PAIR = re.compile(
    r"(?<![\w.])(\d{1,2}(?:\.\d+)?)\s*%?\s*(?:/|:|-|to)\s*(\d{1,2}(?:\.\d+)?)\s*%?(?![\w.])"
    r"(?:\s*(?:\(?\s*)?(train\w*|test\w*|val\w*|eval\w*|holdout)\s*(?:/|-|:|and|vs|to)\s*(train\w*|test\w*|val\w*"
    r"|eval\w*|holdout))?"
)
_SPLIT_CONTEXT = re.compile(r"\b(?:split\w*|ratio|train\w*|test\w*|hold\w*|val\w*)\b")
_COUNT_AFTER = re.compile(r"^\s*(?:samples|rows|examples|items|images|records|documents)\b")


def _fraction(number: NumberToken) -> float | None:
    if number.percent:
        return number.value / 100.0
    if number.value <= 1.0:
        return number.value
    return None  # an absolute count: the rule cannot judge it


def _train_fraction_to_test(number: NumberToken) -> float | None:
    fraction = _fraction(number)
    return None if fraction is None else 1.0 - fraction


class InvertedSplitRatio(FixRule):
    fault_id = "wrong_split_ratio"
    summary = (
        "sets the held-out fraction (test_size / validation split / hold-out) to a value in [0.05, 0.4]; a training"
        " fraction (train_size=0.8, \"train on 80%\") or a ratio (\"80/20 train/test\") counts as 1 - it"
    )
    low: Final[float] = 0.05
    high: Final[float] = 0.4

    @staticmethod
    def _mention_patterns(key: AnswerKey | None) -> tuple[re.Pattern[str], re.Pattern[str]]:
        """The key's own names join the held-out or the training side by what they name (TRAIN_FRACTION: training)."""
        if key is None:
            return TEST_FRACTION, TRAIN_FRACTION
        names = _key_names(key)
        train_names = tuple(n for n in names if "train" in n.lower())
        test_names = tuple(n for n in names if "train" not in n.lower())
        patterns = []
        for base, own in ((TEST_FRACTION, test_names), (TRAIN_FRACTION, train_names)):
            literal = literal_pattern(own)
            patterns.append(base if literal is None else re.compile(f"{literal.pattern}|{base.pattern}"))
        return patterns[0], patterns[1]

    def _test_values(self, doc: FixDoc, key: AnswerKey | None) -> tuple[list[float], bool]:
        bad = None if key is None else float(key.params["bad_value"])
        test_pattern, train_pattern = self._mention_patterns(key)
        test = read_parameter(doc.sentences, test_pattern, bad_value=bad, convert=_fraction, exclude_after=_COUNT_AFTER)
        train = read_parameter(
            # bad_value is compared after conversion, so it stays the held-out fraction here too.
            doc.sentences, train_pattern, bad_value=bad, convert=_train_fraction_to_test, exclude_after=_COUNT_AFTER
        )
        values = list(test.values) + list(train.values) + self._pairs(doc, bad)
        # Partial credit needs the split parameter itself named with a change ("for validation" is too common).
        strict = SPLIT_PARAMETER if key is None else _with_key_names(SPLIT_PARAMETER, key)
        named = read_parameter(doc.sentences, strict).changed or bool(self._pairs(doc, None))
        return values, named

    @staticmethod
    def _pairs(doc: FixDoc, bad: float | None) -> list[float]:
        out = []
        for sentence in doc.sentences:
            if not _SPLIT_CONTEXT.search(sentence):
                continue
            for m in _RATIO_PAIR.finditer(sentence):
                a, b = float(m.group(1)), float(m.group(2))
                if not close(a + b, 100.0):
                    continue
                first, second = m.group(3), m.group(4)
                if first and second and first.startswith("train"):
                    test = b
                elif first and second and second.startswith("train"):
                    test = a
                else:
                    test = min(a, b)
                span = Span(sentence, m.start(), m.end())
                before = sentence[max(0, m.start() - 30) : m.start()]
                if is_negated(span) or re.search(r"\b(?:from|was|currently|instead of)\s*(?:an?\s+)?$", before):
                    continue
                if bad is not None and close(test / 100.0, bad):
                    continue
                out.append(test / 100.0)
        return out

    def proposes(self, doc: FixDoc) -> bool:
        values, named = self._test_values(doc, None)
        return bool(values) or named

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        values, named = self._test_values(doc, key)
        return _numeric_verdict(values, lambda v: self.low - 1e-9 <= v <= self.high + 1e-9, mentioned=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Set test_size to 0.2 so that most of the data is used for training."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the held-out fraction (test_size) to a value in [{self.low:g}, {self.high:g}]"
            f" (it was {_fmt(key.params['bad_value'])})."
        )


# ----------------------------------------------------------------------------------------------------
# The scaler fitted on all data

SCALER = re.compile(
    r"\bscal(?:e|es|ed|ing)\s+(?:the\s+|all\s+)?(?:numeric\s+)?(?:features|inputs|columns|x)\b"
    r"|\btrain\w*[\s_-]*(?:set[\s_-]*|split[\s_-]*)?stat(?:istic)?s\b"
    r"|\b(?:\w*scaler\w*|normali[sz]\w*|standardi[sz]\w*|scaling|rescal\w*|z-?scor\w*|minmax\w*"
    r"|mean(?:s)? and (?:std|stds|standard deviations?|variances?)|mean/std|feature statistics"
    r"|(?:scaling|normali[sz]ation|standardi[sz]ation) statistics)\b"
)
FIT_CALL = re.compile(r"\bfit_transform\b|\.fit\b|\bfit\(")
LABEL_WORDS = re.compile(r"\b(?:label\w*|class\w*|target\w*)\b")
TOKENIZER = re.compile(
    r"(?<![a-z])(?:tokeni[sz]\w*|vocab\w*|bpe|wordpiece|sentencepiece|text[\s_-]*encoder|encoder[\s_-]*version"
    r"|merges)\b"
)
TRAIN_SCOPE = _patterns(
    r"\b(?:x_train|train_x|x_tr|xtr|train_df|df_train|train_data|train_set|train_features|train_split|train_idx"
    r"|train_rows|x_train_raw|train_only)\b",
    r"\btrain(?:ing)?[\s_-]+(?:split|set|data|dataset|portion|partition|fold|folds|rows|samples|examples|subset"
    r"|features|part|side|only|matrix|array|frame|indices)\b",
    r"\bonly (?:on |from |with |using )?(?:the )?train(?:ing)?\b",
    r"\b(?:on|from|using|with) (?:the )?train(?:ing)?\b(?!\s+(?:the|a|an|it|them|loop|model|script|run|job))",
    r"\b(?:inside|in|into|within) (?:a |an |the )?(?:sklearn |scikit-learn )?pipeline\b",
)
WHOLE_SCOPE = _patterns(
    r"\b(?:all|entire|whole|full|complete|combined|unsplit|raw)\s+(?:of\s+)?(?:the\s+)?(?:data(?:set|sets)?|data set"
    r"|x|feature matrix|features|samples|rows|corpus|table|frame|df|array)\b",
    r"\ball (?:of )?(?:the )?(?:data(?:set)?|x|features|samples|rows)\b",
    r"\bevery (?:sample|row|split)\b",
    r"\bnot (?:just|only) (?:on |from )?(?:the )?train\w*",
)
_FIT_WORD = r"(?:fit\w*|scal\w*|normali\w*|standardi\w*|statistics|mean\w*)"
ORDER_RIGHT = _patterns(
    r"\bsplit\w*\b.{0,50}\b(?:before|prior to|first|then)\b.{0,50}\b" + _FIT_WORD,
    r"\b" + _FIT_WORD + r"\b.{0,60}\bafter\b.{0,30}\b(?:split\w*|train_test_split|partition\w*)",
    r"\bafter\b.{0,30}\b(?:split\w*|train_test_split|partition\w*)\b.{0,60}\b" + _FIT_WORD,
)
ORDER_WRONG = _patterns(
    r"\b" + _FIT_WORD + r"\b.{0,60}\b(?:before|prior to)\b.{0,30}\b(?:split\w*|train_test_split|partition\w*)",
)
_EVAL_DATA = (
    r"(?:val(?:idation)?|test|eval(?:uation)?|held[\s-]*out|hold[\s-]*out)(?:[\s_-]*(?:data|set|sets|split|splits"
    r"|samples|rows|features|portion|fold|x))?\b"
)
# Fitting (computing statistics) on validation or test data: "fit ... on the test set", "sees validation data".
_NOT_ADJECTIVE = r"(?<!\bthe )(?<!\ba )(?<!\ban )(?<!\bits )(?<!\bthis )(?<!\bthat )(?<!\balready )(?<!\bpreviously )"
EVAL_SCOPE_FIT = _patterns(
    _NOT_ADJECTIVE
    + r"\b(?:fit\w*|comput\w*|estimat\w*|learn\w*|calculat\w*|deriv\w*)\b(?:(?!\btransform\w*|\bappl\w*|\buse\b"
    r"|\btrain\w*).){0,40}?\b(?:on|to|with|from|using|over|across)\s+(?:the\s+|all\s+|both\s+)?" + _EVAL_DATA,
    r"\b(?:see|sees|seen|includ\w*|touch\w*)\s+(?:the\s+|any\s+)?" + _EVAL_DATA,
)


def _any(spans: Iterable[Span], *, negated: bool) -> bool:
    return any(is_negated(s) == negated for s in spans)


class ScalerFitOnAllData(FixRule):
    fault_id = "data_leakage_scaler"
    summary = (
        "mentions the scaler / normalisation (or a fit call) and fits it on the training split only: \"fit on"
        " X_train\", \"split first, then fit\", \"don't fit on the full dataset\"; asserting a fit on all data,"
        " before the split or on validation/test data earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        subject = SCALER if key is None else _with_key_names(SCALER, key)
        relevant: list[str] = []
        for i, sentence in enumerate(doc.sentences):
            fit_call = FIT_CALL.search(sentence) and not LABEL_WORDS.search(sentence) and not TOKENIZER.search(sentence)
            if subject.search(sentence) or fit_call:
                # The sentence naming the scaler and the next one ("... Fit it on X_train.").
                relevant += [s for s in doc.sentences[i : i + 2] if s not in relevant]
        if not relevant:
            return False, False, False
        doc = FixDoc(doc.text, tuple(relevant))
        right = (
            _any(doc.spans(TRAIN_SCOPE), negated=False)
            or _any(doc.spans(ORDER_RIGHT), negated=False)
            or _any(doc.spans(WHOLE_SCOPE), negated=True)
            or _any(doc.spans(ORDER_WRONG), negated=True)
            or _any(doc.spans(EVAL_SCOPE_FIT), negated=True)
        )
        wrong = (
            _any(doc.spans(WHOLE_SCOPE), negated=False)
            or _any(doc.spans(ORDER_WRONG), negated=False)
            or _any(doc.spans(EVAL_SCOPE_FIT), negated=False)
        )
        return True, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc, None)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc, key)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Fit the scaler on the training split only, then use it to transform the validation and test splits."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Fit the scaler on the training split only (after splitting) and only transform the other splits with it."


# ----------------------------------------------------------------------------------------------------
# Items shared between splits

SPLIT_ONCE = _patterns(
    r"(?<![a-z])split\w*\b(?:\s+[\w/'-]+){0,6}?\s+(?:only once|once|exactly once|a single time|one time)\b",
    r"\b(?:single|one|one-shot|one-time)\s+(?:[\w/-]+\s+)?(?:split|train_test_split|call to train_test_split"
    r"|partition\w*|shuffle)\b",
    r"\b(?:remov|delet|drop|get rid of|eliminat)\w*\b.{0,40}\b(?:second|extra|duplicate[d]?|repeated|redundant"
    r"|other|additional)\b.{0,30}\b(?:split\w*|train_test_split|call|partition\w*)",
    r"\b(?:val\w*|validation)\b.{0,40}\b(?:from|out of)\b\s+(?:the\s+)?(?:remaining\s+)?train(?:ing)?\b",
    r"\b(?:reuse|re-use|keep|use)\b.{0,20}\b(?:the )?(?:first|original|same|initial)\s+(?:split|partition|indices)",
)
SPLIT_AGAIN = re.compile(
    r"\b(?:re-?split\w*|(?<![a-z])split\w*(?:\s+\w+){0,4}?\s+(?:again|twice|a second time|two times))\b"
)
DEDUPLICATE = _patterns(
    r"\b(?:de-?dup\w*|drop_duplicates|(?:remov|drop|delet|eliminat|discard|filter)\w*\s+(?:out\s+)?(?:the\s+|all\s+"
    r"|any\s+)?(?:near[\s-]?|exact\s+)?duplicat\w*)\b.{0,60}?\b(?:source\w*|origin\w*|parent\w*|group\w*|base"
    r"|underlying|same image|same item|hash\w*|ids?)\b",
    r"\b(?:one|a single|only one)\s+(?:copy|sample|item|instance|image|record|example)\s+(?:per|for each|of each)\s+"
    r"(?:source|parent|original)",
    r"\b(?:group\w*|bucket\w*|keep\w*|assign\w*|split\w*|partition\w*|stratif\w*)\b.{0,40}?\bby\s+(?:the\s+|their\s+"
    r"|its\s+|each\s+|a\s+)?"
    r"(?:source\w*|origin\w*|parent\w*|group\w*|base \w+|original \w+|patient\w*|user\w*|document\w*|item id)",
    r"\b(?:group\s*shuffle\s*split|group\s*k-?fold|stratifiedgroupkfold|leave-?one-?group-?out|groups\s*=)",
    r"\b(?:duplicates|copies|augment\w*|variants|versions|crops|near-duplicates|siblings|derived)\b.{0,60}"
    r"\b(?:same|one|single)\s+(?:split|side|partition|set|fold)\b",
    r"\b(?:source|parent|original)\s+(?:items?|images?|ids?|records?|documents?|groups?|samples?)\b.{0,60}"
    r"\b(?:same|one|single|exactly one|only one)\s+(?:split|side|partition|set|fold)\b",
    r"\bsplit\w*\b.{0,30}\b(?:at|on) the (?:source|group|parent|original item)[\s-]*level\b",
    r"\b(?:unique|distinct)\s+(?:source|parent|original)\w*",
)
DISJOINT = _patterns(
    r"\b(?:disjoint|non-?overlapping|mutually exclusive)\b",
    r"\bno\s+(?:\w+\s+)?(?:items?|samples?|examples?|ids?|images?|records?|rows?|sources?|duplicates?)\b.{0,40}"
    r"\b(?:both|two|multiple|more than one|across)\b",
    r"\b(?:remov\w*|drop\w*|exclud\w*|filter\w* out|delet\w*|dedup\w*)\b.{0,40}\b(?:overlap\w*|shared|intersect\w*"
    r"|in common)\b",
    r"\bshare no\b|\bzero overlap\b|\bno overlap\b",
)


class ItemsInTwoSplits(FixRule):
    fault_id = "data_leakage_overlap"
    # Splitting once naturally states the split's size.
    tolerated = frozenset({"wrong_split_ratio"})
    summary = (
        "makes every item land in exactly one split by the change that matches the cause: split once"
        " (remove the second split, carve validation out of the training part) for a double split; deduplicate"
        " or split by source group (GroupShuffleSplit, group by source id) for duplicated sources; the other"
        " cause's remedy or a bare \"remove the overlap\" earns half; \"split again\" earns nothing"
    )

    def _evidence(self, doc: FixDoc) -> dict[str, bool]:
        return {
            "once": _any(doc.spans(SPLIT_ONCE), negated=False) or _any(doc.spans(SPLIT_AGAIN), negated=True),
            "dedupe": _any(doc.spans(DEDUPLICATE), negated=False),
            "disjoint": bool(doc.spans(DISJOINT)),
            "again": _any(doc.spans(SPLIT_AGAIN), negated=False),
        }

    def proposes(self, doc: FixDoc) -> bool:
        return any(self._evidence(doc).values())

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        evidence = self._evidence(doc)
        if evidence["again"]:
            return FixVerdict(NONE, R_CONTRADICTS_MECHANISM if evidence["once"] else R_KEEPS_FAULT)
        double_split = key.params["mechanism"] == "double_split"
        matching, other = ("once", "dedupe") if double_split else ("dedupe", "once")
        if evidence[matching]:
            return FixVerdict(FULL, R_MECHANISM)
        if evidence[other] or evidence["disjoint"]:
            return FixVerdict(PARTIAL, R_OTHER_MECHANISM)
        return FixVerdict(NONE, R_NOT_NAMED)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Split the data once, grouping by source item, so that every item and its duplicates land in exactly one split."

    def rule_sentence(self, key: AnswerKey) -> str:
        if key.params["mechanism"] == "double_split":
            return "Split the data once (derive validation from the training part) so that no item is in two splits."
        return "Deduplicate or group by source item before splitting so that no item is in two splits."


# ----------------------------------------------------------------------------------------------------
# Evaluation faults

LABEL_MAPPING = _patterns(
    r"\blabel\w*[\s_-]*(?:encoders?|encodings?|map|mapping|mappings|maps|dict|dictionary|index|indices|indexes|ids?"
    r"|order|ordering|vocab\w*|space|names|to[\s_-]*(?:index|id|idx|int)|list|lookup|table)\b",
    r"\b(?:label2id|id2label|label_to_id|label_to_idx|labels_to_ids|class_to_idx|idx_to_class|classes_|labelencoder"
    r"|target[\s_-]*encoder)\b",
    r"\bmap\w*\s+(?:the\s+|eval\w*\s+|test\s+)?(?:labels|classes|targets|class names)\b",
    r"\b(?:label|class)\w*\s+(?:\w+\s+){1,3}?(?:dictionary|dict|mapping|encoder|lookup)\b",
    r"\bclass\w*[\s_-]*(?:map|mapping|mappings|order|ordering|index|indices|indexes|ids?|to[\s_-]*(?:index|id|idx|int)"
    r"|list|names|encoding|encoder|lookup|table)\b",
    r"(?<![a-z])encoders?\b",
)
REUSE = re.compile(
    r"\b(?:same|identical|consistent|shared|single|one|unchanged|original)\b|\b(?:reus\w*|re-us\w*|persist\w*|sav\w*"
    r"|serializ\w*|serialis\w*|pickl\w*|load\w*|shar\w*|carry\w* over|pass\w*|export\w*|stor\w*|freez\w*|pin\w*)\b"
    r"|\btrain\w*\b|\bmatch\w*|\balign\w*|\bline up\b|\bagree\b"
)
REFIT = _patterns(
    r"\b(?:re-?fit\w*|re-?build\w*|re-?creat\w*|re-?comput\w*|re-?generat\w*|re-?deriv\w*|re-?learn\w*)\b",
    r"\bnew\s+(?:\w+\s+)?(?:encoder|mapping|map|labelencoder)\b",
    r"\bfit\w*\b.{0,40}\b(?:on|to|with)\s+(?:the\s+)?(?:eval\w*|test\w*|val\w*|validation)\b",
)


def _label_sentences(doc: FixDoc, subject: re.Pattern[str]) -> list[str]:
    """Sentences naming a label mapping. A bare "encoder" next to tokenizer words is a text encoder, not this."""
    out = []
    for sentence in doc.sentences:
        for m in subject.finditer(sentence):
            bare_encoder = m.group().startswith("encoder")
            if bare_encoder and (TOKENIZER.search(sentence) or re.search(r"\bversion", sentence)):
                continue
            out.append(sentence)
            break
    return out


class LabelMappingMismatch(FixRule):
    fault_id = "label_encoder_mismatch"
    summary = (
        "names the label mapping (label encoder, label2id, class-to-index map, classes) and makes evaluation reuse"
        " the one from training (same / saved / loaded / training mapping); fitting or building a new mapping on"
        " evaluation data earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        subject = LABEL_MAPPING if key is None else _with_key_names(LABEL_MAPPING, key)
        sentences = _label_sentences(doc, subject)
        if not sentences:
            return False, False, False
        sub = FixDoc(doc.text, tuple(sentences))
        refits = sub.spans(REFIT)
        right = any(REUSE.search(s) for s in sentences) or _any(refits, negated=True)
        wrong = _any(refits, negated=False)
        return True, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc, None)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc, key)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Reuse the label mapping fitted on the training data at evaluation instead of building a new one."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Evaluate with the label mapping used in training (save it and load it); never fit a new one on evaluation data."


_SPLIT_NAME = re.compile(r"(?<![a-z])(?P<name>val|validation|dev|test)(?![a-z])")
_METRIC_CONTEXT = re.compile(
    r"\b(?:metric\w*|score\w*|accuracy|acc|f1|auc|results?|keys?|entr(?:y|ies)|eval_results\w*|report\w*|numbers"
    r"|loss)\b|_(?:acc|accuracy|f1|auc|loss|score)\b"
)
_RELATION = re.compile(
    r"\b(?:under|into|to|in|as|at|holds?|contains?|gets?|for)\b|=|:|->"
)
_WRITE_VERB = re.compile(
    r"\b(?:writ\w*|stor\w*|log\w*|sav\w*|report\w*|record\w*|put\w*|map\w*|assign\w*|go|goes|land\w*|hold\w*"
    r"|contain\w*|emit\w*|dump\w*|keys?|under)\b"
)
_DESCRIPTION_BEFORE = re.compile(
    r"\b(?:are|were|is|was|currently|being|been|got|get)\s+(?:\w+\s+)?(?:written|stored|logged|saved|reported"
    r"|recorded|put|mapped|assigned|swapped|going)\s*$|\b(?:currently|right now|at the moment)\b.*$"
)
SWAP_BACK = _patterns(
    r"\bswap\w*\b.{0,60}\bback\b",
    r"\bun-?swap\w*",
    r"\b(?:undo|revert\w*|revers\w*|correct\w*|fix\w*|repair\w*|untangl\w*)\b.{0,50}\b(?:swap\w*|mix-?up|mixed[\s-]up"
    r"|crossed|exchang\w*|switch\w*|invert\w*|transpos\w*|key mapping|mapping|keys|key names|labels|names)\b",
    r"(?:^|[,;:]\s*|\b(?:just|simply|please|and|then)\s+)(?:swap|switch|exchange|flip)\s+(?:the\s+)?(?:\w+\s+){0,3}?"
    r"(?:val\w*|validation|test|keys|metrics|entries|values|them|labels|names)\b",
)
OWN_KEY = re.compile(
    r"\b(?:own|correct|right|matching|proper|respective|corresponding|intended)\s+(?:\w+\s+)?(?:keys?|names?|fields?"
    r"|entr(?:y|ies)|slots?|labels?|places?)\b"
)


def _split_kind(name: str) -> str:
    return "test" if name == "test" else "val"


_PRONOUN = re.compile(r"\b(?:them|they|it|these|those)\b")


def _pair_evidence(sentence: str, previous_subject: str | None) -> tuple[bool, bool]:
    """("validation metrics under val" -> right, "validation metrics under test" -> wrong) per sentence.

    A pronoun source ("write them under val") refers to the previous sentence's first split name.
    """
    right = wrong = False
    has_verb = bool(_WRITE_VERB.search(sentence))
    names = [(m.start(), m.end(), _split_kind(m.group("name"))) for m in _SPLIT_NAME.finditer(sentence)]
    for rel in itertools.islice(_RELATION.finditer(sentence), 4 * MAX_MENTIONS):
        if not has_verb and rel.group() not in ("=", ":", "->"):
            continue
        # An assignment ("results['val'] = val_metrics") binds only what stands right next to it.
        assignment = rel.group() in ("=", ":", "->")
        reach_before, reach_after = (6, 4) if assignment else (50, 25)
        before = [n for n in names if n[1] <= rel.start() and rel.start() - n[1] <= reach_before]
        after = [n for n in names if n[0] >= rel.end() and n[0] - rel.end() <= reach_after]
        if not before and previous_subject and _PRONOUN.search(sentence, max(0, rel.start() - 30), rel.start()):
            before = [(rel.start(), rel.start(), previous_subject)]
        if not before or not after:
            continue
        source, target = before[-1], after[0]
        if any(source[1] <= r.start() < rel.start() for r in _RELATION.finditer(sentence, source[1], rel.start())):
            continue  # a nearer relation word owns the source name
        if _DESCRIPTION_BEFORE.search(sentence[max(0, rel.start() - 40) : rel.start()]):
            continue  # describes the bug ("val metrics are written to test"), proposes nothing
        span = Span(sentence, source[0], target[1])
        same = source[2] == target[2]
        if is_negated(span):
            same = not same
        right |= same
        wrong |= not same
    return right, wrong


class SwappedMetricKeys(FixRule):
    fault_id = "silent_metric_swap"
    summary = (
        "writes each metric under its own key: validation results under the validation key and test results under"
        " the test key (\"swap them back\", \"fix the key mapping\", \"correct the swapped keys\"); writing"
        " validation results under a test key (or the reverse) earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        context = doc.search(_METRIC_CONTEXT) or (key is not None and doc.search(_with_key_names(_METRIC_CONTEXT, key)))
        names = {_split_kind(m.group("name")) for m in _SPLIT_NAME.finditer(doc.text)}
        if not context and len(names) < 2:
            return False, False, False
        right = wrong = False
        previous_subject = None
        for sentence in doc.sentences:
            r, w = _pair_evidence(sentence, previous_subject)
            right |= r
            wrong |= w
            first = _SPLIT_NAME.search(sentence)
            previous_subject = _split_kind(first.group("name")) if first else None
        right |= _any(doc.spans(SWAP_BACK), negated=False) or _any(doc.spans(OWN_KEY), negated=False)
        return True, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc, None)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc, key)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return (
            "Write each metric under its own key: validation metrics under the validation key and test metrics"
            " under the test key."
        )

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Write each metric under its own key (validation results under validation, test results under test)."


_VERSION = re.compile(r"(?<![\w.])(?:version\s+|v)?\d+(?:\.\d+)+(?![\w])|(?<![\w.])v\d+(?![\w]|\.\d)")
_OLD_VERSION_BEFORE = re.compile(
    r"\b(?:from|was|were|currently|instead of|rather than|not|old|older|outdated|stale|previous|wrong|mismatched"
    r"|drifted|no longer|replac\w*|upgrad\w* from)\b[^,;]{0,25}$|n't\b[^,;]{0,25}$"
)
_OLD_VERSION_AFTER = re.compile(
    r"^\s*(?:->|=>|is (?:\w+ )?(?:stale|old|older|outdated|wrong|the problem|a mismatch)|was (?:loaded|used) by mistake)"
)
SAME_AS_TRAINING = _patterns(
    r"\b(?:same|identical|matching|consistent|single|one|unified|shared)\b.{0,50}\b(?:tokeni\w*|vocab\w*|version\w*"
    r"|encoder)\b",
    r"\b(?:tokeni\w*|vocab\w*|version)\b.{0,60}?\b(?:used|loaded|fitted|shipped|saved|trained)?\s*(?:in|for|during|at"
    r"|by|with|from|as|as in|as for|as during|as at)\s+(?:the\s+)?train\w*",
    r"\btrain\w*(?:'s)?\s+(?:time\s+)?(?:tokeni\w*|vocab\w*|version)",
    r"\b(?:pin\w*|lock\w*|match\w*|align\w*|sync\w*)\b.{0,40}\b(?:tokeni\w*|vocab\w*|version\w*)\b.{0,40}\btrain\w*",
    r"\b(?:tokeni\w*|vocab\w*|version\w*)\b.{0,40}\b(?:match\w*|align\w*|sync\w*|equal\w*|agree\w*)\b.{0,30}\btrain\w*",
    r"\b(?:version\w*|tokeni\w*)\b.{0,40}\btrain\w*\s+(?:used|uses|had|was run with|ran with|loaded)",
)


def _version_id(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^version\s+", "", text)
    return text[1:] if text.startswith("v") else text


class TokenizerVersionDrift(FixRule):
    fault_id = "tokenizer_version_drift"
    summary = (
        "names the tokenizer (or vocabulary) and makes evaluation load the version used in training: the"
        " training version by name (`train_version`) or \"the same version as training\"; naming only another"
        " version earns half, naming the training version and another as targets earns nothing"
    )

    def _targets(self, doc: FixDoc) -> list[str]:
        out = []
        for span in doc.spans(_VERSION):
            before = span.sentence[max(0, span.start - 40) : span.start]
            after = span.sentence[span.end : span.end + 40]
            old = _OLD_VERSION_BEFORE.search(before)
            if old and re.search(r"\bto\b|->|=>|\bwith\b", before[old.start() :]):
                old = None  # "from v10 to v12": the cue belongs to the earlier version
            if is_negated(span) or old or _OLD_VERSION_AFTER.match(after):
                continue
            out.append(_version_id(span.text))
        return out

    def _named(self, doc: FixDoc, key: AnswerKey | None) -> bool:
        return doc.search(TOKENIZER if key is None else _with_key_names(TOKENIZER, key))

    def proposes(self, doc: FixDoc) -> bool:
        if not self._named(doc, None):
            return False
        if self._targets(doc) or _any(doc.spans(SAME_AS_TRAINING), negated=False) or self._changes(doc):
            return True
        # "should match training: tokenizer version, ..." also aims at this fault.
        return any(TOKENIZER.search(s) and REUSE.search(s) for s in doc.sentences)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        if not self._named(doc, key):
            return FixVerdict(NONE, R_NOT_NAMED)
        train = _version_id(str(key.params["train_version"]))
        targets = set(self._targets(doc))
        if targets:
            if targets == {train}:
                return FixVerdict(FULL, R_SAFE_VALUE)
            if train in targets:
                return FixVerdict(NONE, R_CONTRADICTS_VALUES)
            return FixVerdict(PARTIAL, R_UNSAFE_VALUE)
        if _any(doc.spans(SAME_AS_TRAINING), negated=False):
            return FixVerdict(FULL, R_MECHANISM)
        if self._changes(doc):
            return FixVerdict(PARTIAL, R_NO_VALUE)
        return FixVerdict(NONE, R_VAGUE)

    @staticmethod
    def _changes(doc: FixDoc) -> bool:
        return any(TOKENIZER.search(s) and CHANGE_WORDS.search(s) for s in doc.sentences)

    def gold_fix(self, key: AnswerKey) -> str:
        return "In evaluation, load the same tokenizer version that training used."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Load the tokenizer version used in training ({key.params['train_version']}) in evaluation"
            f" instead of {key.params['eval_version']}."
        )


# ----------------------------------------------------------------------------------------------------
# Evaluation faults of task version 2

_SPLIT_NOUN = r"(?:split|set|data|dataset|loader|dataloader|partition|rows|examples|samples|frame|features|portion|part)"
_SCORING = re.compile(r"scor\w*|evaluat\w*|\beval\b|metric\w*|accurac\w*|\bf1\b|runner|report\w*")
_TRAIN_SPLIT = re.compile(
    rf"\btrain(?:ing)?\s+{_SPLIT_NOUN}\b|\[\s*['\"]train['\"]\s*\]|['\"]train['\"]|\btrain(?:ing)? split\b"
)
_TEST_SPLIT = re.compile(
    rf"\b(?:test|held[- ]out|holdout)\s+{_SPLIT_NOUN}\b|\[\s*['\"]test['\"]\s*\]|['\"]test['\"]|\btest_scores\b"
)
_REPLACE_TRAIN_BY_TEST = re.compile(
    rf"\b(?:replac\w*|swap\w*|chang\w*|switch\w*|turn\w*)\b.{{0,40}}(?:{_TRAIN_SPLIT.pattern}).{{0,40}}"
    rf"\b(?:with|for|to|by|into)\b.{{0,25}}(?:{_TEST_SPLIT.pattern})"
)


_SCORE_ON_TRAIN = re.compile(
    r"\b(?:scor\w*|evaluat\w*|eval|metrics?|test_scores|test (?:metrics|scores|results|accuracy))\b.{0,40}?"
    rf"\b(?:on|with|using|against|over|from)\s+(?:the\s+)?(?:{_TRAIN_SPLIT.pattern})"
    rf"|\b(?:scor\w*|evaluat\w*)\s+(?:the\s+)?(?:{_TRAIN_SPLIT.pattern})"
)


_DIRECTIVE_BEFORE = re.compile(r"(?:^|\b(?:should|must|needs? to|to|please|then|always|just|we|let's|and))\s*$")


def _directive(span: Span) -> bool:
    """Whether a match is an instruction ("score the training split") rather than a description of the
    current state ("the test scores come from the training rows")."""
    return bool(_DIRECTIVE_BEFORE.search(span.sentence[: span.start].strip()))


class TestMetricsOnTrainSplit(FixRule):
    fault_id = "eval_on_train_split"
    summary = (
        "makes the test metrics come from the test split rather than the training split (\"score splits['test'],"
        " not splits['train']\", \"replace the training loader with the test loader\"); scoring the training split"
        " as test earns nothing"
    )

    def _evidence(self, doc: FixDoc) -> tuple[bool, bool, bool]:
        named = right = wrong = False
        if not doc.search(_SCORING):
            return False, False, False  # the training split is not discussed as what evaluation scores
        for sentence in doc.sentences:
            trains = list(find_spans((sentence,), _TRAIN_SPLIT))
            if not trains:
                continue
            tests = [s for s in find_spans((sentence,), _TEST_SPLIT) if not is_negated(s)]
            scored_on_train = list(find_spans((sentence,), _SCORE_ON_TRAIN))
            replaced = bool(_REPLACE_TRAIN_BY_TEST.search(sentence))
            if not (tests or scored_on_train or replaced):
                continue  # the training split is mentioned, but not as what evaluation scores
            named = True
            if replaced or (tests and any(is_negated(s) for s in trains)):
                right = True
            elif _any(scored_on_train, negated=True):
                right = True  # "never score the training split" states the remedy
            elif any(not is_negated(s) and _directive(s) for s in scored_on_train):
                wrong = True
        return named, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Score the test split, not the training split, for the test metrics."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Compute the test metrics on the test split instead of the training split."


_DROP_LAST = re.compile(r"\bdrop[_ ]last\b|\b(?:last|final|incomplete|partial|remaining|trailing)\s+(?:\w+\s+)?batch\w*\b")
_DROP_LAST_OFF = re.compile(
    r"\bdrop[_ ]last\s*(?:=|:|to|as|->)?\s*(?:false|0|off|no)\b"
    r"|\b(?:remov\w*|disabl\w*|delet\w*|turn\w* off|unset\w*|drop\w*|get rid of)\b.{0,20}\bdrop[_ ]last\b"
    r"|\b(?:keep\w*|includ\w*|retain\w*|scor\w*|evaluat\w*|us(?:e|ing))\b.{0,30}\b(?:last|final|incomplete|partial|remaining"
    r"|trailing)\s+(?:\w+\s+)?batch"
    r"|\b(?:every|all(?: the)?|each)\s+(?:\w+\s+){0,2}(?:sample|row|example|item|image|text|record)s?\b"
)
_DROP_LAST_ON = re.compile(
    r"\bdrop[_ ]last\s*(?:=|:|to|as|->)?\s*(?:true|1|on|yes)\b"
    r"|\b(?:drop\w*|discard\w*|skip\w*)\b.{0,20}\b(?:last|final|incomplete|partial|remaining|trailing)\s+(?:\w+\s+)?batch"
)


class EvalLoaderDropsLastBatch(FixRule):
    fault_id = "eval_drop_last"
    # "Keep the last, partial batch" talks about batches without resizing them.
    tolerated = frozenset({"batch_size_overflow"})
    summary = (
        "keeps every sample in evaluation: drop_last=False (or removed) on the evaluation DataLoader, or \"keep the"
        " last, incomplete batch\"; dropping it earns nothing"
    )

    def _evidence(self, doc: FixDoc) -> tuple[bool, bool, bool]:
        named = bool(doc.spans(_DROP_LAST))
        if not named:
            return False, False, False
        right = _any(doc.spans(_DROP_LAST_OFF), negated=False) or _any(doc.spans(_DROP_LAST_ON), negated=True)
        wrong = _any(doc.spans(_DROP_LAST_ON), negated=False) and not right
        return named, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Set drop_last=False on the evaluation DataLoaders so that every validation and test sample is scored."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Evaluate every sample: no drop_last on the evaluation loaders."


_AVERAGE = re.compile(r"\bmacro\w*|\bweight\w*|\bf1\b|\baverag\w*|\bmean\b|\bsupport\b")
_UNWEIGHTED = re.compile(
    r"\b(?:unweighted|plain|simple|arithmetic|equal[- ]weight\w*)\s+(?:\w+\s+){0,2}(?:mean|average)"
    r"|\baverage\s*=\s*['\"]?macro\b|\bf1\.mean\(\)|\bmean\s+of\s+(?:the\s+)?per[- ]class\b"
    r"|\b(?:every|each)\s+class\s+(?:counts|weigh\w*)\s+(?:the\s+)?(?:same|equally)"
    r"|\bweigh\w*\s+(?:every|each|all)\s+class\w*\s+equally"
)
_WEIGHTED = re.compile(
    r"\baverage\s*=\s*['\"]?weighted\b|\bweight\w*\s+(?:[\w-]+\s+){0,3}by\s+(?:the\s+)?(?:support|class (?:size|frequenc)\w*)"
    r"|\bsupport[- ]weighted\b|\bweighted\s+(?:avg|average|mean|f1)"
)
_RENAME_WEIGHTED = re.compile(r"\b(?:call|name|label|report|store|write|log)\w*\b.{0,30}\bweighted\b.{0,30}\b(?:as|under|its own)\b")


class WeightedF1ReportedAsMacro(FixRule):
    fault_id = "weighted_f1_as_macro"
    # Reporting the weighted value "under its own name" is part of this remedy, not a metric-key swap.
    tolerated = frozenset({"silent_metric_swap"})
    summary = (
        "makes macro_f1 the unweighted mean of the per-class F1 (average='macro', f1.mean()), or reports the"
        " support-weighted value under its own name; weighting macro_f1 by support earns nothing"
    )

    def _evidence(self, doc: FixDoc) -> tuple[bool, bool, bool]:
        named = bool(doc.search(re.compile(r"\bmacro\w*"))) and bool(doc.spans(_AVERAGE))
        if not named:
            return False, False, False
        right = (
            _any(doc.spans(_UNWEIGHTED), negated=False)
            or _any(doc.spans(_WEIGHTED), negated=True)
            or _any(doc.spans(_RENAME_WEIGHTED), negated=False)
        )
        wrong = _any(doc.spans(_WEIGHTED), negated=False) and not right
        return named, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Compute macro_f1 as the unweighted mean of the per-class F1 scores (average='macro')."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Report macro_f1 as the unweighted mean of per-class F1, not the support-weighted mean."


_EVAL_MODE_NAMED = re.compile(
    r"\bmodel\.(?:eval|train)\b|\b(?:eval(?:uation)?|inference|train(?:ing)?)[- ]mode\b|\bdropout\b"
    r"|\bbatch[- ]?norm\w*|\bno_grad\b"
)
_EVAL_MODE_ON = re.compile(
    r"\bmodel\.eval\(\)|\bmodel\.train\(\s*(?:false|mode\s*=\s*false)\s*\)"
    r"|\b(?:put|set|switch\w*|turn\w*|call\w*|us(?:e|ing)|run\w*|chang\w*|mov\w*|ensur\w*|make)\b.{0,40}"
    r"\b(?:eval(?:uation)?|inference)[- ]mode\b"
    r"|\b(?:disabl\w*|turn\w* off|deactivat\w*|switch\w* off)\b.{0,20}\bdropout\b"
    r"|\b(?:eval(?:uation)?|inference)[- ]mode\b.{0,40}\b(?:before|when|while|during|for)\b.{0,20}\b(?:scor\w*|evaluat\w*|testing|inference)"
)
_EVAL_MODE_OFF = re.compile(
    r"\bmodel\.train\(\s*\)|\b(?:keep|leav\w*|stay\w*|run\w*|evaluat\w*|scor\w*)\b.{0,30}\b(?:in\s+)?train(?:ing)?[- ]mode\b"
)


class ModelScoredInTrainMode(FixRule):
    fault_id = "eval_in_train_mode"
    # "Batch-norm batch statistics" names batches without resizing them.
    tolerated = frozenset({"batch_size_overflow"})
    summary = (
        "switches the model to evaluation mode before scoring (model.eval(), \"put the model in eval mode\","
        " \"disable dropout at evaluation\"); keeping it in train mode earns nothing"
    )

    def _evidence(self, doc: FixDoc) -> tuple[bool, bool, bool]:
        named = bool(doc.spans(_EVAL_MODE_NAMED))
        if not named:
            return False, False, False
        right = _any(doc.spans(_EVAL_MODE_ON), negated=False) or _any(doc.spans(_EVAL_MODE_OFF), negated=True)
        wrong = any(not is_negated(s) and _directive(s) for s in doc.spans(_EVAL_MODE_OFF)) and not right
        return named, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Call model.eval() in the scorer before evaluating, so dropout is off and batch norm uses its running statistics."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Put the model in evaluation mode (model.eval()) before scoring."


# ----------------------------------------------------------------------------------------------------

RULES: Final[dict[str, FixRule]] = {
    rule.fault_id: rule
    for rule in (
        ExplodingLearningRate(),
        SgdMomentumTooHigh(),
        BatchLargerThanTrainingSet(),
        ScalerFitOnAllData(),
        ItemsInTwoSplits(),
        InvertedSplitRatio(),
        LabelMappingMismatch(),
        SwappedMetricKeys(),
        TokenizerVersionDrift(),
        TestMetricsOnTrainSplit(),
        EvalLoaderDropsLastBatch(),
        WeightedF1ReportedAsMacro(),
        ModelScoredInTrainMode(),
    )
}


def _faults_of_version(version: int) -> frozenset[str]:
    return frozenset(f for (_, v), pool in FAULT_POOLS.items() if v == version for f in pool)


# The faults a fix is read against, per task version: a fix for a version-1 key is judged against the
# nine faults that version knows, so adding faults later never changes a published grade.
RULE_SETS: Final[dict[int, frozenset[str]]] = {
    version: _faults_of_version(version) for version in sorted({v for _, v in FAULT_POOLS})
}


def rule_set(key: AnswerKey) -> frozenset[str]:
    """The faults of the key's task version."""
    return RULE_SETS[TASKS[key.task_id].version]


@functools.lru_cache(maxsize=8192)
def proposed_faults(text: str, among: frozenset[str] | None = None) -> frozenset[str]:
    """The faults (of `among`, default all) whose remedies a fix proposes (key-free: the same for every scenario)."""
    doc = read_fix(text)
    return frozenset(
        fault_id for fault_id, rule in RULES.items() if (among is None or fault_id in among) and rule.proposes(doc)
    )


@functools.lru_cache(maxsize=8192)
def targeted_faults(text: str, among: frozenset[str] | None = None) -> frozenset[str]:
    """The faults a fix aims at: those it proposes, less any that only accompany another's remedy.

    "Switch to Adam with lr 1e-3" proposes both optimizer and learning-rate changes but aims at the optimizer
    fault, which tolerates the learning rate. Key-free, so the same for every scenario.
    """
    proposed = proposed_faults(text, among)
    return frozenset(
        g for g in proposed if not any(g in RULES[h].tolerated for h in proposed if h != g)
    )


def judge_fix(key: AnswerKey, text: str) -> FixVerdict:
    """The fix credit for this key: the fault's own rule, unless the fix also proposes other faults' changes."""
    doc = read_fix(text)
    if not doc.text.strip():
        return FixVerdict(NONE, R_EMPTY)
    rule = RULES[key.fault_id]
    verdict = rule.judge(doc, key)
    proposed = proposed_faults(text, rule_set(key))
    if proposed - {key.fault_id} - rule.tolerated and (verdict.credit > 0 or key.fault_id in proposed):
        return FixVerdict(NONE, R_SEVERAL)
    return verdict


def gold_fix(key: AnswerKey) -> str:
    return RULES[key.fault_id].gold_fix(key)


def rule_sentence(key: AnswerKey) -> str:
    return RULES[key.fault_id].rule_sentence(key)


__all__ = [
    "RULES",
    "FixDoc",
    "FixRule",
    "FixVerdict",
    "gold_fix",
    "judge_fix",
    "proposed_faults",
    "read_fix",
    "rule_sentence",
    "targeted_faults",
]

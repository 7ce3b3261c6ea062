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
from collections.abc import Callable, Iterable
from typing import Any, Final

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.faults import FAULT_POOLS
from mlopsdebug_common.tasks import key_version
from mlopsdebug_grader.fix_text import (
    CHANGE_WORDS,
    KEEP_BEFORE,
    MAX_MENTIONS,
    NumberToken,
    ParameterReading,
    Span,
    clause_bounds,
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


def _numeric_verdict(values: Iterable[float], is_safe: Callable[[float], bool], *, mentioned: bool) -> FixVerdict:
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


class _MechanismRule(FixRule):
    """A fault whose fix states a remedy: `_evidence` reads whether the fix names what is at fault, states
    the remedy (right) or keeps the faulty practice (wrong); proposing and judging both follow from it."""

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        """(named, right, wrong); `key` is None when reading key-free (to spot multi-fault fixes)."""
        raise NotImplementedError

    def proposes(self, doc: FixDoc) -> bool:
        named, right, wrong = self._evidence(doc, None)
        return named and (right or wrong)

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc, key)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)


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
_OPTIMIZER_SETTING_AFTER = re.compile(
    r"^(?:'s)?\s*(?:-style\s+|style\s+|default\s+|decoupled\s+)?(?:weight[\s_-]*decay|wd|betas?|eps(?:ilon)?)\b"
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
        " > 0 and <= `safe_max` (1e-2; 0.2 for SGD from v2); a factor (\"divide by 1000\", \"3 orders of magnitude lower\") is applied"
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
            if _OPTIMIZER_SETTING_AFTER.match(span.sentence[span.end : span.end + 40]):
                continue  # "AdamW's weight decay" names a setting of the optimizer in use, not a switch
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


class ScalerFitOnAllData(_MechanismRule):
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


class LabelMappingMismatch(_MechanismRule):
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


class SwappedMetricKeys(_MechanismRule):
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


class TestMetricsOnTrainSplit(_MechanismRule):
    fault_id = "eval_on_train_split"
    summary = (
        "makes the test metrics come from the test split rather than the training split (\"score splits['test'],"
        " not splits['train']\", \"replace the training loader with the test loader\"); scoring the training split"
        " as test earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
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


class EvalLoaderDropsLastBatch(_MechanismRule):
    fault_id = "eval_drop_last"
    # "Keep the last, partial batch" talks about batches without resizing them.
    tolerated = frozenset({"batch_size_overflow"})
    summary = (
        "keeps every sample in evaluation: drop_last=False (or removed) on the evaluation DataLoader, or \"keep the"
        " last, incomplete batch\"; dropping it earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
        named = bool(doc.spans(_DROP_LAST))
        if not named:
            return False, False, False
        right = _any(doc.spans(_DROP_LAST_OFF), negated=False) or _any(doc.spans(_DROP_LAST_ON), negated=True)
        wrong = _any(doc.spans(_DROP_LAST_ON), negated=False) and not right
        return named, right, wrong


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


class WeightedF1ReportedAsMacro(_MechanismRule):
    fault_id = "weighted_f1_as_macro"
    # Reporting the weighted value "under its own name" is part of this remedy, not a metric-key swap.
    tolerated = frozenset({"silent_metric_swap"})
    summary = (
        "makes macro_f1 the unweighted mean of the per-class F1 (average='macro', f1.mean()), or reports the"
        " support-weighted value under its own name; weighting macro_f1 by support earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
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
    r"|\b(?:disabl\w*|turn\w* off|deactivat\w*|switch\w* off)\b.{0,20}\bdropout\b.{0,30}"
    r"\b(?:at|during|for|when|while|in)\b.{0,15}\b(?:eval\w*|inference|scor\w*|test\w*)"
    r"|\b(?:eval(?:uation)?|inference)[- ]mode\b.{0,40}\b(?:before|when|while|during|for)\b.{0,20}\b(?:scor\w*|evaluat\w*|testing|inference)"
)
_EVAL_MODE_OFF = re.compile(
    r"\bmodel\.train\(\s*\)|\b(?:keep|leav\w*|stay\w*|run\w*|evaluat\w*|scor\w*)\b.{0,30}\b(?:in\s+)?train(?:ing)?[- ]mode\b"
)


class ModelScoredInTrainMode(_MechanismRule):
    fault_id = "eval_in_train_mode"
    # "Batch-norm batch statistics" names batches without resizing them, and "dropout off at evaluation" is
    # what eval mode does, not the regularisation change of a dropout fault.
    tolerated = frozenset({"batch_size_overflow", "dropout_too_high"})
    summary = (
        "switches the model to evaluation mode before scoring (model.eval(), \"put the model in eval mode\","
        " \"disable dropout at evaluation\"); keeping it in train mode earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
        named = bool(doc.spans(_EVAL_MODE_NAMED))
        if not named:
            return False, False, False
        right = _any(doc.spans(_EVAL_MODE_ON), negated=False) or _any(doc.spans(_EVAL_MODE_OFF), negated=True)
        wrong = any(not is_negated(s) and _directive(s) for s in doc.spans(_EVAL_MODE_OFF)) and not right
        return named, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Call model.eval() in the scorer before evaluating, so dropout is off and batch norm uses its running statistics."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Put the model in evaluation mode (model.eval()) before scoring."


# ----------------------------------------------------------------------------------------------------
# Regularisation, warmup, scheduler and precision configuration faults

WEIGHT_DECAY = re.compile(r"(?<![a-z])(?:weight[\s_-]*decay|wd|l2[\s_-]*(?:penalty|regulari[sz]ation|decay))\b")
_WEIGHT_DECAY_OFF = re.compile(
    r"\b(?:disabl\w*|remov\w*|turn\w* off|drop\w*|without|no|zero(?: out)?)\s+(?:the\s+)?(?:weight[\s_-]*decay|wd|l2)\b"
    r"|\b(?:weight[\s_-]*decay|wd)\s*(?:=|:|to)?\s*(?:off|none|disabled)\b"
)
DROPOUT = re.compile(
    r"(?<![a-z])(?:\w+_)?(?:dropout(?:[\s_-]*(?:rate|prob\w*|probability|p))?|drop[\s_-]*(?:rate|prob\w*))\b"
)
_DROPOUT_OFF = re.compile(
    r"\b(?:disabl\w*|remov\w*|turn\w* off|without|no)\s+(?:the\s+)?dropout\b|\bdropout\s*(?:=|:|to)?\s*(?:off|none|disabled)\b"
)


def _percent_as_fraction(number: NumberToken) -> float | None:
    return number.value / 100.0 if number.percent else number.value


class _RangeRule(_NumericRule):
    """A numeric parameter that must land in [0, safe_max]; "disable it" counts as 0."""

    off: re.Pattern[str] = _WEIGHT_DECAY_OFF
    convert = staticmethod(lambda number: number.value)

    def _reading(self, doc: FixDoc, key: AnswerKey | None) -> ParameterReading:
        pattern = self.mention if key is None else _with_key_names(self.mention, key)
        bad = None if key is None else float(key.params["bad_value"])
        return read_parameter(doc.sentences, pattern, bad_value=bad, convert=self.convert)

    def _values(self, doc: FixDoc, reading: ParameterReading) -> list[float]:
        return list(reading.values) + [0.0 for span in doc.spans(self.off) if not _negated_before(span)]

    def proposes(self, doc: FixDoc) -> bool:
        return self._reading(doc, None).changed or bool(doc.spans(self.off))

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        reading = self._reading(doc, key)
        safe_max = float(key.params["safe_max"])
        return _numeric_verdict(self._values(doc, reading), lambda v: 0 <= v <= safe_max, mentioned=reading.changed)


class WeightDecayTooHigh(_RangeRule):
    fault_id = "weight_decay_too_high"
    mention = WEIGHT_DECAY
    off = _WEIGHT_DECAY_OFF
    summary = (
        "names the weight decay (weight decay / wd / L2 penalty or the field) and sets it to a value in"
        " [0, `safe_max`] (0.1 for AdamW's decoupled decay, 5e-2 for L2 decay), or removes it; a factor is"
        " applied to the bad value"
    )

    def gold_fix(self, key: AnswerKey) -> str:
        return f"Lower the weight decay to {_fmt(float(key.params['safe_max']) / 10)}."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the weight decay to a value in [0, {_fmt(float(key.params['safe_max']))}]"
            f" (it was {_fmt(key.params['bad_value'])})."
        )


class DropoutTooHigh(_RangeRule):
    fault_id = "dropout_too_high"
    mention = DROPOUT
    off = _DROPOUT_OFF
    convert = staticmethod(_percent_as_fraction)
    summary = (
        "names the dropout (dropout / drop rate or the field) and sets its probability to a value in"
        " [0, `safe_max`] (0.5; \"10%\" reads as 0.1), or removes it"
    )

    def gold_fix(self, key: AnswerKey) -> str:
        return "Set the dropout probability to 0.1."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Set the dropout probability to a value in [0, {_fmt(float(key.params['safe_max']))}]"
            f" (it was {_fmt(key.params['bad_value'])})."
        )


WARMUP = re.compile(r"(?<![a-z])(?:(?:num_)?warm[\s_-]*up\w*|(?:linear|lr|learning[\s-]rate)\s+ramp[\s-]*up)\b")
_WARMUP_ADD = re.compile(
    r"\b(?:add\w*|us(?:e|ing)|enabl\w*|introduc\w*|includ\w*|restor\w*|put back|bring back|re-?add\w*|need\w*"
    r"|configur\w*|set\w*|give|with)\b"
)
_STEPS_AFTER = re.compile(
    r"^\s*-?\s*(?:optimi[sz]er\s+|training\s+|update\s+|gradient\s+)?(?:steps?|iterations?|iters?|updates?|batches)\b"
)
_EPOCHS_AFTER = re.compile(r"^\s*-?\s*epochs?\b")
_RATIO_BEFORE = re.compile(r"(?:ratio|fraction|proportion|share|pct|percent\w*)\W*(?:of|to|=|:|at)?\s*$")
_WARMUP_NUMBER = re.compile(
    r"(?<![\w.])(?P<mantissa>\d+(?:\.\d+)?|\.\d+)(?:e(?P<exp>[-+]?\d+))?\s*(?P<percent>%|percent\b)?"
)
_WARMUP_OLD = re.compile(
    r"(?:\bfrom|\bwas|\bis|\bcurrently|\bcurrent|\binstead of|\brather than|\bnot|\bof the bad)\s*(?:value\s*)?"
    r"(?:of\s*|at\s*|=\s*|:\s*)?$"
)


class MissingWarmup(FixRule):
    fault_id = "missing_warmup"
    # A warmup is naturally described in terms of the learning rate it ramps up to.
    tolerated = frozenset({"exploding_lr"})
    summary = (
        "adds a learning-rate warmup: a number of steps in [`safe_min`, `safe_max`] (a share of the"
        " `total_steps` such as 6% or warmup_ratio 0.1, or epochs, count too), or a warmup without a length;"
        " a length outside the range earns half, keeping warmup at 0 earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, list[float]]:
        """(adds a warmup, the lengths in optimizer steps it proposes)."""
        pattern = WARMUP if key is None else _with_key_names(WARMUP, key)
        total = float(key.params["total_steps"]) if key is not None else 0.0
        per_epoch = float(key.params.get("steps_per_epoch", 0) or 0) if key is not None else 0.0
        adds = False
        lengths: list[float] = []
        for span in doc.spans(pattern):
            if is_negated(span) or KEEP_BEFORE.search(span.sentence[max(0, span.start - 40) : span.start]):
                continue
            sentence = span.sentence
            # Lengths in the warmup's own clause ("num_warmup_steps=500, num_training_steps=10000": 500 only).
            clause_left, clause_right = clause_bounds(sentence, span.start, span.end)
            left = max(clause_left, span.start - 60)
            right = min(clause_right, span.end + 80)
            found = []
            for m in _WARMUP_NUMBER.finditer(sentence, left, right):
                value = float(m.group("mantissa")) * 10.0 ** int(m.group("exp") or 0)
                before, after = sentence[max(0, m.start() - 30) : m.start()], sentence[m.end() : m.end() + 30]
                if _WARMUP_OLD.search(before) or value == 0:
                    continue
                if m.group("percent"):
                    found.append(value / 100.0 * total)
                elif _EPOCHS_AFTER.match(after):
                    found.append(value * per_epoch if per_epoch else total)
                elif value < 1 and (_RATIO_BEFORE.search(before) or "ratio" in sentence[span.start : span.end]):
                    found.append(value * total)
                elif value < 1:
                    continue
                elif _STEPS_AFTER.match(after) or m.start() >= span.end or after.lstrip().startswith(("-step", "step")):
                    found.append(value)
            lengths += found
            # A change verb in the warmup's own clause ("and consider a warmup" after a learning-rate change
            # only muses about one).
            clause = sentence[clause_left:clause_right]
            if found or _WARMUP_ADD.search(clause) or CHANGE_WORDS.search(sentence[clause_left : span.start]):
                adds = True
        return adds, lengths

    def proposes(self, doc: FixDoc) -> bool:
        return self._evidence(doc, None)[0]

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        adds, lengths = self._evidence(doc, key)
        if not adds:
            return FixVerdict(NONE, R_NOT_NAMED)
        if not lengths:
            return FixVerdict(FULL, R_MECHANISM)
        low, high = float(key.params["safe_min"]), float(key.params["safe_max"])
        return _numeric_verdict(lengths, lambda v: low <= v <= high, mentioned=True)

    def gold_fix(self, key: AnswerKey) -> str:
        steps = max(int(key.params["safe_min"]), int(0.06 * float(key.params["total_steps"])))
        return f"Add a linear learning-rate warmup of {steps} steps."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Warm the learning rate up over {key.params['safe_min']} to {key.params['safe_max']} optimizer steps"
            " instead of starting at the peak rate (warmup 0)."
        )


SCHEDULER = re.compile(
    r"\b(?:(?:lr[\s_-]*)?schedul\w*|steplr|exponentiallr|lr_scheduler|interval|learning[\s-]rate decay)\b"
)
_INTERVAL_EPOCH = _patterns(
    r"(?<![a-z])interval\W{0,3}(?:to|=|:|be|is)?\W{0,3}(?:set\s+to\s+)?\W?epoch\b",
    r"(?<![a-z])interval\b.{0,30}?\bto\W{0,3}epoch\b",
    r"\b(?:step\w*|call\w*|updat\w*|advanc\w*|decay\w*|appl\w*|run\w*|invok\w*|trigger\w*)\b(?:\s+[\w.()']+){0,5}?\s+"
    r"(?:once\s+)?(?:per|every|each|at the end of (?:each|every|the)|after (?:each|every|the)|on (?:each|every))\s+"
    r"(?:training\s+)?epoch\b",
    r"\b(?:per|once an?|every|each)[\s-]+epoch\s+(?:scheduler\s+)?(?:stepping|steps?|interval|updates?|decay)\b",
    r"\bepoch[\s-]+(?:level|wise|based)\s+(?:scheduler\s+)?(?:stepping|steps?|interval|updates?|decay|schedul\w*)\b",
)
_INTERVAL_STEP = _patterns(
    r"(?<![a-z])interval\W{0,3}(?:to|=|:|be|is)?\W{0,3}(?:set\s+to\s+)?\W?step\b",
    r"\b(?:step\w*|call\w*|updat\w*|advanc\w*|decay\w*|appl\w*)\b(?:\s+[\w.()']+){0,5}?\s+(?:once\s+)?(?:per|every|each"
    r"|after (?:each|every))\s+(?:training\s+)?(?:batch|step|iteration|optimi[sz]er step)\b",
)
_FROM_BEFORE = re.compile(r"(?:\bfrom|\binstead of|\brather than|\bnot|\bwas|\bcurrently)\s*\W*$")


class SchedulerIntervalMismatch(FixRule):
    fault_id = "scheduler_interval_mismatch"
    summary = (
        "steps the epoch-based scheduler once per epoch (interval: epoch, scheduler.step() at the end of each"
        " epoch, \"don't step it every batch\"); asserting a per-batch interval earns nothing"
    )

    @staticmethod
    def _asserted(doc: FixDoc, pattern: re.Pattern[str]) -> tuple[bool, bool]:
        """(stated, stated negated or as the old value)."""
        stated = negated = False
        for span in doc.spans(pattern):
            before = span.sentence[max(0, span.start - 20) : span.start]
            if is_negated(span) or _FROM_BEFORE.search(before):
                negated = True
            else:
                stated = True
        return stated, negated

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
        epoch_stated, epoch_negated = self._asserted(doc, _INTERVAL_EPOCH)
        step_stated, step_negated = self._asserted(doc, _INTERVAL_STEP)
        right = epoch_stated or step_negated
        wrong = step_stated or epoch_negated
        return bool(doc.spans(SCHEDULER)) or right or wrong, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        _, right, wrong = self._evidence(doc)
        return right or wrong

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Step the learning-rate scheduler once per epoch (interval: epoch)."

    def rule_sentence(self, key: AnswerKey) -> str:
        return (
            f"Step the {key.params['schedule']} scheduler once per epoch (interval epoch) instead of after every batch"
            f" (interval {key.params['bad_value']})."
        )


_SCALER_NAME = (
    r"(?:(?:dynamic\s+|automatic\s+|amp\s+)?loss[\s_-]*scal\w*|(?:torch\.)?(?:cuda\.)?(?:amp\.)?grad(?:ient)?[\s_-]*scal\w*)"
)
_LOSS_SCALING_ON = _patterns(
    rf"\b(?:enabl\w*|turn\w* on|switch\w* on|re-?enabl\w*|add\w*|us(?:e|ing)|restor\w*|put back|bring back|wrap\w*"
    rf"|activat\w*|with)\b(?:\s+[\w.()'-]+){{0,3}}?\s+{_SCALER_NAME}",
    rf"{_SCALER_NAME}\s*(?:back\s+)?(?:=|:|to)?\s*(?:true|on|enabled|dynamic)\b",
    r"\bscal\w*\s+(?:up\s+)?the\s+loss\b",
    rf"{_SCALER_NAME}\s*\((?![^)]*enabled\s*=\s*false)",  # constructing one: GradScaler("cuda")
)
_LOSS_SCALING_OFF = _patterns(
    rf"\b(?:disabl\w*|turn\w* off|switch\w* off|remov\w*|drop\w*|without)\b(?:\s+[\w.()'-]+){{0,3}}?\s+{_SCALER_NAME}",
    rf"{_SCALER_NAME}\s*(?:=|:|to)?\s*(?:false|off|disabled|none)\b",
    rf"{_SCALER_NAME}\s*\([^)]*enabled\s*=\s*false",
)
_WIDER_PRECISION = _patterns(
    r"\b(?:switch\w*|chang\w*|mov\w*|us(?:e|ing)|train\w*|set\w*|go|run\w*|fall\w* back)\b(?:\s+[\w.()'-]+){0,4}?\s+"
    r"(?:to\s+|in\s+|with\s+)?(?:bf16(?:-mixed)?|bfloat16|fp32|float32|32-true|32-bit|full[\s-]precision|single[\s-]precision)\b",
    r"\bprecision\s*(?:=|:|to)\s*[\"']?(?:bf16(?:-mixed)?|bfloat16|32(?:-true)?|fp32)\b",
)
PRECISION = re.compile(r"\b(?:fp16|float16|16-mixed|half[\s-]precision|mixed[\s-]precision|amp|precision)\b")


class Fp16WithoutLossScaling(FixRule):
    fault_id = "fp16_no_loss_scaling"
    summary = (
        "enables loss scaling for fp16 (a GradScaler, grad_scaler: true, dynamic loss scaling) or trains in a"
        " precision that does not underflow (bf16-mixed, fp32); asserting that the scaler stays off earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
        on = [s for s in doc.spans(_LOSS_SCALING_ON)]
        off = [s for s in doc.spans(_LOSS_SCALING_OFF)]
        wider = [s for s in doc.spans(_WIDER_PRECISION)]
        right = any(not is_negated(s) for s in on) or any(not is_negated(s) for s in wider) or any(
            _negated_before(s) for s in off
        )
        wrong = any(not _negated_before(s) for s in off) or any(is_negated(s) for s in on)
        named = bool(doc.spans(PRECISION)) or bool(on or off)
        return named or right or wrong, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        _, right, wrong = self._evidence(doc)
        return right or wrong

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Enable loss scaling (a GradScaler) for fp16 training, or train in bf16-mixed."

    def rule_sentence(self, key: AnswerKey) -> str:
        return f"With precision {key.params['precision']}, enable the gradient scaler (or use bf16/fp32 precision)."


# ----------------------------------------------------------------------------------------------------
# A joined feature derived from the label

FEATURE_SUBJECT = _patterns(
    r"\b(?:columns?|features?|inputs?|predictors?|variables?|fields?|feature list|feature set)\b",
    r"\b(?:join\w*|merg\w*|lookup|enrichment)\b",
)
_REMOVE_VERB = (
    r"\b(?:drop(?!_duplicates)\w*|remov\w*|exclud\w*|delet\w*|strip\w*|eliminat\w*|omit\w*|discard\w*|get rid of"
    r"|tak\w* (?:\S+ ){0,6}?out)\b"
)
_FEATURE_NOUN = r"\b(?:columns?|features?|inputs?|predictors?|variables?|fields?|feature list|feature set)\b"
REMOVE_FEATURE = _patterns(
    # "drop the joined column", "remove X from the inputs" (not "drop the duplicate rows/keys").
    _REMOVE_VERB + r"(?!\s+(?:the\s+|all\s+|any\s+)?(?:duplicat|repeat))(?:(?!duplicat|repeat).){0,60}?" + _FEATURE_NOUN,
    r"\bstop\w*\s+(?:merg|join|us|feed|includ)\w*",
    r"\bonly\b.{0,60}\b(?:available|known|exist\w*|recorded)\b.{0,40}\b(?:prediction|inference|serving|scoring|decision"
    r"|before the outcome|before the label)",
    r"\brestrict\w*\b.{0,40}\b(?:available|known)\b",
)
LABEL_DERIVED = re.compile(
    r"\b(?:derived|computed|built|calculated|made|recorded)\s+(?:from|after)\s+(?:the\s+)?(?:label|target|outcome)"
    r"|\b(?:label|target|outcome)[\s-]+(?:derived|dependent|based)\b|\b(?:encodes?|leaks?|reveals?)\s+(?:the\s+)?(?:label|target)"
)
USE_FEATURE = _patterns(r"\b(?:use|feed|includ\w*|merg\w*|join\w*)\b.{0,60}(?:" + LABEL_DERIVED.pattern + ")")
FILL_ON_TEST = _patterns(
    r"\b(?:fill\w*|imput\w*|backfill\w*|populat\w*|add\w*|join\w*|merg\w*|provid\w*|recompute\w*)\b.{0,60}"
    r"\b(?:to|into|in|for|on)\s+(?:the\s+)?(?:test|frozen test|held[\s-]*out)\b",
    r"\bkeep\w*\b.{0,40}\b(?:columns?|features?)\b.{0,40}\b(?:label|target|outcome)",
)


class TargetDerivedFeature(FixRule):
    fault_id = "target_derived_feature"
    summary = (
        "removes the label-derived input: drop or exclude the joined column from the features (or stop merging"
        " it), or use only features known at prediction time; filling the column in for the test rows or"
        " keeping it earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        subject = FEATURE_SUBJECT if key is None else _with_key_names(FEATURE_SUBJECT, key)
        relevant = tuple(s for s in doc.sentences if subject.search(s) or LABEL_DERIVED.search(s))
        if not relevant:
            return False, False, False
        doc = FixDoc(doc.text, relevant)
        named_cause = any(subject.search(s) for s in relevant)
        removal = REMOVE_FEATURE
        names = literal_pattern(_key_names(key)) if key is not None else None
        if names is not None:  # "drop activity_score"
            removal = re.compile(f"{REMOVE_FEATURE.pattern}|{_REMOVE_VERB}(?:\\s+\\S+){{0,3}}?\\s+(?:{names.pattern})")
        right = named_cause and (
            _any(doc.spans(removal), negated=False) or _any(doc.spans(USE_FEATURE), negated=True)
        )
        wrong = _any(doc.spans(FILL_ON_TEST), negated=False)
        return True, right, wrong

    def proposes(self, doc: FixDoc) -> bool:
        named, right, _ = self._evidence(doc, None)
        return named and right

    def judge(self, doc: FixDoc, key: AnswerKey) -> FixVerdict:
        named, right, wrong = self._evidence(doc, key)
        return _mechanism_verdict(right=right, wrong=wrong, named=named)

    def gold_fix(self, key: AnswerKey) -> str:
        return "Drop the joined column derived from the label from the model's features and retrain on features known at prediction time."

    def rule_sentence(self, key: AnswerKey) -> str:
        return f"Remove {key.params['column']} (derived from the label) from the features, or stop merging it in."


# ----------------------------------------------------------------------------------------------------
# Random augmentations at evaluation

# "random" only as an augmentation: random crops/flips/ops, RandomResizedCrop, "randomly" (not RandomOverSampler).
_RANDOM_OP = (
    r"random(?:ly|[\s_-]*(?:resized)?[\s_-]*crops?\w*|[\s_-]*(?:horizontal|vertical)?[\s_-]*flips?\w*|[\s_-]+augment\w*"
    r"|[\s_-]+transforms?|[\s_-]+ops?|[\s_-]+operations?|augment)"
)
AUGMENTATION = re.compile(
    r"\b(?:augment\w*|" + _RANDOM_OP + r"|randaugment|trivialaugment\w*|colorjitter|jitter\w*|crop\w*|flip\w*|train_transform"
    r"|training (?:transforms?|augmentations?|pipeline))\b"
)
EVAL_SIDE = re.compile(r"\b(?:val\w*|eval\w*|test\w*|inference|held[\s-]*out)\b")
DETERMINISTIC_EVAL = re.compile(r"\b(?:deterministic|center[\s_-]?crop\w*|centercrop|centre[\s_-]?crop\w*)\b")
REMOVE_AUG = re.compile(
    r"\b(?:remov\w*|drop\w*|strip\w*|delet\w*|disabl\w*|turn\w* off|eliminat\w*|get rid of|without|no)\b"
)
TRAIN_ONLY_AUG = _patterns(
    r"\b(?:augment\w*|" + _RANDOM_OP + r"|crop\w*|flip\w*)\b.{0,60}\b(?:only|solely|exclusively)\b.{0,20}\btrain\w*",
    r"\bonly\b.{0,30}\b(?:to|on|for|in|during)\s+(?:the\s+)?train\w*",
    r"\b(?:augment\w*|" + _RANDOM_OP + r"|crop\w*|flip\w*)\b.{0,40}\b(?:in|to|for|on)\s+(?:the\s+)?train\w*(?:\s+\w+)?\s+only\b",
    r"\b(?:belongs?|reserved?)\s+(?:in|to|for)\s+(?:the\s+)?train\w*",
)
APPLY_AUG_TO_EVAL = _patterns(
    r"\b(?:augment\w*|" + _RANDOM_OP + r"|crop\w*|flip\w*|train_transform|training (?:transforms?|augmentations?))\b.{0,50}?"
    r"\b(?:val\w*|eval\w*|test\w*)\b",
    r"\b(?:eval\w*|val\w*|test\w*)\b.{0,30}?\b(?:call\w*|reus\w*|us\w*|appl\w*|includ\w*)\s+(?:the\s+)?"
    r"(?:train_transform|training (?:transforms?|augmentations?)|augment\w*|" + _RANDOM_OP + r")",
)
APPLY_VERB = re.compile(r"\b(?:apply|applies|use|add|keep|reuse|enable|include)\w*\b")


class EvalRandomAugmentation(_MechanismRule):
    fault_id = "eval_random_augmentation"
    summary = (
        "makes evaluation inputs deterministic: no random crops, flips or training augmentations in the"
        " validation/test transform (resize and centre-crop), augmentation on the training split only;"
        " applying the augmentations to validation or test earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        # The evaluation transform is a name of the thing at fault even when the key names the config.yaml flag
        # that selects it (version 3); on version 2 keys it is the canonical field anyway.
        names = literal_pattern((*_key_names(key), "eval_transform")) if key is not None else None
        named = right = wrong = False
        for sentence in doc.sentences:
            aug = bool(AUGMENTATION.search(sentence)) or (names is not None and bool(names.search(sentence)))
            evaluation_side = bool(EVAL_SIDE.search(sentence))
            if not (aug or (evaluation_side and DETERMINISTIC_EVAL.search(sentence))):
                continue
            named = True
            single = FixDoc(doc.text, (sentence,))
            right_here = (
                (evaluation_side and bool(DETERMINISTIC_EVAL.search(sentence)))
                or (aug and evaluation_side and bool(REMOVE_AUG.search(sentence)))
                or (aug and _any(single.spans(TRAIN_ONLY_AUG), negated=False))
                or _any(single.spans(APPLY_AUG_TO_EVAL), negated=True)
            )
            right = right or right_here
            if not right_here and APPLY_VERB.search(sentence) and _any(single.spans(APPLY_AUG_TO_EVAL), negated=False):
                wrong = True
        return named, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Evaluate with a deterministic transform (resize and centre crop); keep random crops and flips in training only."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Remove the random crops and flips from the validation/test transform: resize and centre-crop only."


# ----------------------------------------------------------------------------------------------------
# Oversampling before the split

RESAMPLE = (
    r"(?:(?:over|up|re)[\s-]?sampl\w*|smote\w*|randomoversampler|fit_resample|(?:re)?balanc\w*\s+(?:the\s+)?"
    r"(?:minority\s+)?class\w*|(?!max_train_sampl)\w*(?:sampl|balanc)\w*_\w+|(?!max_train_sampl)\w+_(?:sampl|balanc)\w*)"
)
_SPLIT_WORD = r"(?:split\w*|train_test_split|partition\w*)"
_TRAIN_PART = (
    r"(?:x_train|y_train|train_df|train_part|train_split|train(?:ing)?(?:\s+(?:split|set|data|portion|fold|part|rows"
    r"|partition|subset))?)"
)
RESAMPLE_SUBJECT = re.compile(r"\b" + RESAMPLE + r"\b")
RESAMPLE_RIGHT = _patterns(
    r"\b" + _SPLIT_WORD + r"\b.{0,50}\b(?:before|prior to|first|then)\b.{0,50}\b" + RESAMPLE,
    r"\b" + RESAMPLE + r"\b.{0,60}\bafter\b.{0,30}\b" + _SPLIT_WORD,
    r"\bafter\b.{0,30}\b" + _SPLIT_WORD + r"\b.{0,60}\b" + RESAMPLE,
    r"\b" + RESAMPLE + r"\b.{0,60}\b(?:on|to|in|inside|within|of)\s+(?:the\s+|each\s+)?" + _TRAIN_PART + r"\b",
    r"\bonly\b.{0,30}\b" + _TRAIN_PART + r"\b.{0,40}\b" + RESAMPLE,
)
RESAMPLE_WRONG = _patterns(
    r"\b" + RESAMPLE + r"\b.{0,60}\b(?:before|prior to)\b.{0,30}\b" + _SPLIT_WORD,
    r"\b" + RESAMPLE + r"\b.{0,40}\b(?:whole|entire|full|all|complete|unsplit)\s+(?:of\s+)?(?:the\s+)?"
    r"(?:data\w*|pool|table|rows|set)",
    r"\b" + RESAMPLE + r"\s+(?:the\s+)?(?:val\w*|validation|test)\b",
)


class OversampledBeforeSplit(_MechanismRule):
    fault_id = "oversample_before_split"
    summary = (
        "oversamples after the split, on the training split only: \"split first, then oversample\","
        " \"apply RandomOverSampler to the training rows only\"; resampling the whole pool, before the split or"
        " the validation/test data earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        subject = RESAMPLE_SUBJECT if key is None else _with_key_names(RESAMPLE_SUBJECT, key)
        relevant = tuple(s for s in doc.sentences if subject.search(s))
        if not relevant:
            return False, False, False
        doc = FixDoc(doc.text, relevant)
        right = _any(doc.spans(RESAMPLE_RIGHT), negated=False) or _any(doc.spans(RESAMPLE_WRONG), negated=True)
        wrong = _any(doc.spans(RESAMPLE_WRONG), negated=False)
        return True, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Split first, then oversample the training split only; never resample before the split."

    def rule_sentence(self, key: AnswerKey) -> str:
        return f"Call {key.field} after the split, on the training split only, not on the pool before it."


# ----------------------------------------------------------------------------------------------------
# A join that repeats rows

JOIN_SUBJECT = re.compile(r"\b(?:join\w*|merg\w*|lookup\w*|look-up|right[\s-]hand table|tables?|keys?|load_table)\b")
ONE_ROW_PER_KEY = _patterns(
    r"\b(?:drop_duplicates|de-?dup\w*|(?:drop|remov|delet|eliminat)\w*\s+(?:the\s+)?(?:duplicate[ds]?|repeated)\s+"
    r"(?:keys?|ids?|rows?|records?|entries))\b",
    r"\b(?:one|a single|single|only one|exactly one)\s+(?:row|record|entry|snapshot)s?\s+(?:per|for each|by)\b",
    r"\bvalidate\s*=\s*\W?(?:many_to_one|m:1|one_to_one|1:1)\b|\bmany[\s_-]to[\s_-]one\b",
    r"\b(?:aggregat|collaps|reduc|group)\w*\b.{0,60}\b(?:one|single|per|each|latest|most recent)\b.{0,20}"
    r"\b(?:row|record|key|id|entry|snapshot)s?\b",
    r"\b(?:latest|most recent|last)\s+(?:row|record|snapshot|entry)\s+(?:per|for each|by)\b",
    r"\bunique\s+(?:keys?|ids?)\b",
    r"\bload_table\b",
)
KEEP_REPEATS = _patterns(
    r"\b(?:keep|allow|retain)\w*\s+(?:all\s+|the\s+)?(?:duplicate[ds]?|repeated)\s+(?:keys?|ids?|rows?)",
)


class JoinRepeatsRows(_MechanismRule):
    fault_id = "join_duplicate_rows"
    # Deduplicating by id is also what the overlap rule reads as its remedy for duplicated sources.
    tolerated = frozenset({"data_leakage_overlap"})
    summary = (
        "reduces the joined lookup table to one row per id before the merge: drop_duplicates on the key,"
        " the latest record per id, validate='many_to_one', loading it through load_table; keeping the repeated"
        " keys earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        names = literal_pattern(_key_names(key)) if key is not None else None
        relevant = tuple(
            s for s in doc.sentences if JOIN_SUBJECT.search(s) or (names is not None and names.search(s))
        )
        if not relevant:
            return False, False, False
        doc = FixDoc(doc.text, relevant)
        right = _any(doc.spans(ONE_ROW_PER_KEY), negated=False)
        wrong = _any(doc.spans(KEEP_REPEATS), negated=False)
        return True, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Reduce the lookup table to a single row per key before merging it, so the join cannot repeat rows."

    def rule_sentence(self, key: AnswerKey) -> str:
        return f"Reduce {key.params['table']} to one row per id (drop_duplicates on the key) before the merge."


# ----------------------------------------------------------------------------------------------------
# Image normalisation statistics computed on the test images

PIXEL_STATS = re.compile(
    r"\b(?:pixel\w*|channel\w*|image\w*|imagenet|rgb|transforms\.normali[sz]e|channel_stats)\b"
)
NORM_WORDS = re.compile(
    r"\b(?:normali[sz]\w*|mean\w*|std\w*|standard deviations?|statistics|stats|channel_stats)\b"
)
FIXED_CONSTANTS = _patterns(
    r"\b(?:published|imagenet|fixed|precomputed|known|constant)\b.{0,40}\b(?:means?|std\w*|statistics|stats|constants"
    r"|values)\b",
)
TRAIN_MANIFEST = _patterns(r"\b(?:train|training)\s+(?:manifest|images|split|set|data)\b", r"\bchannel_stats\W+train\b")
TEST_MANIFEST_FIT = _patterns(
    r"\b(?:fit\w*|comput\w*|estimat\w*|measur\w*|calculat\w*|deriv\w*|read\w*|point\w*|use\w*|take\w*)\b.{0,50}?"
    r"\b(?:on|from|over|of|at|to)\s+(?:the\s+)?(?:test|held[\s-]*out|evaluation)(?:\s+(?:manifest|images|split|set|data))?\b",
)


class NormalisationFromTest(_MechanismRule):
    fault_id = "normalization_from_test"
    # Its remedy is the scaler's in image terms ("statistics of the training split"): that rule reads it too.
    tolerated = frozenset({"data_leakage_scaler"})
    summary = (
        "computes the images' per-channel mean/std on the training images (or uses fixed published/ImageNet"
        " constants) instead of the test manifest; computing them on test data earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None) -> tuple[bool, bool, bool]:
        # Not the key's names: its aliases (MEAN, STD) are words every normalisation fix uses.
        relevant = tuple(s for s in doc.sentences if PIXEL_STATS.search(s) and NORM_WORDS.search(s))
        if not relevant:
            return False, False, False
        doc = FixDoc(doc.text, relevant)
        right = (
            _any(doc.spans(TRAIN_SCOPE), negated=False)
            or _any(doc.spans(TRAIN_MANIFEST), negated=False)
            or _any(doc.spans(FIXED_CONSTANTS), negated=False)
            or _any(doc.spans(TEST_MANIFEST_FIT), negated=True)
        )
        wrong = _any(doc.spans(TEST_MANIFEST_FIT), negated=False)
        return True, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Compute the images' per-channel pixel statistics from the training manifest only, never from the test manifest."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Compute Normalize's channel statistics on the training images (or use fixed constants), never on the test images."


_SHUFFLE = re.compile(r"\bshuffl\w*")
_SHUFFLE_NAMED = re.compile(
    r"\bshuffl\w*|\b(?:labels?|targets?)\b.{0,60}\b(?:batch\w*|loader)\b"
    r"|\border\b.{0,40}\b(?:eval\w*|scor\w*|loader|split|data|metric\w*)|\b(?:eval\w*|scor\w*|loader|split|data)\b.{0,40}\border\b"
)
_SHUFFLE_OFF = re.compile(
    r"\bshuffle\s*(?:=|:|to|as|->)?\s*(?:false|0|off|no)\b"
    r"|\b(?:remov\w*|disabl\w*|delet\w*|turn\w* off|drop\w*|get rid of|stop\w*)\b.{0,25}\bshuffl\w*"
    r"|\b(?:tak\w*|collect\w*|read\w*|get\w*|us(?:e|ing)|gather\w*)\b.{0,30}\b(?:labels?|targets?)\b.{0,30}"
    r"\b(?:from|with|in)\b.{0,15}\b(?:the\s+)?(?:same\s+)?(?:batch\w*|loader)"
    r"|\b(?:keep|preserv\w*|fix\w*|same)\b.{0,40}\border\b"
)
_SHUFFLE_ON = re.compile(r"\bshuffle\s*(?:=|:|to|as|->)?\s*(?:true|1|on|yes)\b")
_EVAL_CONTEXT = re.compile(r"\b(?:eval\w*|val\w*|test\w*|scor\w*|metric\w*)\b")


class ShuffledEvalLoader(_MechanismRule):
    fault_id = "eval_loader_shuffled"
    # "Labels from the same batches" talks about batches without resizing them.
    tolerated = frozenset({"batch_size_overflow"})
    summary = (
        "keeps predictions and labels paired: shuffle=False on the evaluation DataLoader, or the targets"
        " taken from the same batches; shuffling the evaluation data earns nothing"
    )

    def _evidence(self, doc: FixDoc, key: AnswerKey | None = None) -> tuple[bool, bool, bool]:
        named = bool(doc.spans(_SHUFFLE_NAMED))
        if not named:
            return False, False, False
        right = (
            _any(doc.spans(_SHUFFLE_OFF), negated=False)
            or _any(doc.spans(_SHUFFLE_ON), negated=True)
            or _any(doc.spans(_SHUFFLE), negated=True)  # "don't shuffle the eval loader"
        )
        # Shuffling is right for a training loader: only shuffling what is evaluated keeps the fault.
        wrong = not right and any(
            not is_negated(s) and _EVAL_CONTEXT.search(s.sentence) for s in doc.spans(_SHUFFLE_ON)
        )
        return named, right, wrong


    def gold_fix(self, key: AnswerKey) -> str:
        return "Set shuffle=False on the evaluation DataLoader so predictions stay in the order of the targets."

    def rule_sentence(self, key: AnswerKey) -> str:
        return "Do not shuffle the evaluation loader (or take the targets from the same batches as the predictions)."


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
        ShuffledEvalLoader(),
        WeightDecayTooHigh(),
        MissingWarmup(),
        SchedulerIntervalMismatch(),
        DropoutTooHigh(),
        Fp16WithoutLossScaling(),
        TargetDerivedFeature(),
        EvalRandomAugmentation(),
        OversampledBeforeSplit(),
        JoinRepeatsRows(),
        NormalisationFromTest(),
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
    """The faults of the key's task version (by the generator that made the key)."""
    return RULE_SETS[key_version(key.task_id, key.generator_version)]


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

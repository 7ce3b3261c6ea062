"""Reading a free-text fix: sentences, clauses, negation, numbers and the values a fix gives a parameter.

The fix rules ask questions about meaning ("which value does this fix give the learning rate?",
"is this statement negated?"); this module answers them with small, deterministic, documented
heuristics so that paraphrases agree and keyword lists do not.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Final

_SUPERSCRIPT_RUN = re.compile(r"[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+")
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_CHAR_MAP = {
    0x2212: "-",  # minus sign
    0x2010: "-",
    0x2011: "-",
    0x2013: " - ",  # en dash
    0x2014: " - ",  # em dash
    0x00D7: "x",  # multiplication sign
    0x2018: "'",
    0x2019: "'",
    0x201C: '"',
    0x201D: '"',
    0x2192: " -> ",
    0x21D2: " -> ",
    0x2264: " <= ",
    0x2265: " >= ",
    0x2248: " ~ ",
}
_ABBREVIATIONS = (("e.g.", "eg"), ("i.e.", "ie"), ("etc.", "etc"), ("vs.", "vs"), ("approx.", "approx"))
_SCI_WITH_MANTISSA = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:x|\*)\s*10\s*(?:\^|\*\*)\s*(?:\(\s*([-+]?\d+)\s*\)|([-+]?\d+))")
_SCI_POWER_OF_TEN = re.compile(r"(?<![\w.])10\s*(?:\^|\*\*)\s*(?:\(\s*([-+]?\d+)\s*\)|([-+]?\d+))")
_NUMBER_WORDS = {"zero": "0", "none": "0"}
_SENTENCE_BREAK = re.compile(r"(?<=[!?;])\s+|(?<=\.)\s+|\n+")


def normalise(text: str) -> str:
    """Lower-cases and canonicalises symbols and number notation (1x10^-3, 10⁻³ -> 1e-3), keeps line breaks."""
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group().translate(_SUPERSCRIPTS), text)
    text = unicodedata.normalize("NFKC", text).translate(_CHAR_MAP).lower()
    for abbreviation, short in _ABBREVIATIONS:
        text = text.replace(abbreviation, short)
    text = _SCI_WITH_MANTISSA.sub(lambda m: f"{m.group(1)}e{m.group(2) or m.group(3)}", text)
    text = _SCI_POWER_OF_TEN.sub(lambda m: f"1e{m.group(1) or m.group(2)}", text)
    text = re.sub(r"\bto (zero|none)\b", lambda m: "to " + _NUMBER_WORDS[m.group(1)], text)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return text


def split_sentences(text: str) -> tuple[str, ...]:
    """Sentences of normalised text: split at . ! ? ; followed by space, and at line breaks."""
    return tuple(s.strip() for s in _SENTENCE_BREAK.split(text) if s and s.strip())


# Clause boundaries limit how far a negation reaches ("don't fit on all data, fit on train").
_CLAUSE_BREAK = re.compile(
    r",|:(?!\s*[\d.])|\(|\)|\[|\]| - |\bbut\b|\band\b|\bor\b|\bwhile\b|\bwhereas\b|\bthen\b|\bso\b|\bbecause\b"
    r"|\bwhich\b|\bsince\b|\bthough\b|\bhowever\b|\bthat way\b"
)
_NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|no|nor|neither|without|instead of|rather than|avoid\w*|stop\w*|no longer|against"
    r"|cannot|refrain from)\b|n't\b|\bdont\b|\bdoesnt\b|\bshouldnt\b|\bmustnt\b|\bisnt\b|\barent\b"
)
_NEGATION_AFTER = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:is|are|was|were|should|must|can|may|will|does|do|did)?\s*(?:not\b|never\b|n't\b)"
    r"|^\W*(?:\w+\W+){0,3}?(?:isn't|aren't|shouldn't|mustn't|can't|won't|doesn't|don't)\b"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """A match inside one sentence: where it is and what it says."""

    sentence: str
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.sentence[self.start : self.end]


# How far a clause may reach on either side of a match. Bounded so that reading stays linear in the text
# length even for adversarial input (thousands of mentions in one 4,000-character "sentence").
CLAUSE_REACH: Final[int] = 160
# Mentions of one parameter examined per sentence; more than this is not a fix anyone writes.
MAX_MENTIONS: Final[int] = 40


def clause_bounds(sentence: str, start: int, end: int) -> tuple[int, int]:
    """The clause around [start, end): from the last clause break before it to the first one after."""
    left = max(0, start - CLAUSE_REACH)
    for m in _CLAUSE_BREAK.finditer(sentence, left, start):
        left = m.end()
    right = min(len(sentence), end + CLAUSE_REACH)
    m = _CLAUSE_BREAK.search(sentence, end, right)
    if m:
        right = m.start()
    return left, right


def is_negated(span: Span) -> bool:
    """A negation cue earlier in the same clause ("not on all data"), or a negated verb right after it."""
    left, right = clause_bounds(span.sentence, span.start, span.end)
    if _NEGATION_BEFORE.search(span.sentence[left : span.start]):
        return True
    return bool(_NEGATION_AFTER.search(span.sentence[span.end : right]))


def find_spans(sentences: tuple[str, ...], pattern: re.Pattern[str]) -> Iterator[Span]:
    for sentence in sentences:
        for m in itertools.islice(pattern.finditer(sentence), MAX_MENTIONS):
            yield Span(sentence, m.start(), m.end())


# ----------------------------------------------------------------------------------------------------
# Numbers and parameter values

_NUMBER = re.compile(
    r"(?<![\w.])(?P<mantissa>\d+(?:\.\d+)?|\.\d+)(?:e(?P<exp>[-+]?\d+))?"
    r"(?:\s*(?P<percent>%|percent\b|per cent\b)|(?P<factor>\s*x|\s*times|\s*-?fold)(?=\W|$))?"
    r"(?![\w])(?!\.\d)"
)
_ORDERS_OF_MAGNITUDE = re.compile(
    r"\b(?P<n>\d+|one|two|three|four|five|six)\s+orders?\s+of\s+magnitude\b"
)
_ORDER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}

# Words that make a number an old or current value rather than a proposal.
_OLD_CUE_BEFORE = re.compile(
    r"(?:\bfrom|\bwas|\bwere|\bcurrently|\bcurrent|\bpreviously|\boriginally|\bold|\binstead of|\brather than"
    r"|\bnot|n't|\bno longer|\bexisting|\bof the bad|\bbad|\bclose to|\bnear|\bapproach\w*|\bequal to"
    r"|\bthe same as)\s*(?:value\s*)?(?:of\s*|at\s*|=\s*|:\s*)?$"
)
_OLD_CUE_AFTER = re.compile(
    r"^\s*(?:->|=>|is too|was too|is far too|was far too|is way too|is much too|is the problem|is wrong"
    r"|is what|caus|made|makes|blew|blows|diverg|explod|exceed|is larger|is bigger|is greater|is more|is above"
    r"|is over|are too|is bad|is invalid|is unsafe|\) is too|\bis\b\s*(?:\w+\s+)?too)"
)
_UPPER_BOUND_BEFORE = re.compile(
    r"(?:\bbelow|\bunder|\bless than|\blower than|\bsmaller than|\bat most|\bup to|<=|<|\bno more than"
    r"|\bno larger than|\bno higher than|\bno greater than|\bnot exceed(?:ing)?|\bnot above|\bmax(?:imum)? of"
    r"|\bnot more than|\bnot larger than|\bnot higher than|\bnot greater than|\bcap(?:ped)? at|\bcap it at"
    r"|\bwithin)\s*(?:the\s+|about\s+|around\s+|roughly\s+|~\s*)?$"
)
_LOWER_BOUND_BEFORE = re.compile(
    r"(?:\babove|\bover|\bmore than|\bgreater than|\bhigher than|\blarger than|\bat least|>=|(?<![-=])>)\s*(?:the\s+)?$"
)
_FACTOR_BEFORE = re.compile(r"(?:\bby(?: a factor of)?|\bfactor of|\bdivided by|\bdivide by|\btimes)\s*$")
DOWN_WORDS = re.compile(
    r"\b(?:lower\w*|reduc\w*|decreas\w*|drop\w*|cut\w*|divid\w*|shrink\w*|smaller|less|decay\w*|bring\w* down"
    r"|down|scal\w* down|tone down|dial\w* down|halv\w*)\b"
)
UP_WORDS = re.compile(r"\b(?:increas\w*|rais\w*|higher|larger|bigger|bump\w* up|multipl\w*|doubl\w*|grow\w*)\b")
CHANGE_WORDS = re.compile(
    r"\b(?:set\w*|chang\w*|lower\w*|reduc\w*|decreas\w*|drop\w*|cut\w*|divid\w*|increas\w*|rais\w*|bump\w*"
    r"|tun\w*|adjust\w*|fix\w*|correct\w*|us(?:e|ing)|try|switch\w*|replac\w*|mov\w*|shrink\w*|halv\w*"
    r"|pick|choose|make|configur\w*|put|lower|smaller|limit\w*|cap\w*|clamp\w*|restor\w*|revert\w*"
    r"|bring\w*|update\w*|modify\w*|edit\w*|disabl\w*|remov\w*)\b|=|->|:\s*[\d.]"
)
# "keep the momentum", "leave lr as is": the parameter is named but not changed.
KEEP_BEFORE = re.compile(r"\b(?:keep\w*|leav\w*|retain\w*)\s+(?:the\s+|its\s+|their\s+|current\s+|existing\s+)*$")
KEEP_AFTER = re.compile(
    r"^\s*(?:[\w.]+\s+){0,3}?(?:unchanged|as is|as-is|untouched|alone|is fine|are fine|is ok|looks fine|stays?"
    r"|can stay|is not the problem|isn't the problem)\b"
)


@dataclasses.dataclass(frozen=True, slots=True)
class NumberToken:
    """A number as written, with its place in the sentence and any suffix that qualifies it."""

    value: float
    start: int
    end: int
    percent: bool
    factor: bool


def numbers_in(sentence: str, start: int = 0, end: int | None = None) -> list[NumberToken]:
    out = []
    for m in _NUMBER.finditer(sentence, start, len(sentence) if end is None else end):
        try:
            value = float(m.group("mantissa")) * (10.0 ** int(m.group("exp") or 0))
        except OverflowError:
            value = math.inf
        out.append(NumberToken(value, m.start(), m.end(), m.group("percent") is not None, bool(m.group("factor"))))
    return out


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


@dataclasses.dataclass(frozen=True, slots=True)
class ParameterReading:
    """What a fix says about one numeric parameter.

    `values` are proposed values (explicit, derived from a factor, or an upper bound); `mentioned` is true
    when the parameter is named outside a negation or a "keep it" phrase; `changed` when such a mention
    comes with a change verb (earlier in its sentence), a direction word or a value. Only a change earns
    partial credit or counts as a proposal: a bare list of parameter names proposes nothing.
    """

    mentioned: bool
    changed: bool
    values: tuple[float, ...]
    direction: int  # -1 lower, +1 higher, 0 unknown


# Every numeric parameter a fix might talk about, so that a value is attributed to the nearest one.
_ALL_PARAMETERS = re.compile(
    r"\b(?:learning[\s_-]*rates?|(?:base_|max_|init_|initial_|peak_)?lrs?|step[\s_-]*sizes?|momentum|beta[12]?"
    r"|(?:mini[\s_-]?)?batch(?![\s_-]*norm)(?:[\s_-]*sizes?)?|bs|\w*batch_size"
    r"|test[\s_-]*(?:size|split|fraction|ratio|proportion|share|portion|set)|(?:val|validation|eval)[\s_-]*"
    r"(?:size|split|fraction|ratio|proportion|share|portion|set)|hold[\s_-]*out|held[\s_-]*out"
    r"|train(?:ing)?[\s_-]*(?:size|split|fraction|ratio|proportion|share|portion|set)|train(?:ing)? on|remaining"
    r"|the rest|(?:evaluat|test|validat|scor)\w* on|reserv\w*|set aside|put aside|hold back|allocat\w*"
    r"|epochs?|warm[\s_-]*up\w*|weight[\s_-]*decay|dropout|seed|clip\w*|grad(?:ient)?[\s_-]*norm\w*|steps?"
    r"|eps(?:ilon)?|num_workers|workers|patience|label[\s_-]*smoothing|hidden[\s_-]*size|layers|heads"
    r"|max[\s_-]*len(?:gth)?|sequence[\s_-]*length|gamma|decay)\b"
)
_UNIT_AFTER = re.compile(
    r"^\s*(?:epochs?|steps?|iterations?|iters?|warm-?up|hours?|h\b|minutes?|mins?|seconds?|secs?|s\b|gb|mb|kb"
    r"|layers?|gpus?|nodes?|workers?|classes|heads?|tokens?|dims?|dimensions?|px|pixels?|orders?|times\b)"
)


def read_parameter(
    sentences: tuple[str, ...],
    mention: re.Pattern[str],
    *,
    bad_value: float | None = None,
    convert: Callable[[NumberToken], float | None] = lambda n: n.value,
    exclude_after: re.Pattern[str] | None = None,
) -> ParameterReading:
    """Finds the parameter's mentions and the values proposed for it.

    A value belongs to a mention when it lies between the mention and the next parameter mention in the
    same sentence (or right before the mention: "a 1e-3 learning rate"). Values equal to the bad value,
    or introduced as the old one ("from 2.5", "instead of 0.8", "2.5 -> ..."), are not proposals. A
    factor ("divide it by 100", "100x lower", "two orders of magnitude") is applied to the bad value.
    """
    mentioned = changed = False
    values: list[float] = []
    direction = 0
    carry = False  # the previous sentence ended on this parameter ("lr is too high; set it to 1e-3")
    for sentence in sentences:
        boundaries = sorted({m.start() for m in _ALL_PARAMETERS.finditer(sentence)})
        own = list(itertools.islice(mention.finditer(sentence), MAX_MENTIONS))
        if not own and not boundaries:
            if carry:
                local_direction = _direction(sentence)
                found = _values_in(sentence, 0, len(sentence), bad_value, convert, exclude_after, local_direction)
                values += found
                direction = direction or local_direction
                changed = changed or bool(found)
            carry = False
            continue
        last_other = max((m.end() for m in _ALL_PARAMETERS.finditer(sentence)), default=-1)
        last_own = max((m.end() for m in own), default=-1)
        carry = last_own >= last_other
        for m in own:
            span = Span(sentence, m.start(), m.end())
            clause_left, clause_right = clause_bounds(sentence, m.start(), m.end())
            before = sentence[clause_left : m.start()]
            if is_negated(span) or KEEP_BEFORE.search(before) or KEEP_AFTER.match(sentence[m.end() : clause_right]):
                continue
            mentioned = True
            window_end = min(next((b for b in boundaries if b >= m.end()), len(sentence)), m.end() + CLAUSE_REACH)
            window = sentence[m.end() : window_end]
            local_direction = _direction(before + " " + window)
            direction = direction or local_direction
            found = _values_in(
                sentence, m.end(), window_end, bad_value, convert, exclude_after, local_direction
            )
            found += _value_just_before(sentence, m.start(), boundaries, bad_value, convert)
            values += found
            # A change verb anywhere earlier in the sentence governs lists: "reduce lr, momentum and batch size".
            earlier = sentence[max(0, m.start() - 2 * CLAUSE_REACH) : m.start()]
            if found or local_direction or CHANGE_WORDS.search(earlier) or CHANGE_WORDS.search(window):
                changed = True
    return ParameterReading(mentioned, changed, tuple(values), direction)


def _direction(text: str) -> int:
    down, up = bool(DOWN_WORDS.search(text)), bool(UP_WORDS.search(text))
    if down and not up:
        return -1
    if up and not down:
        return 1
    return 0


def _values_in(
    sentence: str,
    start: int,
    end: int,
    bad_value: float | None,
    convert: Callable[[NumberToken], float | None],
    exclude_after: re.Pattern[str] | None,
    direction: int,
) -> list[float]:
    values: list[float] = []
    window = sentence[start:end]
    for order in _ORDERS_OF_MAGNITUDE.finditer(window):
        n = order.group("n")
        factor = 10.0 ** (int(n) if n.isdigit() else _ORDER_WORDS[n])
        if bad_value is not None:
            values.append(bad_value * factor if direction > 0 else bad_value / factor)
    for number in numbers_in(sentence, start, end):
        before = sentence[max(0, number.start - 40) : number.start]
        after = sentence[number.end : number.end + 40]
        if _UNIT_AFTER.match(after) and not number.factor:
            continue
        if exclude_after is not None and exclude_after.match(after):
            continue
        if number.factor or _FACTOR_BEFORE.search(before):
            if bad_value is None or number.value <= 0:
                continue
            multiply = bool(re.search(r"\b(?:multipl\w*|scal\w*(?! down))\s+(?:\w+\s+){0,3}by\s*$", before))
            if multiply:
                values.append(bad_value * number.value)
            elif direction > 0:
                values.append(bad_value * number.value)
            elif number.value > 1:
                values.append(bad_value / number.value)
            else:
                values.append(bad_value * number.value)
            continue
        if _LOWER_BOUND_BEFORE.search(before) and not _UPPER_BOUND_BEFORE.search(before):
            continue
        if _OLD_CUE_BEFORE.search(before) or _OLD_CUE_AFTER.match(after):
            continue
        value = convert(number)
        if value is None:
            continue
        if bad_value is not None and close(value, bad_value):
            continue
        values.append(value)
    return values


_JUST_BEFORE = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?\s*(?:%|percent)?\s*(?:[a-z]+\s+){0,2}$"
)


def _value_just_before(
    sentence: str,
    mention_start: int,
    boundaries: list[int],
    bad_value: float | None,
    convert: Callable[[NumberToken], float | None],
) -> list[float]:
    """ "use a 1e-3 learning rate", "a 20% test split": a number at most one word before the mention."""
    previous = max((b for b in boundaries if b < mention_start), default=None)
    left = 0
    if previous is not None:
        m = _ALL_PARAMETERS.match(sentence, previous)
        left = m.end() if m else previous
    left = max(left, mention_start - 40)
    m = _JUST_BEFORE.search(sentence[left:mention_start])
    if not m:
        return []
    tokens = numbers_in(sentence, left + m.start(), left + m.end())
    if not tokens:
        return []
    token = tokens[-1]
    before = sentence[max(0, token.start - 40) : token.start]
    if _OLD_CUE_BEFORE.search(before) or token.factor or _UNIT_AFTER.match(sentence[token.end : token.end + 40]):
        return []
    value = convert(token)
    if value is None or (bad_value is not None and close(value, bad_value)):
        return []
    return [value]


@functools.lru_cache(maxsize=4096)
def literal_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """A pattern matching any of the given identifiers as whole words (case-insensitive, normalised)."""
    alternatives = sorted({re.escape(normalise(n).strip()) for n in names if n and n.strip()}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w.])(?:" + "|".join(alternatives) + r")(?![\w])")


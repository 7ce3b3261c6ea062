"""The cold-reset fast paths (issue 16) give exactly what the code they replace gave.

Generation: seed entropy pre-assembled as uint32 words, ISO stamps without strftime, the JSON emitter's
inlined scalars. The episode service: scenarios whose sanity checks stay encoded until an episode runs
one, and artifact size hints counted instead of parsed. The v1/v2/v3 digest tests pin the generator's
output as a whole; these pin each replacement against its original on edge cases the seeds may miss.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import numpy as np
import pytest

from mlopsdebug_common import convert
from mlopsdebug_common.domain import SANITY_CHECKS, ArtifactDoc
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import TASK_IDS
from mlopsdebug_episode import wire
from mlopsdebug_generator import core, ids, render_docs, render_log


class TestSeedEntropy:
    @pytest.mark.parametrize(
        "values",
        [[0, 0, 0, 0], [1, 2**128 - 1, 2, 4_000_000], [2**32, 2**64 + 3, 0, 1], [2**32 - 1, 2**96, 5, 3_000_000]],
    )
    def test_words_give_the_pool_and_streams_of_the_int_list(self, values):
        by_list = np.random.SeedSequence(values)
        by_words = np.random.SeedSequence(ids.entropy_words(values))
        assert np.array_equal(by_list.pool, by_words.pool)
        for spawn_key in ((0,), (1, 7), (13,)):
            a = np.random.SeedSequence(by_list.entropy, spawn_key=spawn_key)
            b = np.random.SeedSequence(by_words.entropy, spawn_key=spawn_key)
            assert np.array_equal(a.generate_state(8), b.generate_state(8))

    def test_streams_without_numpys_errstate_give_its_words_and_draws(self):
        root = ids.root_sequence(2, 123_456_789, b"salt", "4.0.0")
        with np.errstate(all="raise"):  # nothing in the unwrapped arithmetic may reach numpy's error state
            for index in range(40):
                child = ids.child_sequence(root, index)
                plain = np.random.SeedSequence(child.entropy, spawn_key=child.spawn_key)
                assert np.array_equal(child.generate_state(4, np.uint64), plain.generate_state(4, np.uint64))
                ours = np.random.Generator(np.random.PCG64(child)).random(5)
                assert np.array_equal(ours, np.random.Generator(np.random.PCG64(plain)).random(5))
        assert type(root.spawn(2)[1]) is type(root)

    def test_negative_entropy_is_refused_as_numpy_does(self):
        with pytest.raises(ValueError):
            ids.entropy_words([1, -1])


class TestIsoStamps:
    def test_iso_utc_is_strftimes_text(self):
        rng = random.Random(3)  # noqa: S311 - test inputs, not secrets
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        for _ in range(5_000):
            moment = start + dt.timedelta(seconds=rng.random() * 1e8)
            assert ids.iso_utc(moment) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class TestLogStamps:
    def test_stamps_together_are_each_stamp(self):
        rng = random.Random(5)  # noqa: S311 - test inputs, not secrets
        for _ in range(200):
            start = dt.datetime(2025, 1, 6, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.random() * 4e7)
            clock = render_log._Clock(start)
            offsets = sorted(rng.random() * 3 * 86400 for _ in range(50))
            offsets += [0.0, 0.0005, 86399.9995, 0.0025, 1.0005, 3600 * 23.9999999]  # roundings, day edges
            assert clock.stamps(offsets) == [render_log._Clock(start).stamp(o) for o in offsets]


def _random_value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth < 3 and roll < 0.2:
        return {f"k{i}é\"\n": _random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}
    if depth < 3 and roll < 0.35:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice([1, -5, 0, 2**70, 1.5, -0.0, 1e-300, 3.14159e20, 0.1 + 0.2, "x\\n\"y\u2028", "", None, True, False])


class TestJsonEmitter:
    def test_dumps_is_json_dumps_indent_2(self):
        rng = random.Random(1)  # noqa: S311 - test inputs, not secrets
        for _ in range(2_000):
            doc = {"a": _random_value(rng), "b": _random_value(rng), "c": [_random_value(rng), _random_value(rng)]}
            assert render_docs.dumps(doc) == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"

    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
    def test_non_finite_floats_are_refused(self, value):
        with pytest.raises(ValueError):
            render_docs.dumps({"x": [value]})


def _scenarios(seeds: range) -> list:
    sealer = Sealer(b"k" * 32)
    return [core.generate_scenario(task, seed, sealer=sealer, salt=b"s") for task in TASK_IDS for seed in seeds]


class TestSizeHints:
    def test_counted_fields_are_the_parsed_count_for_every_generated_document(self):
        checked = 0
        for scenario in _scenarios(range(8)):
            for doc in scenario.artifacts:
                if doc.name.endswith(".json"):
                    assert doc.size_hint == f"{len(json.loads(doc.content))} fields", (scenario.task_id, doc.name)
                    checked += 1
        assert checked >= 3 * len(TASK_IDS) * 8

    @pytest.mark.parametrize(
        ("content", "hint"),
        [
            ('{"a": 1, "b": [1, 2]}', "2 fields"),  # compact: parsed
            ("{}", "0 fields"),
            ("[1, 2, 3]", "3 fields"),  # a list: its items, as before
            ('{\n    "a": 1,\n    "b": {\n        "c": 2\n    }\n}', "2 fields"),  # indent 4: parsed
            ('{\n  "a": {\n    "b": 1,\n    "c": [\n      "d"\n    ]\n  },\n  "e": "f\\n  \\"g"\n}\n', "2 fields"),
        ],
    )
    def test_other_layouts_are_parsed(self, content, hint):
        assert ArtifactDoc("x.json", content, "", "").size_hint == hint


class TestWireScenario:
    def test_equal_to_the_full_conversion(self):
        for scenario in _scenarios(range(3)):
            message = convert.scenario_to_pb(scenario)
            lazy, eager = wire.scenario_from_wire(message), convert.scenario_from_pb(message)
            assert (lazy.scenario_id, lazy.task_id, lazy.seed, lazy.generator_version) == (
                eager.scenario_id, eager.task_id, eager.seed, eager.generator_version
            )
            assert repr(lazy.run_summary) == repr(eager.run_summary)  # repr: NaN losses compare unequal
            assert lazy.artifacts == eager.artifacts and lazy.answer_key == eager.answer_key
            assert lazy.sanity_checks == eager.sanity_checks == scenario.sanity_checks
            assert len(lazy.sanity_checks) == len(SANITY_CHECKS)
            for check in SANITY_CHECKS:
                assert lazy.sanity_check(check) == scenario.sanity_check(check)

    def test_checks_are_converted_on_first_use_only_once(self, monkeypatch):
        calls = []
        original = wire.sanity_check_from_pb
        monkeypatch.setattr(wire, "sanity_check_from_pb", lambda m: calls.append(m.check) or original(m))
        scenario = _scenarios(range(1))[0]
        lazy = wire.scenario_from_wire(convert.scenario_to_pb(scenario))
        assert calls == []  # a reset needs no check
        assert lazy.sanity_check("gradient_norms") == scenario.sanity_check("gradient_norms")
        assert len(calls) == len(SANITY_CHECKS)
        assert list(lazy.sanity_checks) == list(scenario.sanity_checks) and lazy.sanity_checks[1:3] == scenario.sanity_checks[1:3]
        assert len(calls) == len(SANITY_CHECKS)

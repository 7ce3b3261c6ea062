"""Training the blind baselines (`checks-only`, `prior`) for `mlopsdebug eval --train-seeds A-B`.

The agents learn as any agent in training mode could: on a deployment whose grades reveal the answer
after each episode, on seeds disjoint from the evaluated ones. Two rounds of episodes, played with
`mlopsdebug eval`'s own runner:
1. survey: on every training seed of the task's `train` split (its held-out faults never come up, even on
   a deployment that reveals their answers, as `mlopsdebug eval`'s own does for its report; so the table
   does not know them, and evaluating on `--split heldout` measures that), run the eight sanity checks,
   submit a neutral diagnosis, and keep the verdicts and the revealed answer;
2. probes: submit each candidate fix (derived from the revealed rule sentences) with the episode's own
   category, file and field on up to `blind.PROBE_SEEDS` training seeds of its fault, and keep the
   credits the grade gives it.
`mlopsdebug_agents.blind.learn_table` turns both into the table. The table is cached as JSON under
`--train-cache` (default `$XDG_CACHE_HOME/mlopsdebug/blind`, else `~/.cache/mlopsdebug/blind`), one file
per task, named by a fingerprint of the learner, the task, the training seeds and the scenario id of the
task's first training seed; a scenario id is a keyed hash of (task, seed, generator version, salt), so a
new generator version or another salt means another file, and the salt itself is never written down.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from rich.console import Console

from mlopsdebug_agents import Agent
from mlopsdebug_agents.blind import (
    NEUTRAL_FIX,
    Answer,
    BlindAgentFactory,
    BlindTable,
    Example,
    Probe,
    fix_candidates,
    learn_table,
    probe_plan,
)
from mlopsdebug_agents.random_agent import SANITY_CHECKS
from mlopsdebug_client import ClientConfig, EpisodeClient
from mlopsdebug_common import eventloop

__all__ = [
    "DEFAULT_TRAIN_SEEDS",
    "LEARNER_VERSION",
    "TrainingError",
    "blind_factories",
    "check_disjoint",
    "collect",
    "default_cache_dir",
    "seeds_text",
    "train",
]

# Used when a blind agent is evaluated without --train-seeds; refused if it overlaps the evaluated seeds.
DEFAULT_TRAIN_SEEDS: Final[str] = "10000-10299"
# Part of the cache key: bump when the learning changes, so old tables are not reused.
LEARNER_VERSION: Final[str] = "2"  # 2: learns on the train split
_SURVEY: Final[str] = "blind-survey"


class TrainingError(ValueError):
    """The blind agents cannot be trained as asked (overlapping seeds, answers not revealed, episodes failed)."""


def blind_factories(factories: Mapping[str, Any]) -> dict[str, BlindAgentFactory]:
    """The factories among `factories` that need a learned table."""
    return {name: f for name, f in factories.items() if getattr(f, "needs_training", False)}


def check_disjoint(train_seeds: Sequence[int], evaluated: Sequence[int]) -> None:
    """Raises TrainingError when a training seed is also evaluated: a table would then recall its answers."""
    shared = sorted(set(train_seeds) & set(evaluated))
    if shared:
        raise TrainingError(
            f"--train-seeds overlap the evaluated --seeds in {len(shared)} seed(s) ({seeds_text(shared[:20])}"
            f"{', ...' if len(shared) > 20 else ''}); blind agents must be trained on other seeds"
        )


def seeds_text(seeds: Sequence[int]) -> str:
    """"0-99,120" for sorted seeds: the --seeds syntax."""
    parts: list[str] = []
    ordered = sorted(set(seeds))
    start = prev = None
    for seed in [*ordered, None]:
        if start is not None and (seed is None or seed != prev + 1):  # type: ignore[operator]
            parts.append(str(start) if start == prev else f"{start}-{prev}")
            start = None
        if seed is not None and start is None:
            start = seed
        prev = seed
    return ",".join(parts)


def default_cache_dir() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "mlopsdebug" / "blind"


class _SurveyAgent(Agent):
    """Runs the eight sanity checks, then submits a diagnosis that aims at nothing (only its grade's answer matters)."""

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        step = int(observation["step_count"])
        if step < len(SANITY_CHECKS):
            return {"action_type": "run_sanity_check", "sanity_check_type": SANITY_CHECKS[step]}
        return Answer("config_error", "config.yaml", "unknown", NEUTRAL_FIX).action()


class _ProbeAgent(Agent):
    """Submits at once the answer planned for this (task, seed)."""

    def __init__(self, seed: int, answers: Mapping[tuple[str, int], Answer]) -> None:
        super().__init__(seed)
        self._answers = answers

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        return self._answers[(str(observation["task_id"]), self.seed)].action()


async def collect(
    address: str, tasks: Sequence[str], seeds: Sequence[int], *, concurrency: int
) -> tuple[list[Example], list[Probe]]:
    """Plays the survey and the probes on `address` (which must reveal answers) and returns what they showed."""
    from mlopsdebug_cli.eval_records import EpisodeKey  # noqa: PLC0415 - eval_run imports this module
    from mlopsdebug_cli.eval_run import run_eval  # noqa: PLC0415

    async def play(keys: list[EpisodeKey], factories: Mapping[str, Any]) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        failures = await run_eval(
            address, keys, factories, concurrency=concurrency, on_record=lambda _k, record, _l: records.append(record)
        )
        if failures:
            key, reason = failures[0]
            raise TrainingError(f"{len(failures)} training episode(s) failed, e.g. {key.task} seed {key.seed}: {reason}")
        return sorted(records, key=lambda r: (str(r["agent"]), str(r["task"]), int(r["seed"])))

    splits = training_splits(address, tasks)
    survey = await play([EpisodeKey(_SURVEY, t, s, splits[t]) for t in tasks for s in seeds], {_SURVEY: _SurveyAgent})
    known = [e for e in (Example.from_record(r) for r in survey) if e is not None]
    if not known:
        raise TrainingError(
            f"the episode service at {address} does not reveal answers after grading, and blind agents learn from"
            " revealed answers: train on a cluster that reveals them (omit --address, or pass --train-address of"
            " one started with `mlopsdebug up --reveal-answers`)"
        )
    plan = probe_plan(known, fix_candidates(known))
    answers: dict[str, dict[tuple[str, int], Answer]] = {}
    keys: list[EpisodeKey] = []
    taken: dict[tuple[str, int], int] = {}
    for example, answer in plan:
        where = (example.task, example.seed)
        index = taken[where] = taken.get(where, -1) + 1
        name = f"blind-probe-{index}"
        answers.setdefault(name, {})[where] = answer
        keys.append(EpisodeKey(name, example.task, example.seed, splits[example.task]))

    def factory(name: str) -> Callable[[int], Agent]:
        return lambda seed: _ProbeAgent(seed, answers[name])

    probed = await play(keys, {name: factory(name) for name in answers})
    probes = [p for p in (Probe.from_record(r) for r in probed) if p is not None]
    return known, probes


def training_splits(address: str, tasks: Sequence[str]) -> dict[str, str]:
    """The split the agents learn on, per task: `train` where the task holds faults out, else `all`."""
    with EpisodeClient(address, config=ClientConfig(timeout_s=60.0, wait_for_ready=True)) as client:
        offered = {t.task_id: t.has_heldout_split for t in client.list_tasks().tasks}
    return {task: "train" if offered.get(task) else "all" for task in tasks}


def fingerprint(address: str, task: str, seeds: Sequence[int]) -> dict[str, Any]:
    """What a task's table depends on: the learner, the task, the seeds, and the deployment's generator version
    and salt (through the scenario id of the first training seed, a keyed hash of both)."""
    with EpisodeClient(address, config=ClientConfig(timeout_s=60.0, wait_for_ready=True)) as client:
        episode_id = client.reset(task, seeds[0]).episode_id
        try:
            scenario_id = client.get_state(episode_id).state.scenario_id
        finally:
            client.close_episode(episode_id)
    return {"learner": LEARNER_VERSION, "task": task, "train_seeds": seeds_text(seeds), "scenario_id": scenario_id}


def _cached(path: pathlib.Path, key: Mapping[str, Any], console: Console) -> BlindTable | None:
    if not path.exists():
        return None
    try:
        table = BlindTable.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        console.print(f"[yellow]ignoring an unreadable blind table {path}: {exc}[/]")
        return None
    return table if table.meta.get("fingerprint") == key and key["task"] in table.tasks else None


def train(
    address: str,
    tasks: Sequence[str],
    seeds: Sequence[int],
    *,
    concurrency: int,
    cache_dir: pathlib.Path,
    console: Console,
) -> tuple[BlindTable, list[pathlib.Path]]:
    """The table learned on `seeds` at `address`: one cache file per task, reused when its fingerprint matches."""
    keys = {task: fingerprint(address, task, seeds) for task in tasks}
    paths = {
        task: cache_dir / f"{task}-{hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]}.json"
        for task, key in keys.items()
    }
    tables = {task: _cached(paths[task], keys[task], console) for task in tasks}
    reused = [task for task, table in tables.items() if table is not None]
    if reused:
        console.print(f"[dim]blind agents: reusing the tables learned on seeds {seeds_text(seeds)} for"
                      f" {', '.join(reused)} ({cache_dir})[/]")  # fmt: skip
    missing = [task for task, table in tables.items() if table is None]
    if missing:
        console.print(f"blind agents: training on seeds {seeds_text(seeds)} for {', '.join(missing)}"
                      f" ({len(missing) * len(seeds)} survey episodes, then probes)")  # fmt: skip
        started = time.perf_counter()
        examples, probes = eventloop.run(collect(address, missing, seeds, concurrency=concurrency))
        cache_dir.mkdir(parents=True, exist_ok=True)
        for task in missing:
            own = [e for e in examples if e.task == task]
            own_probes = [p for p in probes if p.task == task]
            meta = {"fingerprint": keys[task], "examples": len(own), "sealed": len(seeds) - len(own),
                    "probes": len(own_probes)}  # fmt: skip
            tables[task] = table = learn_table(own, own_probes, meta=meta)
            tmp = paths[task].with_name(paths[task].name + ".tmp")
            tmp.write_text(table.dumps(), encoding="utf-8")
            os.replace(tmp, paths[task])
        sealed = len(missing) * len(seeds) - len(examples)
        console.print(
            f"[dim]blind agents: learned from {len(examples)} episodes and {len(probes)} probes in"
            f" {time.perf_counter() - started:.1f}s; cached in {cache_dir}[/]"
            + (f" ({sealed} training episodes kept their answer sealed)" if sealed else "")
        )
    merged = BlindTable(
        {task: table.tasks[task] for task, table in tables.items() if table is not None},
        {"train_seeds": seeds_text(seeds), "files": {task: str(path) for task, path in paths.items()}},
    )
    return merged, [paths[task] for task in tasks]

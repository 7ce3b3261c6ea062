"""Markdown excerpts of generated scenarios: the evidence an engineer would find, artifact by artifact.

`python -m mlopsdebug_generator.gallery easy:7 medium:13 hard:0` prints the README gallery (the
section between the gallery markers; a test fails if the README's copy is stale). The excerpts are
cut from the real artifacts by keyword; the closing line names the root cause, which is fine for documentation (the generator is open source; evaluations use a salt).
"""

from __future__ import annotations

import json
import sys

from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.domain import Scenario
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_generator import core, faults

_SEALER = Sealer(b"gallery-only-secret-not-for-deployments")


def _block(title: str, lines: list[str], lang: str = "") -> list[str]:
    if not lines:
        return []
    return [f"*{title}*", "", f"```{lang}", *lines, "```", ""]


def _yaml_block(text: str, dotted: str) -> list[str]:
    """The mapping that holds `dotted`'s leaf, from its parent key to the end of its indentation."""
    lines = text.splitlines()
    parts = dotted.split(".")
    start = 0
    for depth, part in enumerate(parts[:-1]):
        prefix = "  " * depth + part + ":"
        start = next(i for i in range(start, len(lines)) if lines[i].startswith(prefix))
    if len(parts) == 1:
        return [ln for ln in lines if ln.startswith(parts[0] + ":")]
    indent = "  " * (len(parts) - 1)
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith(indent):
            break
        block.append(line)
    return block


def _code_excerpt(code: str, field: str) -> list[str]:
    """The def named `field` (and the lines calling it), or the lines using `field` with one line of context."""
    lines = code.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith(f"def {field}(")), None)
    if start is None:
        use = next((i for i, ln in enumerate(lines) if field in ln), None)
        if use is None:
            return []
        start = next((i for i in range(use, -1, -1) if lines[i].startswith("def ")), use)
        field = lines[start][4:].split("(")[0] if lines[start].startswith("def ") else field
    body = [lines[start]]
    for line in lines[start + 1:]:
        if line and not line.startswith((" ", "\t")):
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    calls = [ln for ln in lines if f"{field}(" in ln and not ln.startswith("def ")]
    return body + (["..."] + calls if calls else [])


def _log_excerpt(log: str, key: AnswerKey) -> list[str]:
    lines = log.splitlines()
    header = [ln for ln in lines if any(t in ln for t in ("optim: ", "trainer: ", "data: dataset"))]
    kind = faults.get(key.fault_id).gallery.log_lines
    if kind == "steps":
        steps = [ln for ln in lines if "train: epoch" in ln and " step " in ln or "loss is nan" in ln or "loss scale" in ln][:7]
    elif kind == "loader":
        steps = [ln for ln in lines if "DataLoader" in ln or "done train_loss" in ln][:4]
    else:
        steps = [ln for ln in lines if "done train_loss" in ln][:3]
    shortened = [ln if len(ln) < 200 else ln[:197] + "..." for ln in header + steps]
    return shortened


def _json_excerpt(text: str, keys: tuple[str, ...]) -> list[str]:
    doc = json.loads(text)
    out = {}
    for dotted in keys:
        node = doc
        for part in dotted.split("."):
            node = node[part]
        out[dotted] = node
    return [f"{k}: {json.dumps(v)}" for k, v in out.items()]


_MECHANISMS = {
    "double_split": "the validation split comes from a second, independently seeded split of the same pool",
    "duplicate_sources": "a row-level split puts samples of one {group} on both sides",
    "": "",
}


def scenario_markdown(scenario: Scenario, optimizer: str) -> list[str]:
    """The gallery section of one scenario; `optimizer` is its run's optimizer (no artifact field names it
    in one place across config layouts, so the caller takes it from the world)."""
    key = _SEALER.open(scenario.answer_key)
    s = scenario.run_summary
    arts = {a.name: a.content for a in scenario.artifacts}
    out = [
        f"### {scenario.task_id}, seed {scenario.seed}: {s.model} on {s.dataset}",
        "",
        f"Run `{s.run_id}`: {s.training_status}, {s.epochs_completed}/{s.epochs_planned} epochs; "
        f"val {s.primary_metric} {s.val_metric:.4f}, test {s.test_metric:.4f}.",
        "",
    ]
    if key.file == "config.yaml":
        out += _block("config.yaml", _yaml_block(arts["config.yaml"], key.field), "yaml")
    out += _block("train.log", _log_excerpt(arts["train.log"], key), "text")
    line = faults.get(key.fault_id).gallery
    if line.stats_keys:
        keys = list(line.stats_keys)
        if "n_unique_ids" in keys and '"group_key"' in arts["dataset_stats.json"]:
            keys += ["group_key", "splits.train.n_groups", "splits.val.n_groups", "n_unique_groups"]
        out += _block("dataset_stats.json", _json_excerpt(arts["dataset_stats.json"], tuple(keys)))
    if line.eval_keys:
        out += _block("eval_results.json", _json_excerpt(arts["eval_results.json"], line.eval_keys))
    if line.card_keys:
        out += _block("model_card.json", _json_excerpt(arts["model_card.json"], line.card_keys))
    if key.file == "preprocessing.py":
        out += _block("preprocessing.py", _code_excerpt(arts["preprocessing.py"], key.field), "python")
    flagged = [c for c in scenario.sanity_checks if c.status in ("fail", "warn")]
    out += ["*Sanity checks*", ""]
    out += [f"- `{c.check}` **{c.status}**: {c.summary}" for c in flagged]
    mechanism = _MECHANISMS[str(key.params.get("mechanism", ""))].format(group=key.params.get("group_key", ""))
    conclusion = line.conclusion.format(opt=optimizer, mechanism=mechanism)
    out += ["", f"Root cause: `{key.field}` in `{key.file}`: {conclusion}", ""]
    return out


def main(argv: list[str] | None = None) -> None:
    pairs = argv if argv is not None else sys.argv[1:]
    pairs = pairs or ["easy:7", "medium:13", "hard:0"]
    out = [
        "## Gallery",
        "",
        f"One scenario per task, generated by `generate_scenario(task, seed)` (generator {core.GENERATOR_VERSION},",
        "no salt). Excerpts are cut from the six artifacts and the eight sanity checks; healthy runs carry the",
        "same kinds of warnings and `warn` verdicts, so none of this is findable by grepping for alarm words.",
        "",
    ]
    for pair in pairs:
        task_id, seed = pair.split(":")
        scenario = core.generate_scenario(task_id, int(seed), sealer=_SEALER)
        out += scenario_markdown(scenario, core.generate_world(task_id, int(seed)).optimizer)
    print("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()

"""Regenerates the README's and docs/grading.md's tables from the fault registry and the fix rules.

    python scripts/gen_docs.py          # rewrite the generated sections in place
    python scripts/gen_docs.py --check  # exit 1 if any section is stale (the tests do the same)

Each generated section sits between `<!-- NAME:start ... -->` and `<!-- NAME:end -->` markers; the
text between them is owned by this script. The gallery has its own generator
(`python -m mlopsdebug_generator.gallery`), also called from here.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import pathlib
import re
import sys

from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_common.tasks import LATEST_VERSION, TASK_ORDER, TASKS
from mlopsdebug_generator import core, faults, gallery
from mlopsdebug_grader.fix_rules import RULES

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GRADING = ROOT / "docs" / "grading.md"
# Seeds scanned per task for the files, fields and aliases the generator really writes.
SCAN_SEEDS = 300
GALLERY_PAIRS = ["easy:7", "medium:13", "hard:0"]

_FAMILY_TITLES = {
    "easy": "`easy` – config errors",
    "medium": "`medium` – data leakage and pipeline bugs",
    "hard": "`hard` – silent evaluation bugs (missed credit costs 1.5x)",
}


def _title(fault: str) -> str:
    plugin = faults.get(fault)
    return plugin.title or fault.replace("_", " ")


def task_table() -> str:
    """The README's first table: each family's newest pool (held-out faults marked) and the pinned v1."""
    lines = [
        f"| task | faults it draws from (one per episode; version {LATEST_VERSION}, * = held out) | steps |",
        "|---|---|---|",
    ]
    for family in TASK_ORDER:
        spec = TASKS[family]
        held = set(spec.heldout_faults)
        names = ", ".join(_title(f) + (" *" if f in held else "") for f in spec.fault_pool)
        lines.append(f"| {_FAMILY_TITLES[family]} | {names} | {spec.max_steps} |")
    pinned = ", ".join(f"`{family}-v1`" for family in TASK_ORDER)
    lines += [
        "",
        f"{pinned} pin the original three-fault pools and reproduce their published scenarios byte for byte;",
        "`easy-v2` etc. pin the eight-fault pools as first published (the same faults as later versions, with fixed",
        "root-cause files, quieter checks and free category and file credit); `easy-v3` etc. pin version 3 (root",
        "causes that move between files, noisy checks, location credit only with the field);",
        f"the plain names are the newest version (also `easy-v{LATEST_VERSION}` etc.). Results are comparable only within",
        "one task version and one deployment salt.",
    ]
    return "\n".join(lines)


def _scan() -> dict[str, tuple[set[str], set[str], set[str]]]:
    """Per fault: files, canonical fields and aliases its answer keys named over SCAN_SEEDS seeds a task."""
    sealer = Sealer(b"gen-docs-secret-0123456789abcdef")
    seen: dict[str, tuple[set[str], set[str], set[str]]] = {f: (set(), set(), set()) for f in FAULTS}
    for family in TASK_ORDER:
        for seed in range(SCAN_SEEDS):
            key = sealer.open(core.generate_scenario(family, seed, sealer=sealer).answer_key)
            files, fields, aliases = seen[key.fault_id]
            files.add(key.file)
            fields.add(key.field)
            aliases.update(key.field_aliases)
    return seen


def _ticked(values: set[str], limit: int) -> str:
    shown = sorted(values)[:limit]
    more = f" (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(f"`{v}`" for v in shown) + more


def rules_table(seen: dict[str, tuple[set[str], set[str], set[str]]] | None = None) -> str:
    """One row per fault: task, category, files and fields as generated, and what a correct fix must do."""
    seen = seen if seen is not None else _scan()
    lines = [
        f"| fault | task | category | file (as generated, seeds 0..{SCAN_SEEDS - 1}) | field (canonical) and aliases |"
        " a correct fix must |",
        "|---|---|---|---|---|---|",
    ]
    for family in TASK_ORDER:
        spec = TASKS[family]
        for fault in spec.fault_pool:
            files, fields, aliases = seen[fault]
            held = " (held out)" if fault in spec.heldout_faults else ""
            field_text = _ticked(fields, 8) + (f"; aliases {_ticked(aliases - fields, 10)}" if aliases - fields else "")
            rule = RULES[fault]
            must = getattr(rule, "summary", "") or (type(rule).__doc__ or "").strip().splitlines()[0]
            if rule.tolerated:
                must += f" (may accompany: {', '.join(sorted(rule.tolerated))})"
            lines.append(
                f"| `{fault}`{held} | {family} | `{FAULTS[fault].category}` | {_ticked(files, 6) or '-'} | "
                f"{field_text or '-'} | {must} |"
            )
    return "\n".join(lines)


def gallery_text() -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        gallery.main(GALLERY_PAIRS)
    return buffer.getvalue().rstrip("\n")


def _replace(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start[^>]*-->\n)(.*?)(\n<!-- {name}:end -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"missing <!-- {name}:start --> / <!-- {name}:end --> markers")
    return pattern.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def rendered() -> dict[pathlib.Path, str]:
    """The two documents with every generated section brought up to date."""
    rules = rules_table()
    readme = README.read_text(encoding="utf-8")
    readme = _replace(readme, "tasks", task_table())
    readme = _replace(readme, "rules", rules)
    readme = _replace(readme, "gallery", gallery_text())
    grading = _replace(GRADING.read_text(encoding="utf-8"), "rules", rules)
    return {README: readme, GRADING: grading}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report stale sections instead of rewriting them")
    args = parser.parse_args(argv)
    stale = []
    for path, text in rendered().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale generated sections in {', '.join(map(str, stale))}: run python scripts/gen_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

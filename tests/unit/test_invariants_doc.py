"""INVARIANTS.md names, for each invariant, the tests that guard it: each of them must exist."""

from __future__ import annotations

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)+)`")


def defined(path: pathlib.Path) -> set[tuple[str, ...]]:
    """Every test function as (name,) and every test method as (class, name)."""
    tree = ast.parse(path.read_text())
    names: set[tuple[str, ...]] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add((node.name,))
        elif isinstance(node, ast.ClassDef):
            names.update((node.name, item.name) for item in node.body
                         if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)))
    return names


def test_every_guarding_test_exists():
    references = REFERENCE.findall((ROOT / "INVARIANTS.md").read_text())
    assert len(references) >= 30
    missing = [f"{file}{parts}" for file, parts in references
               if not (ROOT / file).is_file() or tuple(parts.split("::")[1:]) not in defined(ROOT / file)]
    assert missing == []

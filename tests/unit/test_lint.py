"""Lint and types are part of the test command: ruff (pyproject's [tool.ruff]) and pyright (scripts/typecheck.py).

Both are pinned in the dev extra, so `./dev test` and CI fail on a finding. Locally without Node.js the type
check skips (pyright runs on Node.js), as the buf tests do; under CI it fails instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=300
    )


def test_ruff_finds_nothing() -> None:
    """`ruff check .` with the repository's rules: imports, bugbear, naming, bandit, docstrings, unused noqa."""
    result = _run("-m", "ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, f"ruff check . found:\n{result.stdout}{result.stderr}"


def test_ruff_catches_a_planted_violation(tmp_path: Path) -> None:
    """The rules are live: a file with a mutable default argument (B006) and an unused noqa (RUF100) fails."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f(items=[]):  # noqa: E501\n    return items\n", encoding="utf-8")
    result = _run("-m", "ruff", "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(planted))
    assert result.returncode == 1
    assert "B006" in result.stdout and "RUF100" in result.stdout


@pytest.mark.skipif(
    shutil.which("node") is None and not os.environ.get("CI"), reason="pyright runs on Node.js (required in CI)"
)
def test_pyright_finds_nothing() -> None:
    """pyright (basic mode) over every workspace member's package, scripts/ and bench/, the generated .pyi included."""
    result = _run("scripts/typecheck.py")
    assert result.returncode == 0, f"scripts/typecheck.py found:\n{result.stdout}{result.stderr}"

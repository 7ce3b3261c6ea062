"""The README's Python quick start runs as written against a real cluster."""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_quick_start_runs(cluster, capsys):
    """The quick start's code plays an episode to a graded end."""
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"## Python quick start\n\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    exec(code.replace("localhost:50052", cluster.episode_addr), {})  # noqa: S102 - our own README
    printed = capsys.readouterr().out.splitlines()
    score, components = printed[-1].split(" ", 1)
    assert 0.0 <= float(score) <= 1.0 and components.count("(") == 4

"""The README's Python examples run as written against a real cluster."""

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


def test_many_episodes_example_runs(cluster, capsys):
    """The batching-session example plays 32 episodes on one stream, several steps per message."""
    readme = (ROOT / "README.md").read_text()
    code = re.search(r"### Many episodes at once\n.*?```python\n(.*?)```", readme, re.DOTALL).group(1)
    exec(code.replace("localhost:50052", cluster.episode_addr), {})  # noqa: S102 - our own README
    episodes, _, steps_per_message, *_ = capsys.readouterr().out.split()
    assert episodes == "32" and float(steps_per_message) > 1.5

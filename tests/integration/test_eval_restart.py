"""`mlopsdebug eval` through a restart of the episode service that loses every open episode: each lost
episode is played again from its reset, and the records equal an uninterrupted run's (timing aside)."""

from __future__ import annotations

import pytest

from mlopsdebug_agents import load_agent_factory
from mlopsdebug_cli.evaluate import plan, run_eval


async def _run(address: str, keys, on_record=None) -> tuple[list, dict]:
    records: dict = {}

    def record(key, line, lines) -> None:
        records[key] = (line, lines)
        if on_record is not None:
            on_record(len(records))

    failures = await run_eval(
        address, keys, {"random": load_agent_factory("random")}, concurrency=8, on_record=record, timeout_s=30
    )
    return failures, records


@pytest.mark.parametrize("keeps_episodes", [False, True])
async def test_eval_survives_a_restart_of_the_episode_service(make_cluster, keeps_episodes) -> None:
    cluster = make_cluster()
    keys = plan(["random"], ["easy", "medium"], list(range(8)))
    failures, reference = await _run(cluster.episode_addr, keys)
    assert failures == []

    def restart_once(finished: int) -> None:
        if finished == 3:  # 8 workers: several episodes are in the middle of their play now
            if keeps_episodes:
                cluster.restart_episode_server()
            else:
                cluster.stop_service("episode")
                cluster.start_service("episode")

    failures, records = await _run(cluster.episode_addr, keys, restart_once)
    assert failures == []
    assert sorted(records) == sorted(reference)
    for key, (line, lines) in records.items():
        expected_line, expected_lines = reference[key]
        assert {**line, "timing": None} == {**expected_line, "timing": None}, key
        assert lines == expected_lines
    replays = sum(line["timing"]["replays"] for line, _ in records.values())
    if not keeps_episodes:
        assert replays >= 1  # (kept episodes resume; only one whose step's answer was lost is replayed)

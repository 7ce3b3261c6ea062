"""The event-loop choice every process makes at start-up (mlopsdebug_common.eventloop)."""

from __future__ import annotations

import asyncio

import pytest

from mlopsdebug_common import eventloop


class TestChosenLoop:
    def test_uvloop_by_default(self):
        assert eventloop.uvloop is not None, "uvloop is a pinned dependency on this platform"
        assert eventloop.chosen_loop({}) == "uvloop"
        assert eventloop.chosen_loop({"MLOPSDEBUG_EVENT_LOOP": ""}) == "uvloop"

    @pytest.mark.parametrize("value", ["asyncio", " AsyncIO "])
    def test_asyncio_opts_out(self, value):
        assert eventloop.chosen_loop({"MLOPSDEBUG_EVENT_LOOP": value}) == "asyncio"

    def test_asyncio_serves_where_uvloop_is_missing(self, monkeypatch):
        monkeypatch.setattr(eventloop, "uvloop", None)
        assert eventloop.chosen_loop({"MLOPSDEBUG_EVENT_LOOP": "uvloop"}) == "asyncio"

    def test_unknown_loop_is_refused_by_name(self):
        with pytest.raises(ValueError, match="MLOPSDEBUG_EVENT_LOOP must be one of uvloop, asyncio, not 'trio'"):
            eventloop.chosen_loop({"MLOPSDEBUG_EVENT_LOOP": "trio"})


class TestRun:
    async def _loop_type(self) -> str:
        return type(asyncio.get_running_loop()).__module__

    def test_runs_on_uvloop(self, monkeypatch):
        monkeypatch.delenv("MLOPSDEBUG_EVENT_LOOP", raising=False)
        assert eventloop.run(self._loop_type()).startswith("uvloop")

    def test_runs_on_asyncio_when_asked(self, monkeypatch):
        monkeypatch.setenv("MLOPSDEBUG_EVENT_LOOP", "asyncio")
        assert eventloop.run(self._loop_type()).startswith("asyncio")

    def test_bad_setting_stops_without_running(self, monkeypatch, recwarn):
        monkeypatch.setenv("MLOPSDEBUG_EVENT_LOOP", "trio")
        started = []

        async def main() -> None:
            started.append(True)

        with pytest.raises(SystemExit, match="MLOPSDEBUG_EVENT_LOOP"):
            eventloop.run(main())
        assert not started
        assert not [w for w in recwarn if "never awaited" in str(w.message)]

    def test_new_loop_is_the_chosen_kind(self, monkeypatch):
        monkeypatch.delenv("MLOPSDEBUG_EVENT_LOOP", raising=False)
        loop = eventloop.new_loop()
        try:
            assert type(loop).__module__.startswith("uvloop")
        finally:
            loop.close()


class TestGatewayFollowsTheSetting:
    @pytest.mark.parametrize("setting", ["asyncio", "uvloop"])
    def test_uvicorn_is_told_the_chosen_loop(self, monkeypatch, setting):
        """A gateway started on a thread (tests, the in-process cluster) honours the setting too."""
        from mlopsdebug_gateway.config import GatewayConfig
        from mlopsdebug_gateway.server import uvicorn_config

        monkeypatch.setenv("MLOPSDEBUG_EVENT_LOOP", setting)
        assert uvicorn_config(GatewayConfig(port=0)).loop == setting

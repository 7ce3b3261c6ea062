"""`mlopsdebug conformance`: the pytest run it starts, and its refusal where the suite is not."""

from __future__ import annotations

import sys

from mlopsdebug_cli import conformance
from mlopsdebug_cli.main import build_parser


def test_the_addresses_become_the_suites_options():
    args = build_parser().parse_args(
        ["conformance", "--address", "h:50052", "--gateway-url", "http://h:7860", "--", "-k", "Rewards"])
    command = conformance.pytest_command(args.address, args.gateway_url, [a for a in args.pytest_args if a != "--"])
    assert command[:4] == [sys.executable, "-m", "pytest", str(conformance.SUITE)]
    assert "--episode-address=h:50052" in command and "--gateway-url=http://h:7860" in command
    assert command[-2:] == ["-k", "Rewards"]
    assert conformance.SUITE.is_dir() and (conformance.SUITE / "conftest.py").is_file()


def test_without_addresses_the_suite_starts_its_own_cluster():
    command = conformance.pytest_command(None, None, [])
    assert not any(a.startswith(("--episode-address", "--gateway-url")) for a in command)


def test_outside_a_checkout_it_says_where_the_suite_is(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(conformance, "SUITE", tmp_path / "missing")
    args = build_parser().parse_args(["conformance", "--address", "h:1"])
    assert args.func(args) == 2
    assert "source checkout" in capsys.readouterr().err

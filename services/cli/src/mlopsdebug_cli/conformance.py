"""`mlopsdebug conformance`: runs the conformance suite (tests/conformance) against a deployment.

The suite is pytest code in the source checkout (it is a black-box client of the contract, see its
README section); this command finds it next to the installed package and runs it with the addresses
given, or, without them, against the in-process cluster the suite starts itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import subprocess
import sys

# The checkout's root: this file is services/cli/src/mlopsdebug_cli/conformance.py (an editable install
# runs from the checkout).
ROOT = pathlib.Path(__file__).resolve().parents[4]
SUITE = ROOT / "tests" / "conformance"


def pytest_command(address: str | None, gateway_url: str | None, pytest_args: list[str]) -> list[str]:
    """The pytest invocation that checks the deployment at `address` / `gateway_url`."""
    command = [sys.executable, "-m", "pytest", str(SUITE), "-p", "no:cacheprovider", "--rootdir", str(ROOT)]
    if address:
        command.append(f"--episode-address={address}")
    if gateway_url:
        command.append(f"--gateway-url={gateway_url}")
    return [*command, *pytest_args]


def run(args: argparse.Namespace) -> int:
    """Exit status: pytest's (0 when the deployment conforms), or 2 when the suite cannot run here."""
    if not SUITE.is_dir():
        print(f"error: the conformance suite is not here ({SUITE}); it ships with the source checkout:"
              " clone the repository and `pip install -e '.[dev]'`", file=sys.stderr)
        return 2
    if importlib.util.find_spec("pytest") is None:
        print("error: the conformance suite needs pytest: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    extra = [a for a in args.pytest_args if a != "--"]
    # The command is this interpreter running pytest on the shipped suite; the caller's words are arguments.
    return subprocess.call(pytest_command(args.address, args.gateway_url, extra), cwd=ROOT)  # noqa: S603


def add_parser(sub: argparse._SubParsersAction) -> None:
    conformance = sub.add_parser(
        "conformance",
        help="check a deployment (or another implementation of the contracts) against the documented rules",
    )
    conformance.add_argument(
        "--address", default=None, help="episode service host:port (default: an in-process cluster the suite starts)"
    )
    conformance.add_argument("--gateway-url", default=None, help="OpenEnv gateway URL, e.g. http://host:7860")
    conformance.add_argument("pytest_args", nargs=argparse.REMAINDER,
                             help="further pytest arguments after --, e.g. -- -k Rewards -x")
    conformance.set_defaults(func=run)

"""The uv workspace as data, for the packaging tests: its members (one distribution per part) and uv.lock.

Read from the files themselves (tomllib), so the tests check what `./dev setup` and the images install.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SERVICES = ("generator", "episode", "grader", "gateway")


def normalize(name: str) -> str:
    """A distribution name as the lock and PEP 503 spell it: lower case, runs of -_. as one '-'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalize(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip()).group(0))


@dataclasses.dataclass(frozen=True)
class Member:
    name: str  # the distribution, e.g. mlopsdebug-generator
    directory: pathlib.Path  # e.g. services/generator
    project: dict

    @property
    def import_name(self) -> str:
        """The one package under src/: the folder is the import path."""
        (package,) = [p.name for p in (self.directory / "src").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
        return package

    @property
    def package_dir(self) -> pathlib.Path:
        return self.directory / "src" / self.import_name

    @property
    def dependencies(self) -> set[str]:
        return {requirement_name(r) for r in self.project.get("dependencies", [])}

    @property
    def extras(self) -> dict[str, set[str]]:
        return {
            extra: {requirement_name(r) for r in reqs}
            for extra, reqs in self.project.get("optional-dependencies", {}).items()
        }

    @property
    def scripts(self) -> dict[str, str]:
        return self.project.get("scripts", {})


def root_pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@functools.cache
def members() -> dict[str, Member]:
    found = {}
    for rel in root_pyproject()["tool"]["uv"]["workspace"]["members"]:
        directory = ROOT / rel
        project = tomllib.loads((directory / "pyproject.toml").read_text())["project"]
        found[normalize(project["name"])] = Member(normalize(project["name"]), directory, project)
    return found


@functools.cache
def lock() -> dict[str, dict]:
    """uv.lock's packages by name."""
    return {normalize(p["name"]): p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}


def closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Every distribution `name` (with `extras`) installs, itself included, as locked."""
    seen: set[str] = set()
    todo = [(normalize(name), extras)]
    while todo:
        current, wanted = todo.pop()
        package = lock()[current]
        if current not in seen:
            seen.add(current)
            todo.extend((normalize(d["name"]), tuple(d.get("extra", ()))) for d in package.get("dependencies", []))
        for extra in wanted:
            todo.extend(
                (normalize(d["name"]), tuple(d.get("extra", ())))
                for d in package.get("optional-dependencies", {}).get(extra, [])
            )
    return seen

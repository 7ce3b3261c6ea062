"""The protobuf contracts: committed stubs are current, every element is documented, enums are safe."""

from __future__ import annotations

import filecmp
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
from google.protobuf import descriptor_pb2

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
gen_protos = importlib.import_module("gen_protos")


def _generated_files(root: pathlib.Path) -> dict[str, pathlib.Path]:
    return {str(p.relative_to(root)): p for p in (root / "mlopsdebug").rglob("*") if p.is_file() and "__pycache__" not in p.parts}


class TestStubs:
    def test_regenerating_changes_nothing(self, tmp_path):
        """The committed stubs are byte-identical to a fresh generation from protos/."""
        gen_protos.generate(tmp_path)
        fresh, committed = _generated_files(tmp_path), _generated_files(gen_protos.STUBS_ROOT)
        assert sorted(fresh) == sorted(committed), "run ./dev protos and commit the result"
        stale = [name for name in fresh if not filecmp.cmp(fresh[name], committed[name], shallow=False)]
        assert not stale, f"stale stubs (run ./dev protos): {stale}"


@pytest.fixture(scope="module")
def descriptor_set(tmp_path_factory) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path_factory.mktemp("desc") / "set.pb"
    gen_protos.build_image(out)
    image = descriptor_pb2.FileDescriptorSet()
    image.ParseFromString(out.read_bytes())
    result = descriptor_pb2.FileDescriptorSet()
    result.file.extend(f for f in image.file if f.name.startswith("mlopsdebug/"))  # not the imported google ones
    return result


def _elements(fd: descriptor_pb2.FileDescriptorProto):
    """Yields (name, source path) of every service, method, message, field, oneof, enum and value."""

    def message(m, path, prefix):
        yield prefix + m.name, path
        for i, f in enumerate(m.field):
            yield f"{prefix}{m.name}.{f.name}", (*path, 2, i)
        for i, o in enumerate(m.oneof_decl):
            if not o.name.startswith("_"):  # synthetic oneofs of proto3 `optional`
                yield f"{prefix}{m.name}.{o.name}", (*path, 8, i)
        for i, nested in enumerate(m.nested_type):
            if nested.options.map_entry:  # synthesized by protoc for map<> fields, which are commented
                continue
            yield from message(nested, (*path, 3, i), f"{prefix}{m.name}.")
        for i, e in enumerate(m.enum_type):
            yield from enum(e, (*path, 4, i), f"{prefix}{m.name}.")

    def enum(e, path, prefix):
        yield prefix + e.name, path
        for i, v in enumerate(e.value):
            yield f"{prefix}{e.name}.{v.name}", (*path, 2, i)

    for i, m in enumerate(fd.message_type):
        yield from message(m, (4, i), "")
    for i, e in enumerate(fd.enum_type):
        yield from enum(e, (5, i), "")
    for i, s in enumerate(fd.service):
        yield s.name, (6, i)
        for j, meth in enumerate(s.method):
            yield f"{s.name}.{meth.name}", (6, i, 2, j)


class TestDocumentation:
    def test_every_element_has_a_comment(self, descriptor_set):
        """Every service, RPC, message, field, oneof, enum and enum value carries a leading comment."""
        ours = [fd for fd in descriptor_set.file if fd.name.startswith("mlopsdebug/")]
        assert len(ours) == 4
        missing = []
        for fd in ours:
            comments = {tuple(loc.path): loc.leading_comments for loc in fd.source_code_info.location}
            missing += [f"{fd.name}: {name}" for name, path in _elements(fd) if not comments.get(path, "").strip()]
        assert not missing, missing

    def test_enums_start_with_unspecified(self, descriptor_set):
        """Every enum's zero value is <ENUM>_UNSPECIFIED."""
        for fd in descriptor_set.file:
            if not fd.name.startswith("mlopsdebug/"):
                continue
            for e in fd.enum_type:
                zero = e.value[0]
                assert zero.number == 0 and zero.name.endswith("_UNSPECIFIED"), e.name

    def test_fixed_service_and_rpc_names(self, descriptor_set):
        """The package, service and RPC names that clients depend on are as design.md fixes them.

        StepBatch and the sealed-evaluation RPCs (CreateEvaluation, GetEvaluation, CloseEvaluation)
        are the additions beyond design.md's list (additive: no fixed name changed).
        """
        services = {
            f"{fd.package}.{s.name}": sorted(m.name for m in s.method)
            for fd in descriptor_set.file
            if fd.name.startswith("mlopsdebug/")
            for s in fd.service
        }
        assert services == {
            "mlopsdebug.generator.v1.GeneratorService": ["GenerateScenario", "ListTasks"],
            "mlopsdebug.episode.v1.EpisodeService": sorted(
                ["ListTasks", "Reset", "Step", "GetState", "CloseEpisode", "Session", "StepBatch"]
                + ["CreateEvaluation", "GetEvaluation", "CloseEvaluation"]
            ),
            "mlopsdebug.grader.v1.GraderService": ["Grade"],
        }

    def test_every_rpc_has_its_own_messages(self, descriptor_set):
        """No two RPCs share a request or response message."""
        seen: list[str] = []
        for fd in descriptor_set.file:
            for s in fd.service:
                for m in s.method:
                    seen += [m.input_type, m.output_type]
        assert len(seen) == len(set(seen))


class TestNamesAgree:
    def test_action_names_match_the_contract_everywhere(self):
        """The services' and the client's action names are exactly the Action oneof's fields, in order."""
        from mlopsdebug.common.v1 import common_pb2
        from mlopsdebug_client.actions import ACTION_TYPES as CLIENT_ACTIONS
        from mlopsdebug_common.domain import ACTION_TYPES

        oneof = [f.name for f in common_pb2.Action.DESCRIPTOR.oneofs_by_name["kind"].fields]
        assert list(ACTION_TYPES) == oneof == list(CLIENT_ACTIONS)


BUF = ROOT / "tools" / "node_modules" / ".bin" / "buf"
BUF_CONFIG = gen_protos.PROTO_ROOT / "buf.yaml"


@pytest.fixture(scope="module")
def buf() -> pathlib.Path:
    """buf from tools/ (`./dev setup` installs it with npm). CI must have it; elsewhere it may be absent."""
    if not BUF.exists():
        if os.environ.get("CI"):
            pytest.fail("buf is not installed: ./dev setup installs it from tools/package.json with npm")
        pytest.skip("buf is not installed (needs Node.js and npm; ./dev setup installs it)")
    return BUF


def _buf(buf: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(buf), *args, "--config", str(BUF_CONFIG)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> pathlib.Path:
    """The contracts as they are now, as an image for buf."""
    out = tmp_path_factory.mktemp("buf") / "image.binpb"
    gen_protos.build_image(out)
    return out


class TestBuf:
    """buf's standard lint rules and breaking-change detection against the released v1 contracts."""

    def test_lint_passes_the_standard_rules(self, buf, image):
        result = _buf(buf, "lint", str(image), "--path", "mlopsdebug")
        assert result.returncode == 0, result.stdout + result.stderr

    def test_no_breaking_change_since_the_baseline(self, buf, image):
        result = _buf(buf, "breaking", str(image), "--against", str(gen_protos.BASELINE), "--path", "mlopsdebug")
        assert result.returncode == 0, f"a breaking change to a released contract:\n{result.stdout}{result.stderr}"

    def test_the_breaking_check_catches_a_renumbered_field(self, buf, tmp_path):
        """The check above can fail: a copy of the contracts with one field renumbered is caught."""
        protos = tmp_path / "protos"
        shutil.copytree(gen_protos.PROTO_ROOT / "mlopsdebug", protos / "mlopsdebug")
        common = protos / "mlopsdebug" / "common" / "v1" / "common.proto"
        text = common.read_text()
        assert "ReadConfig read_config = 1;" in text
        common.write_text(text.replace("ReadConfig read_config = 1;", "ReadConfig read_config = 99;"))
        image = tmp_path / "image.binpb"
        gen_protos.build_image(image, proto_root=protos)
        result = _buf(buf, "breaking", str(image), "--against", str(gen_protos.BASELINE), "--path", "mlopsdebug")
        assert result.returncode != 0
        assert "read_config" in result.stdout + result.stderr

    def test_the_lint_catches_an_unversioned_package(self, buf, tmp_path):
        """The lint can fail too: a contract whose package has no version suffix is refused."""
        protos = tmp_path / "protos"
        shutil.copytree(gen_protos.PROTO_ROOT / "mlopsdebug", protos / "mlopsdebug")
        grader = protos / "mlopsdebug" / "grader" / "v1" / "grader_service.proto"
        grader.write_text(grader.read_text().replace("package mlopsdebug.grader.v1;", "package mlopsdebug.grader;"))
        image = tmp_path / "image.binpb"
        gen_protos.build_image(image, proto_root=protos)
        result = _buf(buf, "lint", str(image), "--path", "mlopsdebug")
        assert result.returncode != 0
        assert "mlopsdebug.grader" in result.stdout + result.stderr

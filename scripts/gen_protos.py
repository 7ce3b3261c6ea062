"""Regenerates the committed Python stubs from protos/ (one command: `python scripts/gen_protos.py`).

Stubs go to protos/python/src/ (the `mlopsdebug-protos` distribution) so that `mlopsdebug.<svc>.v1`
imports mirror the proto packages.
`--out DIR` writes elsewhere (the freshness test compares such a copy with the committed one).
`--baseline` instead records the contracts as released (`protos/v1.baseline.binpb`), the reference
that `buf breaking` checks every later change against: run it when a release is cut, never to make
a breaking change pass.
"""

from __future__ import annotations

import argparse
import importlib.resources
import pathlib
import sys

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parents[1]
PROTO_ROOT = ROOT / "protos"
BASELINE = PROTO_ROOT / "v1.baseline.binpb"
# The mlopsdebug-protos distribution's source root: the generated `mlopsdebug` package lives here.
STUBS_ROOT = PROTO_ROOT / "python" / "src"


def _include_dirs() -> list[str]:
    """Well-known types ship with grpc_tools; google/rpc protos with googleapis-common-protos."""
    grpc_tools_protos = importlib.resources.files("grpc_tools") / "_proto"
    import google.rpc  # noqa: PLC0415 - located only to find its .proto files

    googleapis_root = pathlib.Path(google.rpc.__path__[0]).parents[1]
    return [str(PROTO_ROOT), str(grpc_tools_protos), str(googleapis_root)]


def proto_files(proto_root: pathlib.Path = PROTO_ROOT) -> list[str]:
    """The contract's .proto files, relative to the root they import from."""
    return sorted(str(p.relative_to(proto_root)) for p in proto_root.rglob("*.proto"))


def build_image(out: pathlib.Path, *, proto_root: pathlib.Path = PROTO_ROOT, source_info: bool = True) -> None:
    """Writes the contracts (and what they import) as one FileDescriptorSet: an image buf can check.

    buf reads it directly, so the checks need neither buf's own build nor a registry for google/rpc.
    """
    args = ["grpc_tools.protoc", f"-I{proto_root}", *[f"-I{d}" for d in _include_dirs()[1:]], "--include_imports"]
    if source_info:
        args.append("--include_source_info")
    args.append(f"--descriptor_set_out={out}")
    if protoc.main(args + proto_files(proto_root)) != 0:
        raise SystemExit("protoc failed")


def generate(out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Generates *_pb2.py, *_pb2.pyi and *_pb2_grpc.py plus __init__.py files into out_dir."""
    rel = proto_files()
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["grpc_tools.protoc"]
    args += [f"-I{d}" for d in _include_dirs()]
    args += [f"--python_out={out_dir}", f"--pyi_out={out_dir}", f"--grpc_python_out={out_dir}"]
    args += rel
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    written = []
    for proto in rel:
        package_dir = out_dir / pathlib.Path(proto).parent
        for parent in [package_dir, *package_dir.relative_to(out_dir).parents]:
            init = out_dir / parent / "__init__.py"
            if parent != pathlib.Path(".") and not init.exists():
                init.write_text('"""Generated from protos/; do not edit (scripts/gen_protos.py)."""\n')
        written.append(package_dir)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out", type=pathlib.Path, default=STUBS_ROOT, help=f"output root (default: {STUBS_ROOT.relative_to(ROOT)})"
    )
    parser.add_argument("--baseline", action="store_true", help=f"record the released contracts in {BASELINE.name}")
    args = parser.parse_args(argv)
    if args.baseline:
        build_image(BASELINE, source_info=False)
        print(f"wrote {BASELINE.relative_to(ROOT)}")
        return 0
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

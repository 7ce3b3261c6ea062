"""The Node.js client (clients/node) against a real in-process cluster: its own node:test suite, and
the same scripted episodes played from Node and from Python, observation for observation.

`./dev setup` installs and builds the client when Node.js and npm are there. Without them these tests
skip, except under CI, where they fail.
"""

from __future__ import annotations

import filecmp
import json
import math
import os
import pathlib
import shutil
import subprocess

import pytest
from compat.gateway_support import gold_submission
from google.protobuf import json_format

from mlopsdebug_client import EpisodeClient, actions

NODE_CLIENT = pathlib.Path(__file__).resolve().parents[2] / "clients" / "node"
BUILT = NODE_CLIENT / "dist" / "examples" / "replay.js"


@pytest.fixture(scope="module")
def node() -> str:
    path = shutil.which("node")
    if path is None or not BUILT.exists():
        if os.environ.get("CI"):
            pytest.fail("the Node client is not built: ./dev setup builds it (needs Node.js and npm)")
        pytest.skip("the Node client is not built (needs Node.js and npm; ./dev setup builds it)")
    return path


def _run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """A hang guard, not a speed check: a timeout fails with the last subtests the child printed."""
    try:
        return subprocess.run(
            args, cwd=NODE_CLIENT, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"{args[:3]} did not finish in {timeout:.0f} s; its output ended with:\n{out[-4000:]}")


# The suite takes 13-35 s here; the in-process cluster shares this process, so a loaded machine (CI
# beside other jobs) can take several times that. Every guard sits inside the next one out, so a hang
# reports itself by name: one node test (2 min), the whole node run (7 min), this pytest test (8 min).
# --test-force-exit: a test that fails before closing its client must not keep the run alive on its channel.
NODE_TEST_FLAGS = ("--test", "--test-timeout=120000", "--test-force-exit")


@pytest.mark.timeout(480)
def test_the_node_test_suite_passes_against_a_live_service(node, cluster):
    result = _run([node, *NODE_TEST_FLAGS, "dist/test/"],
                  env={"MLOPSDEBUG_EPISODE_ADDR": cluster.episode_addr}, timeout=420)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def test_the_node_client_connects_with_tls(node, cluster, tmp_path):
    """The Node client's TLS tests (skipped in the run above) against an episode service serving TLS:
    the CA as `tlsCaFile` or from MLOPSDEBUG_TLS_CA; a plaintext client is refused."""
    import grpc
    from inprocess import InProcessCluster

    from mlopsdebug_common.certs import generate_cluster_certs

    made = generate_cluster_certs(tmp_path, identities=("episode",))
    edge = grpc.ssl_server_credentials([(made.keys["episode"].read_bytes(), made.certs["episode"].read_bytes())])
    tls_cluster = InProcessCluster(episode_overrides={"edge_credentials": edge}).start()
    try:
        result = _run(
            [node, *NODE_TEST_FLAGS, "--test-name-pattern=TLS", "dist/test/"],
            env={"MLOPSDEBUG_EPISODE_ADDR": cluster.episode_addr, "MLOPSDEBUG_TLS_EPISODE_ADDR": tls_cluster.episode_addr,
                 "MLOPSDEBUG_TLS_CA_FILE": str(made.ca)},
        )
    finally:
        tls_cluster.stop()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "# fail 0" in result.stdout and "# pass 3" in result.stdout, result.stdout[-3000:]


SCRIPT = [
    ["read_config"],
    ["read_logs", "epoch:1-2"],
    ["check_dataset_stats"],
    ["inspect_preprocessing"],
    ["read_eval_results"],
    ["run_sanity_check", "metric_gap_analysis"],
    ["run_sanity_check", "data_leakage"],
    ["query_artifact", "config.yaml", "optimizer"],
    ["query_artifact", "eval_results.json", "no.such.key"],
    ["read_config"],
]


def _python_action(item: list) -> object:
    kind, *args = item
    if kind == "submit_diagnosis":
        return actions.from_dict({"action_type": kind, **args[0]})
    builder = getattr(actions, kind)
    return builder(*args)


def _normalized(value):
    """One JSON shape for both languages: no nulls (unset messages; NaN, which JSON.stringify writes as
    null), int64 as numbers, and no `result` (proto-loader's name of the set oneof member)."""
    if isinstance(value, dict):
        items = ((k, _normalized(v)) for k, v in value.items() if k != "result")
        return {k: v for k, v in items if v is not None}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    if isinstance(value, float) and math.isnan(value) or value == "NaN":
        return None
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return value


@pytest.mark.parametrize(("task_id", "seed"), [("easy", 4), ("medium", 5), ("hard", 6)])
def test_node_and_python_see_the_same_episode(node, cluster, task_id, seed):
    """Every observation of a scripted episode, ending in the correct diagnosis, is the same whichever
    language plays it: artifacts, check results, rewards, the grade and its explanations."""
    submission = gold_submission(cluster, task_id, seed)
    spec = {k: v for k, v in submission.items() if k != "action_type"}
    camel = {
        "failureCategory": spec["failure_category"],
        "rootCauseFile": spec["root_cause_file"],
        "rootCauseField": spec["root_cause_field"],
        "diagnosis": spec["diagnosis"],
        "proposedFix": spec["proposed_fix"],
    }
    script = [*SCRIPT, ["submit_diagnosis", camel]]
    result = _run([node, str(BUILT), cluster.episode_addr, task_id, str(seed), json.dumps(script)], timeout=60)
    assert result.returncode == 0, result.stderr
    from_node = [_normalized(json.loads(line)) for line in result.stdout.splitlines()]

    with EpisodeClient(cluster.episode_addr) as client, client.session() as session:
        observations = [session.reset(task_id, seed).observation]
        python_script = [*SCRIPT, ["submit_diagnosis", spec]]
        observations += [session.step(_python_action(item)).observation for item in python_script]
    from_python = [
        _normalized(json_format.MessageToDict(o, always_print_fields_with_no_presence=True)) for o in observations
    ]

    assert len(from_node) == len(from_python) == len(script) + 1
    for index, (js, py) in enumerate(zip(from_node, from_python, strict=True)):
        if js != py:
            diff = {k: (js.get(k), py.get(k)) for k in set(js) | set(py) if js.get(k) != py.get(k)}
            pytest.fail(f"observation {index} differs: {str(diff)[:3000]}")
    assert from_node[-1]["done"] is True and from_node[-1]["reward"] == 1.0


def test_the_committed_typescript_types_are_current(node, tmp_path):
    """Regenerating the client's TypeScript types from protos/ changes nothing (like the Python stubs)."""
    script = json.loads((NODE_CLIENT / "package.json").read_text())["scripts"]["gen-types"]
    committed = NODE_CLIENT / "src" / "generated"
    args = script.replace("--outDir src/generated", f"--outDir {tmp_path}").split()
    args[0] = str(NODE_CLIENT / "node_modules" / ".bin" / args[0])
    result = _run(args)
    assert result.returncode == 0, result.stderr
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.ts"))
    assert fresh == sorted(p.relative_to(committed) for p in committed.rglob("*.ts")), "run npm run gen-types"
    stale = [str(p) for p in fresh if not filecmp.cmp(tmp_path / p, committed / p, shallow=False)]
    assert not stale, f"stale TypeScript types (cd clients/node && npm run gen-types): {stale}"


PACKED_PLAY = """
const assert = require("node:assert/strict");
const { EpisodeClient, actions } = require("@mlopsdebug/client");
const where = require.resolve("@mlopsdebug/client");
(async () => {
  const client = new EpisodeClient(process.argv[1]);  // node -e SCRIPT ADDRESS
  const session = client.session();
  const reset = await session.reset("easy", { seed: 3 });
  const step = await session.step(actions.readConfig());
  assert.equal(step.observation.stepCount, 1);
  await session.end();
  client.close();
  console.log(JSON.stringify({ where, episode: reset.episodeId, license: require("@mlopsdebug/client/package.json").license }));
})().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.mark.timeout(1200)  # npm pack (up to 5 min) then npm install (up to 10 min) on a slow registry
def test_the_packed_package_installs_and_plays_from_its_own_files(node, cluster, tmp_path):
    """`npm pack` makes a publishable tarball (built sources, types, the contracts, the README; no tests),
    and a project that installs it plays an episode with the package's own copy of the protos."""
    npm = shutil.which("npm")
    assert npm is not None
    packed = _run([npm, "pack", "--json", "--pack-destination", str(tmp_path)], timeout=300)
    assert packed.returncode == 0, packed.stderr[-3000:]
    manifest = json.loads(packed.stdout[packed.stdout.index("[") :])[0]
    files = {f["path"] for f in manifest["files"]}
    assert {"package.json", "README.md", "dist/src/index.js", "dist/src/index.d.ts",
            "dist/protos/mlopsdebug/episode/v1/episode_service.proto"} <= files
    assert not [f for f in files if f.startswith(("dist/test/", "test/", "node_modules/"))]
    project = tmp_path / "consumer"
    project.mkdir()
    (project / "package.json").write_text('{"name": "consumer", "version": "1.0.0", "private": true}\n')
    installed = subprocess.run(
        [npm, "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
         str(tmp_path / manifest["filename"])], cwd=project, capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    played = subprocess.run([node, "-e", PACKED_PLAY, cluster.episode_addr], cwd=project, capture_output=True,
                            text=True, timeout=120)
    assert played.returncode == 0, played.stderr[-3000:]
    result = json.loads(played.stdout)
    assert pathlib.Path(result["where"]).is_relative_to(project / "node_modules")
    assert result["episode"] and result["license"] == "MIT"

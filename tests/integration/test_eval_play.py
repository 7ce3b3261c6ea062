"""`mlopsdebug play` against the in-process cluster: the inference-format lines, for the heuristic agent
and for the llm agent talking to a local fake OpenAI-compatible endpoint."""

from __future__ import annotations

import http.server
import json
import re
import threading
from typing import Any

from mlopsdebug_cli.main import main

START = re.compile(r"^\[START\] task=(easy|medium|hard) env=mlops-debug-env model=\S+$")
STEP = re.compile(r"^\[STEP\] step=\d+ action=\S.* reward=-?\d+\.\d\d done=(true|false) error=(null|.+)$")
END = re.compile(r"^\[END\] success=(true|false) steps=\d+ score=\d\.\d{3} rewards=(-?\d+\.\d\d)(,-?\d+\.\d\d)*$")


def episodes(stdout: str) -> list[list[str]]:
    """The printed lines grouped per episode; every line must be one of the three kinds."""
    groups: list[list[str]] = []
    for line in stdout.splitlines():
        if line.startswith("[START]"):
            groups.append([])
        groups[-1].append(line)
    return groups


def check_format(group: list[str]) -> None:
    assert START.match(group[0]), group[0]
    assert all(STEP.match(line) for line in group[1:-1]), group
    assert END.match(group[-1]), group[-1]


class ScriptedModel:
    """A local OpenAI-compatible endpoint: reads the config, runs one check, then submits."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        model = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                model.bodies.append(body)
                calls_so_far = sum(1 for m in body["messages"] if m["role"] == "tool")
                name, args = [
                    ("read_config", {}),
                    ("run_sanity_check", {"check": "loss_trajectory"}),
                    (
                        "submit_diagnosis",
                        {
                            "failure_category": "config_error",
                            "root_cause_file": "config.yaml",
                            "root_cause_field": "optimizer.learning_rate",
                            "diagnosis": "the loss diverged",
                            "proposed_fix": "lower the learning rate to 0.001",
                        },
                    ),
                ][min(calls_so_far, 2)]
                message = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"id": f"call{calls_so_far}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
                    ],
                }
                payload = json.dumps({"choices": [{"index": 0, "message": message}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TestPlay:
    def test_heuristic_plays_every_task_in_the_inference_format(self, cluster, capsys):
        """By default one heuristic episode per task is printed as [START]/[STEP]/[END] lines, nothing else."""
        assert main(["play", "--address", cluster.episode_addr, "--seed", "3"]) == 0
        groups = episodes(capsys.readouterr().out)
        assert [g[0].split()[1] for g in groups] == ["task=easy", "task=medium", "task=hard"]
        for group in groups:
            check_format(group)
            assert "model=heuristic" in group[0] and "done=true" in group[-2]

    def test_llm_agent_against_a_fake_endpoint(self, cluster, capsys, monkeypatch):
        """The llm agent plays through tool calls from a local endpoint; its prompts hold no answer."""
        model = ScriptedModel()
        monkeypatch.setenv("MLOPSDEBUG_LLM_BASE_URL", model.base_url)
        monkeypatch.setenv("MLOPSDEBUG_LLM_MODEL", "scripted")
        monkeypatch.setenv("MLOPSDEBUG_LLM_API_KEY", "sk-local")
        try:
            assert main(["play", "--address", cluster.episode_addr, "--agent", "llm", "--tasks", "easy"]) == 0
        finally:
            model.stop()
        (group,) = episodes(capsys.readouterr().out)
        check_format(group)
        assert [line.split()[2] for line in group[1:-1]] == [
            "action=read_config()",
            "action=run_sanity_check('loss_trajectory')",
            "action=submit_diagnosis(category='config_error',file='config.yaml',field='optimizer.learning_rate',fix='lower",
        ]
        assert group[-1].startswith("[END]") and " steps=3 " in group[-1]
        sent = json.dumps(model.bodies)
        assert len(model.bodies) == 3 and "config.yaml" in sent
        for fault in ("exploding_lr", "wrong_optimizer", "batch_size_overflow"):
            assert fault not in sent

    def test_unknown_agent_exits_2(self, cluster, capsys):
        """An unknown agent name is refused before anything is played."""
        assert main(["play", "--address", cluster.episode_addr, "--agent", "nobody"]) == 2
        assert "unknown agent" in capsys.readouterr().err

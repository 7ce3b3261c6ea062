"""Unit tests of the agents package: the runner, the inference-format lines, the random and llm agents.

The episode side is a small scripted session (no servers); the llm agent talks to a real local HTTP
server that plays an OpenAI-compatible endpoint returning scripted tool calls.
"""

from __future__ import annotations

import ast
import asyncio
import email.utils
import http.server
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_agents import Agent, RandomAgent, load_agent_factory, run_episode
from mlopsdebug_agents.lines import action_str, end_line, start_line, step_line
from mlopsdebug_agents.llm import SYSTEM_PROMPT, LLMAgentFactory, LLMError, LLMSettings
from mlopsdebug_client import NotFoundError
from mlopsdebug_client.actions import as_action
from mlopsdebug_client.errors import StatusCode, make_error

FAULT_IDS = (
    "exploding_lr",
    "wrong_optimizer",
    "batch_size_overflow",
    "data_leakage_scaler",
    "data_leakage_overlap",
    "wrong_split_ratio",
    "label_encoder_mismatch",
    "silent_metric_swap",
    "tokenizer_version_drift",
)
CONFIG = "optimizer:\n  name: adam\n  learning_rate: 0.001\ntraining:\n  batch_size: 64\n"


class ScriptedSession:
    """Plays an episode like the service: rewards for first reads, budget, grade on submission."""

    def __init__(self, max_steps: int = 6, score: float = 0.85, fault: str | None = "exploding_lr") -> None:
        self.max_steps = max_steps
        self.score = score
        self.fault = fault
        self.closed: list[str] = []
        self.actions: list[common_pb2.Action] = []
        self._obs = common_pb2.Observation()
        self._read: set[str] = set()

    async def reset(self, task_id: str, seed: int | None = None, episode_id: str = "") -> ep_pb.ResetResponse:
        self._obs = common_pb2.Observation(task_id=task_id, task_description="debug it", max_steps=self.max_steps)
        self._obs.run_summary.final_train_loss = float("nan")
        return ep_pb.ResetResponse(episode_id=f"ep-{task_id}-{seed}", seed=seed or 0, observation=self._obs)

    async def step(self, action: Any, episode_id: str = "") -> ep_pb.StepResponse:
        action = as_action(action)
        kind = action.WhichOneof("kind")
        if kind == "run_sanity_check" and action.run_sanity_check.check == 0:
            raise make_error(StatusCode.INVALID_ARGUMENT, "action.run_sanity_check.check: required")
        self.actions.append(action)
        obs = common_pb2.Observation()
        obs.CopyFrom(self._obs)
        obs.ClearField("last_action_result")
        obs.step_count += 1
        if kind == "submit_diagnosis":
            grade = obs.last_action_result.grade
            grade.score = self.score
            grade.components.add(kind=common_pb2.GRADE_COMPONENT_KIND_CATEGORY, weight=0.15, credit=1.0, reason="ok")
            if self.fault:
                grade.answer.fault_id = self.fault
            obs.reward = self.score
            obs.terminated = obs.done = True
        else:
            if kind == "read_config":
                obs.last_action_result.artifact.name = common_pb2.ARTIFACT_NAME_CONFIG_YAML
                obs.last_action_result.artifact.content = CONFIG
            obs.reward = 0.02 if kind not in self._read else -0.02
            self._read.add(kind)
            if obs.step_count >= self.max_steps:
                obs.truncated = obs.done = True
        obs.cumulative_reward += obs.reward
        self._obs = obs
        return ep_pb.StepResponse(observation=obs)

    async def close_episode(self, episode_id: str = "") -> ep_pb.CloseEpisodeResponse:
        if episode_id in self.closed:
            raise make_error(StatusCode.NOT_FOUND, "gone")
        self.closed.append(episode_id)
        return ep_pb.CloseEpisodeResponse()


class ScriptAgent(Agent):
    """Returns the given actions in order."""

    def __init__(self, seed: int = 0, script: list[Any] | None = None) -> None:
        super().__init__(seed)
        self.script = list(script or [])
        self.seen: list[dict[str, Any]] = []

    def act(self, observation):
        self.seen.append(dict(observation))
        return self.script.pop(0)


SUBMIT = {
    "action_type": "submit_diagnosis",
    "failure_category": "config_error",
    "root_cause_file": "config.yaml",
    "root_cause_field": "optimizer.learning_rate",
    "diagnosis": "diverged",
    "proposed_fix": "set it to 1e-3",
}


def play(session: ScriptedSession, agent: Agent, **kwargs: Any):
    return asyncio.run(run_episode(session, agent, "easy", 7, agent_name="script", **kwargs))


class TestRunner:
    def test_records_steps_grade_fault_and_closes(self):
        """A submitted episode records each step, the grade, the revealed fault, and is closed."""
        session = ScriptedSession()
        record = play(session, ScriptAgent(script=[{"action_type": "read_config"}, SUBMIT]))
        assert (record.status, record.score, record.n_steps, record.fault) == ("terminated", 0.85, 2, "exploding_lr")
        assert record.steps[0].observation["result"] == {"type": "artifact", "name": "config.yaml", "chars": len(CONFIG)}
        assert record.rewards == [0.02, 0.85]
        assert session.closed == ["ep-easy-7"]
        assert record.to_json()["grade"]["components"][0]["kind"] == "category"

    def test_agent_never_sees_the_grade(self):
        """The agent is not called after the final step, so the revealed answer never reaches it."""
        agent = ScriptAgent(script=[{"action_type": "read_config"}, SUBMIT])
        play(ScriptedSession(), agent)
        assert len(agent.seen) == 2 and all(o["last_action_result"].get("type") != "grade" for o in agent.seen)

    def test_budget_exhausted_is_truncated_with_score_zero(self):
        """Running out of steps ends the episode as truncated with score 0 and no grade."""
        record = play(ScriptedSession(max_steps=3), ScriptAgent(script=[{"action_type": "read_config"}] * 3))
        assert (record.status, record.score, record.grade, record.success) == ("truncated", 0.0, None, False)

    def test_refused_action_is_recorded_and_the_agent_is_told(self):
        """A refused action is recorded with its error, does not count, and the agent sees the error next."""
        agent = ScriptAgent(script=[{"action_type": "run_sanity_check"}, SUBMIT])
        record = play(ScriptedSession(), agent)
        assert record.steps[0].error == "action.run_sanity_check.check: required"
        assert record.n_steps == 1 and record.score == 0.85
        assert agent.seen[1]["last_action_error"] == "action.run_sanity_check.check: required"

    def test_too_many_refusals_abort_the_episode(self):
        """An agent that keeps sending refused actions is stopped: status aborted, score 0, episode closed."""
        session = ScriptedSession()
        record = play(session, ScriptAgent(script=[{"action_type": "run_sanity_check"}] * 5), max_refusals=5)
        assert (record.status, record.score, len(record.steps), session.closed) == ("aborted", 0.0, 5, ["ep-easy-7"])

    def test_malformed_action_is_refused_client_side(self):
        """An action dict the client cannot build is refused without a call and recorded as such."""
        session = ScriptedSession()
        record = play(session, ScriptAgent(script=[{"action_type": "dance"}, SUBMIT]))
        assert record.steps[0].error.startswith("malformed action") and len(session.actions) == 1

    def test_service_errors_propagate_after_closing(self):
        """A service error other than INVALID_ARGUMENT fails the episode (no record) and still closes it."""

        class Broken(ScriptedSession):
            async def step(self, action, episode_id=""):
                raise make_error(StatusCode.UNAVAILABLE, "down")

        session = Broken()
        with pytest.raises(Exception, match="down"):
            play(session, ScriptAgent(script=[{"action_type": "read_config"}]))
        assert session.closed == ["ep-easy-7"]

    def test_lines_are_emitted_in_inference_format(self):
        """emit receives [START], one [STEP] per action and [END] with the rewards."""
        lines: list[str] = []
        play(ScriptedSession(), ScriptAgent(script=[{"action_type": "read_config"}, SUBMIT]), emit=lines.append)
        assert lines[0] == "[START] task=easy env=mlops-debug-env model=script"
        assert lines[1] == "[STEP] step=1 action=read_config() reward=0.02 done=false error=null"
        assert lines[2].startswith("[STEP] step=2 action=submit_diagnosis(category='config_error',")
        assert lines[2].endswith("reward=0.85 done=true error=null")
        assert lines[3] == "[END] success=true steps=2 score=0.850 rewards=0.02,0.85"

    def test_record_json_is_strict_json(self):
        """NaN (a diverged run's loss) never reaches the JSON record."""
        record = play(ScriptedSession(), ScriptAgent(script=[SUBMIT]))
        json.dumps(record.to_json(), allow_nan=False)


class TestLines:
    def test_action_strings(self):
        """Actions are spelled as one-line calls with quoted arguments."""
        assert action_str({"action_type": "read_logs", "log_filter": "epoch:1-2"}) == "read_logs('epoch:1-2')"
        assert action_str({"action_type": "read_logs"}) == "read_logs()"
        assert (
            action_str({"action_type": "query_artifact", "artifact_name": "config.yaml", "field_path": "a.b"})
            == "query_artifact('config.yaml','a.b')"
        )
        multi = dict(SUBMIT, proposed_fix="line one\nline 'two'")
        assert "\n" not in action_str(multi) and "fix='line one line \\'two\\''" in action_str(multi)

    def test_line_formats(self):
        """The three lines follow the inference format exactly."""
        assert start_line("hard", "llm") == "[START] task=hard env=mlops-debug-env model=llm"
        assert step_line(3, "read_config()", -0.02, False, "bad\nthing") == (
            "[STEP] step=3 action=read_config() reward=-0.02 done=false error=bad thing"
        )
        assert end_line(False, 0, 0.0, []) == "[END] success=false steps=0 score=0.000 rewards="


class TestRandomAgent:
    def test_same_seed_same_episode(self):
        """Two random agents with one seed play identically; another seed plays differently."""

        def actions(seed: int) -> list[str]:
            session = ScriptedSession(max_steps=20)
            record = play(session, RandomAgent(seed))
            return [s.action_str for s in record.steps]

        assert actions(3) == actions(3)
        assert any(actions(3) != actions(s) for s in (4, 5, 6))

    def test_actions_are_valid_and_end_in_a_submission(self):
        """Every random action is well formed and each episode ends with a graded submission."""
        for seed in range(30):
            record = play(ScriptedSession(max_steps=20), RandomAgent(seed))
            assert all(s.error is None for s in record.steps)
            assert record.status == "terminated" and record.steps[-1].action["action_type"] == "submit_diagnosis"


class TestRegistry:
    def test_builtin_and_module_agents(self):
        """Built-in names and module:Class both load; unknown names fail with the choices."""
        assert load_agent_factory("random") is RandomAgent
        assert load_agent_factory("mlopsdebug_agents:RandomAgent") is RandomAgent
        with pytest.raises(ValueError, match="random, heuristic, llm"):
            load_agent_factory("nope")
        with pytest.raises(ValueError, match="cannot import"):
            load_agent_factory("no_such_module_xyz:Agent")

    def test_llm_needs_a_model(self, monkeypatch):
        """The llm agent refuses to start without a model name and reads the fallbacks."""
        for name in ("MLOPSDEBUG_LLM_MODEL", "MODEL_NAME", "OPENAI_MODEL"):
            monkeypatch.delenv(name, raising=False)
        with pytest.raises(ValueError, match="MLOPSDEBUG_LLM_MODEL"):
            load_agent_factory("llm")
        settings = LLMSettings.from_env({"MODEL_NAME": "m", "API_BASE_URL": "http://x/v1/", "HF_TOKEN": "t"})
        assert (settings.model, settings.base_url, settings.api_key) == ("m", "http://x/v1", "t")
        first = LLMSettings.from_env({"MLOPSDEBUG_LLM_MODEL": "a", "MODEL_NAME": "b", "OPENAI_API_KEY": "k"})
        assert (first.model, first.api_key, first.base_url) == ("a", "k", "https://api.openai.com/v1")


# -- the fake OpenAI-compatible endpoint --


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str) -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}


class FakeOpenAI:
    """A real HTTP server on 127.0.0.1 answering /v1/chat/completions from a script of messages."""

    def __init__(self, replies: list[dict[str, Any] | int | tuple[int, dict[str, str]]]) -> None:
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.headers.append(dict(self.headers))
                reply = fake.replies.pop(0) if fake.replies else {"role": "assistant", "content": "done"}
                if isinstance(reply, int | tuple):  # a failure: a status, or (status, headers)
                    status, headers = (reply, {}) if isinstance(reply, int) else reply
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(b'{"error": "scripted failure"}')
                    return
                payload = json.dumps(
                    {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": reply}]}
                ).encode()
                self.send_response(200 if self.path == "/v1/chat/completions" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm_factory() -> Iterator[Any]:
    made: list[httpx.Client] = []

    def make(fake: FakeOpenAI, **overrides: Any) -> LLMAgentFactory:
        overrides.setdefault("retry_backoff_s", 0.01)
        settings = LLMSettings(model="fake-model", base_url=fake.base_url, api_key="sk-test", **overrides)
        made.append(httpx.Client(timeout=10))
        return LLMAgentFactory(settings, http=made[-1])

    yield make
    for client in made:
        client.close()


def assistant(*calls: dict[str, Any], content: str = "") -> dict[str, Any]:
    return {"role": "assistant", "content": content, "tool_calls": list(calls)}


class TestLLMAgent:
    def test_plays_scripted_tool_calls_to_a_graded_submission(self, llm_factory):
        """Tool calls become actions; results go back as tool messages; the lines are printed."""
        script = [
            assistant(tool_call("read_config", {}, "c1")),
            assistant(tool_call("run_sanity_check", {"check": "gradient_norms"}, "c2")),
            assistant(tool_call("submit_diagnosis", {k: v for k, v in SUBMIT.items() if k != "action_type"}, "c3")),
        ]
        lines: list[str] = []
        with FakeOpenAI(script) as fake:
            agent = llm_factory(fake)(seed=7)
            record = play(ScriptedSession(), agent, emit=lines.append)
        assert [s.action["action_type"] for s in record.steps] == ["read_config", "run_sanity_check", "submit_diagnosis"]
        assert record.score == 0.85 and lines[0].endswith("model=script") and lines[-1].startswith("[END] success=true")
        first, last = fake.requests[0], fake.requests[-1]
        assert first["model"] == "fake-model" and {t["function"]["name"] for t in first["tools"]} >= {"submit_diagnosis"}
        assert fake.headers[0]["Authorization"] == "Bearer sk-test"
        tool_messages = [m for m in last["messages"] if m["role"] == "tool"]
        assert [m["tool_call_id"] for m in tool_messages] == ["c1", "c2"]
        assert "learning_rate: 0.001" in tool_messages[0]["content"]

    def test_prompts_never_name_a_fault(self, llm_factory):
        """No request sent to the model contains a fault id, even though the grade reveals one."""
        script = [assistant(tool_call("submit_diagnosis", {k: v for k, v in SUBMIT.items() if k != "action_type"}, "c1"))]
        with FakeOpenAI(script) as fake:
            record = play(ScriptedSession(fault="silent_metric_swap"), llm_factory(fake)(seed=1))
        assert record.fault == "silent_metric_swap"
        sent = json.dumps(fake.requests) + SYSTEM_PROMPT
        assert not [f for f in FAULT_IDS if f in sent]

    def test_refusal_is_reported_back_to_the_model(self, llm_factory):
        """A refused action reaches the model as the tool result, and the next call is played."""
        script = [
            assistant(tool_call("run_sanity_check", {"check": ""}, "c1")),
            assistant(tool_call("read_config", {}, "c2")),
            assistant(tool_call("submit_diagnosis", {k: v for k, v in SUBMIT.items() if k != "action_type"}, "c3")),
        ]
        with FakeOpenAI(script) as fake:
            record = play(ScriptedSession(), llm_factory(fake)(seed=1))
        assert record.steps[0].error is not None and record.status == "terminated"
        refused = [m for m in fake.requests[1]["messages"] if m["role"] == "tool"][0]["content"]
        assert "refused" in refused

    def test_nudges_then_falls_back_when_no_tool_call(self, llm_factory):
        """Replies without a tool call are nudged; after the nudges the step becomes a plain read."""
        script = [
            {"role": "assistant", "content": "thinking"},
            assistant(tool_call("no_such_tool", {}, "x")),
            assistant(tool_call("read_logs", "{not json", "y")),
            assistant(tool_call("submit_diagnosis", {k: v for k, v in SUBMIT.items() if k != "action_type"}, "c1")),
        ]
        with FakeOpenAI(script) as fake:
            record = play(ScriptedSession(), llm_factory(fake, max_nudges=2)(seed=1))
        assert [s.action["action_type"] for s in record.steps] == ["read_config", "submit_diagnosis"]
        nudges = [m["content"] for m in fake.requests[3]["messages"] if m["role"] == "user"][1:]
        assert any("no tool call" in n for n in nudges) and any("unknown tool" in n for n in nudges)
        assert any("not JSON" in n for n in nudges)

    def test_retries_server_errors_then_fails(self, llm_factory):
        """HTTP 5xx is retried; a persistent failure raises LLMError; a 4xx fails at once."""
        script = [503, assistant(tool_call("read_config", {}, "c1"))]
        with FakeOpenAI(script) as fake:
            agent = llm_factory(fake, max_retries=2)(seed=1)
            agent.act({"task_id": "easy", "task_description": "d", "max_steps": 5, "run_summary": {}, "available_artifacts": []})
        assert len(fake.requests) == 2
        with FakeOpenAI([500, 500]) as fake, pytest.raises(LLMError, match="after 2 attempts"):
            llm_factory(fake, max_retries=1)(seed=1).act(
                {"task_id": "easy", "task_description": "d", "max_steps": 5, "run_summary": {}, "available_artifacts": []}
            )
        with FakeOpenAI([401]) as fake, pytest.raises(LLMError, match="HTTP 401"):
            llm_factory(fake)(seed=1).act(
                {"task_id": "easy", "task_description": "d", "max_steps": 5, "run_summary": {}, "available_artifacts": []}
            )
        assert len(fake.requests) == 1

    def test_rate_limits_are_retried_after_the_time_the_endpoint_asks(self, llm_factory, monkeypatch):
        """429 with Retry-After (seconds or an HTTP date) waits that long, capped at 60 s; without it
        the backoff is jittered per episode, so that agents limited together spread their retries."""
        from mlopsdebug_agents import llm

        slept: list[float] = []
        monkeypatch.setattr(llm.time, "sleep", slept.append)
        script = [(429, {"Retry-After": "0.25"}), (429, {"Retry-After": "3600"}), 503]
        with FakeOpenAI([*script, assistant(tool_call("read_config", {}, "c1"))]) as fake:
            agent = llm_factory(fake, max_retries=3, retry_backoff_s=1.0)(seed=1)
            agent.act({"task_id": "easy", "task_description": "d", "max_steps": 5, "run_summary": {}, "available_artifacts": []})
        assert len(fake.requests) == 4
        assert slept[:2] == [0.25, 60.0] and 2.0 <= slept[2] < 6.0  # the third: 2 s x [0.5, 1.5)
        assert llm._retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now
        assert 50 < llm._retry_after_s(email.utils.formatdate(time.time() + 60, usegmt=True)) <= 60
        assert llm._retry_after_s("soon") is None and llm._retry_after_s(None) is None
        factory = llm_factory(fake, retry_backoff_s=1.0)
        waits = [factory(seed=s)._retry_delay_s(1, None) for s in range(8)]
        assert len(set(waits)) == 8 and all(0.5 <= w < 1.5 for w in waits)  # spread out, and seeded:
        assert factory(seed=3)._retry_delay_s(1, None) == waits[3]

    def test_system_prompt_states_only_public_rules(self):
        """The prompt names the categories, artifacts and checks, and the scoring, nothing fault-specific."""
        assert "config_error" in SYSTEM_PROMPT and "metric_gap_analysis" in SYSTEM_PROMPT
        assert re.search(r"0\.15 category", SYSTEM_PROMPT)
        assert not [f for f in FAULT_IDS if f in SYSTEM_PROMPT]


def test_not_found_on_close_is_ignored():
    """Closing an episode that is already gone does not fail the record."""

    class Gone(ScriptedSession):
        async def close_episode(self, episode_id=""):
            raise make_error(StatusCode.NOT_FOUND, "gone")

    assert isinstance(make_error(StatusCode.NOT_FOUND, "gone"), NotFoundError)
    record = play(Gone(), ScriptAgent(script=[SUBMIT]))
    assert record.status == "terminated"


class TestIsolation:
    def test_agents_import_only_the_client(self):
        """No module of the agents package imports service code (generator, grader, episode, common, ...)."""
        import ast
        import pathlib

        import mlopsdebug_agents

        forbidden = ("mlopsdebug_generator", "mlopsdebug_grader", "mlopsdebug_episode", "mlopsdebug_common",
                     "mlopsdebug_gateway", "mlopsdebug_cli")  # fmt: skip
        offenders = []
        for path in pathlib.Path(mlopsdebug_agents.__file__).parent.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.append(node.module)
                offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
        assert offenders == []


class TestHeuristicReading:
    """The heuristic's own readers must agree with the library functions they replace for speed."""

    SOURCES = (
        "x = 1\r\ndef f(a):\n    return {'é→': a + 2}  # ünïcode\rclass K:\n  y = [i for i in range(3)]\n",
        "\fdef g():\n\treturn 'a\\fb'\n",  # a form feed: a line end to str.splitlines, not to Python
    )

    @staticmethod
    def generated(artifact: str, seeds: int) -> list[str]:
        """The artifact as the generator writes it, for the first `seeds` seeds of each task."""
        from mlopsdebug_common.sealing import Sealer
        from mlopsdebug_generator import core

        sealer = Sealer(b"k" * 32)
        return [
            core.generate_scenario(task, seed, sealer=sealer).artifact(artifact).content
            for task in ("easy", "medium", "hard")
            for seed in range(seeds)
        ]

    def test_source_segments_match_ast(self):
        from mlopsdebug_agents.heuristic import _Code

        checked = 0
        for source in (*self.SOURCES, *self.generated("preprocessing.py", 4)):
            code = _Code(source)
            nodes = [n for n in ast.walk(ast.parse(source)) if getattr(n, "end_col_offset", None) is not None]
            # Every node of the small samples; a spread of each generated file's (the reference is quadratic).
            for node in nodes if len(nodes) < 100 else nodes[::5]:
                assert code.segment(node) == ast.get_source_segment(source, node)
                checked += 1
        assert checked > 1_000
        made_by_hand = ast.Name(id="x")  # no positions: no source, as ast.get_source_segment says
        assert _Code("x = 1\n").segment(made_by_hand) == "" and ast.get_source_segment("x = 1\n", made_by_hand) is None
        beyond = ast.parse("x = 1\ny = 2\n").body[1]
        assert _Code("x = 1\n").segment(beyond) == ""  # positions past the end of a shorter source

    def test_config_loader_reads_as_the_safe_loader(self):
        from mlopsdebug_agents.heuristic import _YAML_LOADER

        assert yaml.__with_libyaml__, "PyYAML without libyaml: the heuristic falls back to the slow loader"
        assert _YAML_LOADER is yaml.CSafeLoader
        for text in self.generated("config.yaml", 30):
            assert yaml.load(text, Loader=_YAML_LOADER) == yaml.safe_load(text)  # noqa: S506


class LosingSession(ScriptedSession):
    """Loses the episode (EpisodeLostError, as after a restart of the service) at the second step of
    each of its first `losses` plays."""

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses
        self.resets = 0

    async def reset(self, task_id: str, seed: int | None = None, episode_id: str = "") -> ep_pb.ResetResponse:
        self.resets += 1
        self._read = set()  # a new episode
        return await super().reset(task_id, seed, episode_id)

    async def step(self, action: Any, episode_id: str = "") -> ep_pb.StepResponse:
        if self.resets <= self.losses and self._obs.step_count == 1:
            from mlopsdebug_client._resume import lost_episode_error

            raise lost_episode_error(episode_id)
        return await super().step(action, episode_id)


class TestReplays:
    def _play(self, session: LosingSession, **kwargs: Any):
        from mlopsdebug_agents import run_episode_replaying

        lines: list[str] = []
        script = [{"action_type": "read_config"}, {"action_type": "read_logs"}, SUBMIT]
        record = asyncio.run(
            run_episode_replaying(
                lambda: session,
                lambda: ScriptAgent(script=script),
                "easy",
                7,
                agent_name="script",
                emit=lines.append,
                **kwargs,
            )
        )
        return record, lines

    def test_a_lost_episode_is_played_again_and_recorded_as_if_uninterrupted(self):
        record, lines = self._play(LosingSession(losses=2))
        reference, reference_lines = self._play(LosingSession(losses=0))
        assert record.timing["replays"] == 2 and reference.timing["replays"] == 0
        assert {**record.to_json(), "timing": None} == {**reference.to_json(), "timing": None}
        assert lines == reference_lines and len(lines) == 5  # only the finished play's lines

    def test_replays_are_bounded(self):
        from mlopsdebug_client import EpisodeLostError

        session = LosingSession(losses=10)
        with pytest.raises(EpisodeLostError):
            self._play(session, max_replays=2)
        assert session.resets == 3

"""Unit tests of the gateway's protocol core: config, action validation, conversions, error mapping, MCP."""

from __future__ import annotations

import asyncio
import json

import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from pydantic import ValidationError

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_common.tasks import TASK_ORDER, TASKS
from mlopsdebug_gateway import config, convert, mcp, metadata
from mlopsdebug_gateway.errors import UpstreamError, from_status, seed_field_name, ws_code
from mlopsdebug_gateway.models import (
    ACTION_TYPES,
    MLOpsObservation,
    MLOpsState,
    ResetRequest,
    parse_action,
    validation_errors,
)


def _errors(data) -> list[dict]:
    with pytest.raises(ValidationError) as info:
        parse_action(data)
    return validation_errors(info.value)


def _observation(**overrides) -> pb.Observation:
    obs = pb.Observation(
        task_id="easy",
        task_description="debug it",
        run_id="run-1",
        run_summary=pb.RunSummary(
            run_id="run-1",
            model="resnet18",
            dataset="cifar10",
            modality="vision",
            training_status=pb.TRAINING_STATUS_DIVERGED,
            epochs_planned=10,
            epochs_completed=3,
            final_train_loss=float("nan"),
            final_val_loss=float("inf"),
            primary_metric="accuracy",
            val_metric=0.1,
            test_metric=0.1,
            wall_clock_seconds=12.5,
            started_at="2025-01-01T00:00:00Z",
        ),
        available_artifacts=[
            pb.ArtifactMeta(
                name=pb.ARTIFACT_NAME_CONFIG_YAML,
                file_name="config.yaml",
                description="the config",
                size_hint="20 lines",
                last_modified="2025-01-01T00:00:00Z",
            )
        ],
        artifacts_read=["config.yaml"],
        step_count=1,
        max_steps=20,
        reward=0.02,
        cumulative_reward=0.02,
        messages=["19 steps left"],
    )
    for name, value in overrides.items():
        setattr(obs, name, value)
    return obs


class TestConfig:
    def test_defaults_without_variables(self):
        """An empty environment gives port 7860 and the episode service on localhost:50052."""
        cfg = config.from_env({})
        assert (cfg.port, cfg.episode_addr, cfg.default_task_id) == (7860, "localhost:50052", "easy")

    def test_variables_override_defaults(self):
        """MLOPSDEBUG_* variables set the port, peer address and limits."""
        cfg = config.from_env(
            {
                "MLOPSDEBUG_GATEWAY_PORT": "9000",
                "MLOPSDEBUG_EPISODE_ADDR": "episode:50052",
                "MLOPSDEBUG_GATEWAY_MAX_SESSIONS": "3",
                "MLOPSDEBUG_GATEWAY_IDLE_TIMEOUT_S": "0",
                "MLOPSDEBUG_LOG_LEVEL": "DEBUG",
            }
        )
        assert (cfg.port, cfg.episode_addr, cfg.max_ws_sessions, cfg.session_idle_timeout_s) == (
            9000,
            "episode:50052",
            3,
            0.0,
        )
        assert cfg.log_level == "debug"

    @pytest.mark.parametrize(
        "env", [{"MLOPSDEBUG_GATEWAY_PORT": "http"}, {"MLOPSDEBUG_GATEWAY_PORT": "70000"},
                {"MLOPSDEBUG_GATEWAY_MAX_SESSIONS": "0"}]
    )
    def test_bad_values_stop_startup(self, env):
        """A malformed or out-of-range variable stops the process with a message naming it."""
        with pytest.raises(SystemExit):
            config.from_env(env)


class TestActionValidation:
    @pytest.mark.parametrize("action_type", ["read_config", "check_dataset_stats", "inspect_preprocessing",
                                             "read_eval_results", "read_logs"])
    def test_parameterless_actions_validate(self, action_type):
        """Actions without required fields need only their action_type."""
        assert parse_action({"action_type": action_type}).action_type == action_type

    def test_unknown_field_is_forbidden(self):
        """An extra field is an extra_forbidden error located at that field, as in OpenEnv."""
        [error] = _errors({"action_type": "read_config", "bogus": 1})
        assert (error["type"], error["loc"]) == ("extra_forbidden", ["bogus"])

    def test_action_wrapped_in_action_key_is_rejected(self):
        """Sending {"action": {...}} as the step data fails: the data is the action itself."""
        errors = _errors({"action": {"action_type": "read_config"}})
        assert {(e["type"], e["loc"][0]) for e in errors} == {("missing", "action_type"), ("extra_forbidden", "action")}

    @pytest.mark.parametrize(
        ("action", "missing"),
        [
            ({"action_type": "run_sanity_check"}, ["sanity_check_type"]),
            ({"action_type": "query_artifact", "artifact_name": "config.yaml"}, ["field_path"]),
            (
                {"action_type": "submit_diagnosis", "failure_category": "config_error"},
                ["root_cause_file", "root_cause_field", "proposed_fix"],
            ),
        ],
    )
    def test_required_fields_per_action_type(self, action, missing):
        """Each action type's required fields are reported missing at their own loc."""
        errors = _errors(action)
        assert [e["loc"][0] for e in errors] == missing
        assert {e["type"] for e in errors} == {"missing"}

    def test_enum_values_are_the_seeds_spelling(self):
        """Artifact, check and category values are spelled as in the seed's models."""
        errors = _errors({"action_type": "run_sanity_check", "sanity_check_type": "LABEL_CONSISTENCY"})
        assert errors[0]["type"] == "literal_error"
        assert parse_action({"action_type": "run_sanity_check", "sanity_check_type": "label_consistency"})

    def test_errors_are_plain_json(self):
        """Validation errors serialize to JSON (no exception objects, no NaN)."""
        errors = _errors({"action_type": "query_artifact", "artifact_name": 1.5, "field_path": float("nan")})
        json.dumps(errors, allow_nan=False)

    def test_openenv_metadata_field_is_accepted(self):
        """The metadata dict of OpenEnv's base Action is accepted and ignored."""
        assert parse_action({"action_type": "read_config", "metadata": {"k": 1}}).metadata == {"k": 1}

    def test_schema_declares_conditional_requirements(self):
        """The action schema tells tools which fields each action type requires."""
        from mlopsdebug_gateway.models import MLOpsAction

        schema = MLOpsAction.model_json_schema()
        required = {
            rule["if"]["properties"]["action_type"]["const"]: rule["then"]["required"] for rule in schema["allOf"]
        }
        assert required["query_artifact"] == ["artifact_name", "field_path"]
        assert schema["additionalProperties"] is False
        assert schema["properties"]["action_type"]["enum"] == list(ACTION_TYPES)


class TestResetArguments:
    def test_unknown_keys_are_kept_aside(self):
        """Unknown reset keys are ignored but listed, so the gateway can say so."""
        assert ResetRequest.model_validate({"seed": 3, "target": 1}).ignored_keys() == ["target"]

    @pytest.mark.parametrize("data", [{"seed": -1}, {"seed": 2**53}, {"task_id": "expert"},
                                      {"episode_id": "has space"}, {"episode_id": "x" * 129}])
    def test_invalid_reset_arguments(self, data):
        """Negative or oversized seeds, unknown tasks and malformed episode ids are rejected."""
        with pytest.raises(ValidationError):
            ResetRequest.model_validate(data)


class TestActionToProto:
    def test_each_action_sets_its_oneof(self):
        """Every action type maps to the oneof variant of the same name."""
        extra = {
            "run_sanity_check": {"sanity_check_type": "metric_gap_analysis"},
            "query_artifact": {"artifact_name": "eval_results.json", "field_path": "metrics.val"},
            "submit_diagnosis": {
                "failure_category": "evaluation_bug",
                "root_cause_file": "eval_results.json",
                "root_cause_field": "metrics",
                "proposed_fix": "swap back",
            },
        }
        for action_type in ACTION_TYPES:
            message = convert.action_to_pb(parse_action({"action_type": action_type, **extra.get(action_type, {})}))
            assert message.WhichOneof("kind") == action_type

    def test_enum_names_map_to_proto_values(self):
        """Seed spellings become the contract's enum values."""
        query = convert.action_to_pb(
            parse_action({"action_type": "query_artifact", "artifact_name": "model_card.json", "field_path": "a"})
        )
        check = convert.action_to_pb(
            parse_action({"action_type": "run_sanity_check", "sanity_check_type": "encoder_version_match"})
        )
        assert query.query_artifact.artifact == pb.ARTIFACT_NAME_MODEL_CARD_JSON
        assert check.run_sanity_check.check == pb.SANITY_CHECK_TYPE_ENCODER_VERSION_MATCH

    def test_log_filter_passes_through(self):
        """read_logs carries its filter; without one the filter is empty."""
        assert convert.action_to_pb(parse_action({"action_type": "read_logs", "log_filter": "epoch:1-3"})).read_logs.log_filter == "epoch:1-3"
        assert convert.action_to_pb(parse_action({"action_type": "read_logs"})).read_logs.log_filter == ""


class TestObservationJson:
    def test_fields_validate_against_the_schema(self):
        """The observation plus its reward and done validates against MLOpsObservation."""
        payload = convert.step_payload(_observation(), "ep-1", after_reset=False)
        MLOpsObservation.model_validate({**payload["observation"], "reward": payload["reward"]})
        assert payload["reward"] == pytest.approx(0.02)
        assert payload["observation"]["episode_id"] == "ep-1"

    def test_non_finite_numbers_become_null(self):
        """A diverged loss (NaN, inf) is null, so the JSON stays valid."""
        summary = convert.step_payload(_observation(), "ep-1", after_reset=False)["observation"]["run_summary"]
        assert summary["final_train_loss"] is None and summary["final_val_loss"] is None
        json.dumps(summary, allow_nan=False)

    def test_reset_reward_is_null(self):
        """As in OpenEnv, the observation after a reset carries reward null."""
        assert convert.step_payload(_observation(reward=0.0), "ep-1", after_reset=True)["reward"] is None

    def test_reward_is_outside_the_observation(self):
        """Reward travels beside the observation, done in both places."""
        payload = convert.step_payload(_observation(done=True, terminated=True), "ep-1", after_reset=False)
        assert "reward" not in payload["observation"]
        assert payload["done"] is True and payload["observation"]["done"] is True

    def test_enums_are_spelled_as_in_the_seed(self):
        """Training status and artifact names use the seed's lower-case spelling."""
        observation = convert.observation_json(_observation(), "ep-1")
        assert observation["run_summary"]["training_status"] == "diverged"
        assert observation["available_artifacts"][0]["name"] == "config.yaml"

    def test_action_results_are_tagged_by_kind(self):
        """Each kind of action result converts to a dict tagged with its kind."""
        field = pb.ActionResult(field=pb.FieldValue(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="a.b",
                                                    found=True, value_json='{"x": [1, 2]}'))
        missing = pb.ActionResult(field=pb.FieldValue(artifact=pb.ARTIFACT_NAME_CONFIG_YAML, field_path="zz",
                                                      found=False, available_keys=["a", "b"]))
        check = pb.ActionResult(sanity_check=pb.SanityCheckResult(
            check=pb.SANITY_CHECK_TYPE_DATA_LEAKAGE, status=pb.CHECK_STATUS_WARN, summary="s",
            metrics={"overlap": float("nan"), "count": 3.0}))
        logs = pb.ActionResult(logs=pb.LogExcerpt(log_filter="nan", content="x", matched_lines=1, total_lines=9))
        assert convert.action_result_json(field)["value"] == {"x": [1, 2]}
        assert convert.action_result_json(missing)["available_keys"] == ["a", "b"]
        assert convert.action_result_json(check)["metrics"] == {"count": 3.0, "overlap": None}
        assert convert.action_result_json(check)["status"] == "warn"
        assert convert.action_result_json(logs)["kind"] == "logs"
        assert convert.action_result_json(pb.ActionResult()) == {}


class TestStateJson:
    def _state(self, state: int, with_answer: bool) -> ep_pb.EpisodeStateInfo:
        grade = pb.Grade(score=0.5, components=[pb.GradeComponent(kind=pb.GRADE_COMPONENT_KIND_FILE, weight=0.25)])
        if with_answer:
            grade.answer.CopyFrom(pb.RevealedAnswer(fault_id="exploding_lr", field="optimizer.learning_rate"))
        return ep_pb.EpisodeStateInfo(
            episode_id="ep-1", task_id="easy", seed=4, state=state, step_count=3, max_steps=20,
            sanity_checks_run=[pb.SANITY_CHECK_TYPE_LOSS_TRAJECTORY], grade=grade,
        )

    def test_running_state_never_carries_a_grade(self):
        """Even if a grade were present, a running episode's state omits it."""
        state = convert.state_json(self._state(pb.EPISODE_STATE_RUNNING, with_answer=True))
        assert "grade" not in state and "exploding_lr" not in json.dumps(state)
        assert state["episode_done"] is False

    def test_ended_state_carries_its_grade(self):
        """Once terminated, the grade (and any revealed answer) is part of the state."""
        state = convert.state_json(self._state(pb.EPISODE_STATE_TERMINATED, with_answer=True))
        assert state["grade"]["answer"]["fault_id"] == "exploding_lr"
        assert state["grade"]["components"][0]["kind"] == "file"

    def test_state_validates_against_the_schema(self):
        """The state dict validates against MLOpsState, with OpenEnv's episode_id and step_count."""
        state = convert.state_json(self._state(pb.EPISODE_STATE_TRUNCATED, with_answer=False))
        MLOpsState.model_validate(state)
        assert (state["episode_id"], state["step_count"], state["sanity_checks_run"]) == (
            "ep-1", 3, ["loss_trajectory"])

    def test_state_before_reset_is_openenvs_empty_state(self):
        """A session that never reset reports episode_id null and step_count 0."""
        MLOpsState.model_validate(convert.EMPTY_STATE)
        assert convert.EMPTY_STATE == {"episode_id": None, "step_count": 0}


def _pack(message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


class TestErrorMapping:
    def test_status_details_become_violations(self):
        """ErrorInfo reason and BadRequest violations are read from a google.rpc.Status."""
        status = status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT,
            message="bad",
            details=[
                _pack(error_details_pb2.ErrorInfo(reason="ACTION_INVALID", domain="episode.mlopsdebug")),
                _pack(error_details_pb2.BadRequest(field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field="action.query_artifact.artifact",
                                                                description="train.log is text")])),
            ],
        )
        error = from_status(status)
        assert (error.code, error.reason, error.http_status) == ("INVALID_ARGUMENT", "ACTION_INVALID", 422)
        assert error.http_body()["detail"][0]["loc"] == ["artifact_name"]

    @pytest.mark.parametrize(
        ("code", "http"),
        [("NOT_FOUND", 404), ("FAILED_PRECONDITION", 409), ("ALREADY_EXISTS", 409), ("RESOURCE_EXHAUSTED", 429),
         ("UNAVAILABLE", 503), ("DEADLINE_EXCEEDED", 504), ("INTERNAL", 502)],
    )
    def test_http_status_per_code(self, code, http):
        """Each canonical code maps to its HTTP status; upstream faults are 502, never 500."""
        assert UpstreamError(code, "m").http_status == http

    def test_websocket_codes(self):
        """Capacity is CAPACITY_REACHED; a rejected action VALIDATION_ERROR; the rest EXECUTION_ERROR."""
        assert ws_code(UpstreamError("RESOURCE_EXHAUSTED", "m"), stepping=False) == "CAPACITY_REACHED"
        assert ws_code(UpstreamError("INVALID_ARGUMENT", "m"), stepping=True) == "VALIDATION_ERROR"
        assert ws_code(UpstreamError("INVALID_ARGUMENT", "m"), stepping=False) == "EXECUTION_ERROR"
        assert ws_code(UpstreamError("FAILED_PRECONDITION", "m"), stepping=True) == "EXECUTION_ERROR"

    def test_proto_field_names_become_seed_names(self):
        """Violations on proto fields are reported under the seed's field names."""
        assert seed_field_name("action.run_sanity_check.check") == "sanity_check_type"
        assert seed_field_name("action.submit_diagnosis.diagnosis.proposed_fix") == "proposed_fix"

    def test_unknown_status_code_number(self):
        """A status code outside the canonical set is UNKNOWN (502), not a crash."""
        assert from_status(status_pb2.Status(code=999, message="x")).http_status == 502


class _NoSessions:
    def session_for(self, params, episode_id):  # pragma: no cover - must not be reached
        raise AssertionError("no session expected")

    async def create_session(self):  # pragma: no cover
        raise AssertionError

    async def close_session(self, session_id):  # pragma: no cover
        raise AssertionError


def _handle(raw):
    return asyncio.run(mcp.handle(raw, _NoSessions(), server_version="test"))


class TestMcpEnvelope:
    def test_tools_are_the_actions_plus_reset(self):
        """tools/list offers one tool per action type and reset."""
        names = [t["name"] for t in _handle({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})["result"]["tools"]]
        assert sorted(names) == sorted([*ACTION_TYPES, "reset"])

    def test_tool_schemas_are_valid_json_schema(self):
        """Every tool's inputSchema is a valid JSON schema that forbids unknown arguments."""
        jsonschema = pytest.importorskip("jsonschema")
        for tool in mcp.TOOLS:
            jsonschema.Draft202012Validator.check_schema(tool["inputSchema"])
            assert tool["inputSchema"]["additionalProperties"] is False

    @pytest.mark.parametrize("raw", [{}, [], 5, {"jsonrpc": "1.0", "method": "x"}, {"jsonrpc": "2.0"}])
    def test_malformed_requests_are_invalid_request(self, raw):
        """Anything that is not a JSON-RPC 2.0 request object gets -32600 in a 2.0 envelope."""
        reply = _handle(raw)
        assert reply["jsonrpc"] == "2.0" and reply["error"]["code"] == mcp.INVALID_REQUEST

    def test_unknown_method(self):
        """An unknown method is -32601 and echoes the request id."""
        reply = _handle({"jsonrpc": "2.0", "id": "a", "method": "resources/list"})
        assert (reply["id"], reply["error"]["code"]) == ("a", mcp.METHOD_NOT_FOUND)

    @pytest.mark.parametrize(
        "params", [{}, {"name": "drop_tables"}, {"name": "read_config", "arguments": [1]},
                   {"name": "read_config", "arguments": {"episode_id": 5}}]
    )
    def test_bad_tool_calls_are_invalid_params(self, params):
        """A missing or unknown tool, or malformed arguments, is -32602 before any episode is touched."""
        reply = _handle({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params})
        assert reply["error"]["code"] == mcp.INVALID_PARAMS

    def test_initialize_announces_tools(self):
        """initialize answers with the tools capability and the server's name."""
        result = _handle({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {}})["result"]
        assert "tools" in result["capabilities"] and result["serverInfo"]["name"] == "mlops-debug-env"

    def test_tool_result_repeats_payload_for_openenv_client(self):
        """A successful tool result carries text content, structuredContent and data."""
        result = mcp.tool_result({"reward": 0.5})
        assert json.loads(result["content"][0]["text"]) == result["structuredContent"] == result["data"]
        assert mcp.tool_result("boom", is_error=True)["isError"] is True


class TestMetadata:
    def test_readme_lists_every_task(self):
        """The generated readme names every task and its step budget."""
        text = metadata.readme()
        for task_id in TASK_ORDER:
            assert f"| {task_id} | {TASKS[task_id].name} | {TASKS[task_id].max_steps} |" in text

    def test_metadata_has_validator_fields(self):
        """name and description are strings, as openenv validate requires."""
        data = metadata.metadata()
        assert isinstance(data["name"], str) and isinstance(data["description"], str)
        assert data["readme_content"].startswith("# mlops-debug-env")

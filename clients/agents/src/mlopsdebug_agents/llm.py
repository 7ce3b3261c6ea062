"""An agent backed by any OpenAI-compatible chat-completions endpoint, acting through tool calls.

Each of the eight actions is a tool. The model sees the public rules (the actions, the artifacts,
the sanity checks, the failure categories, how a diagnosis is scored) and what the episode shows; it
is never told which faults exist or what any answer is.

Settings come from the environment (first one set wins):
- base URL: MLOPSDEBUG_LLM_BASE_URL, API_BASE_URL, OPENAI_BASE_URL (default https://api.openai.com/v1)
- model:    MLOPSDEBUG_LLM_MODEL, MODEL_NAME, OPENAI_MODEL (required)
- API key:  MLOPSDEBUG_LLM_API_KEY, HF_TOKEN, OPENAI_API_KEY, API_KEY (may be empty for local servers)
"""

from __future__ import annotations

import dataclasses
import email.utils
import json
import os
import random
import time
from collections.abc import Mapping
from typing import Any, Final

import httpx

from mlopsdebug_agents.base import Agent
from mlopsdebug_client.vocabulary import ARTIFACTS, CATEGORIES, SANITY_CHECKS, STRUCTURED_ARTIFACTS

__all__ = ["SYSTEM_PROMPT", "TOOLS", "LLMAgent", "LLMAgentFactory", "LLMError", "LLMSettings"]

DEFAULT_BASE_URL: Final[str] = "https://api.openai.com/v1"
_ENV_BASE_URL: Final = ("MLOPSDEBUG_LLM_BASE_URL", "API_BASE_URL", "OPENAI_BASE_URL")
_ENV_MODEL: Final = ("MLOPSDEBUG_LLM_MODEL", "MODEL_NAME", "OPENAI_MODEL")
_ENV_API_KEY: Final = ("MLOPSDEBUG_LLM_API_KEY", "HF_TOKEN", "OPENAI_API_KEY", "API_KEY")

_CHECKS: Final = list(SANITY_CHECKS)
_ARTIFACTS: Final = list(ARTIFACTS)
_STRUCTURED: Final = list(STRUCTURED_ARTIFACTS)
_CATEGORIES: Final = list(CATEGORIES)

SYSTEM_PROMPT: Final[str] = f"""\
You are a senior ML engineer debugging a broken training run. Exactly one fault was planted in the
run; find it from the evidence and submit one diagnosis.

Artifacts: {", ".join(_ARTIFACTS)}. Sanity checks (computed from the run): {", ".join(_CHECKS)}.
Each call of a tool is one step; the step budget is given in the task. Reading an artifact for the
first time earns +0.02, running a sanity check type for the first time +0.01, and repeating an
identical read costs -0.02. Healthy runs also print warnings and fluctuate: look for evidence that
is inconsistent, not merely alarming.

When confident, call submit_diagnosis with: failure_category (one of {", ".join(_CATEGORIES)}),
root_cause_file (the artifact that holds the root cause), root_cause_field (the single parameter,
function or variable that is wrong, as the artifact names it; naming several earns nothing),
diagnosis (what went wrong and why) and proposed_fix (the concrete change, with values). The score
is 0.15 category + 0.25 file + 0.30 field + 0.30 fix. Always answer with exactly one tool call."""


def _tool(name: str, description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = properties or {}
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": sorted(properties)},
        },
    }


TOOLS: Final[list[dict[str, Any]]] = [
    _tool("read_config", "Read config.yaml: hyperparameters, model, optimizer, data settings."),
    _tool(
        "read_logs",
        "Read train.log, optionally filtered.",
        {
            "log_filter": {
                "type": "string",
                "description": "Empty for the whole log, 'epoch:N-M' for epochs N to M, or a keyword.",
            }
        },
    ),
    _tool("check_dataset_stats", "Read dataset_stats.json: split sizes, class counts, feature statistics."),
    _tool("inspect_preprocessing", "Read preprocessing.py: the data pipeline code."),
    _tool("read_eval_results", "Read eval_results.json: validation and test metrics."),
    _tool("run_sanity_check", "Run one sanity check.", {"check": {"type": "string", "enum": _CHECKS}}),
    _tool(
        "query_artifact",
        "Fetch one field of a structured artifact by dot path (e.g. 'optimizer.learning_rate').",
        {"artifact": {"type": "string", "enum": _STRUCTURED}, "field_path": {"type": "string"}},
    ),
    _tool(
        "submit_diagnosis",
        "Submit the final diagnosis; ends the episode.",
        {
            "failure_category": {"type": "string", "enum": _CATEGORIES},
            "root_cause_file": {"type": "string", "enum": _ARTIFACTS},
            "root_cause_field": {"type": "string"},
            "diagnosis": {"type": "string"},
            "proposed_fix": {"type": "string"},
        },
    ),
]
_TOOL_NAMES: Final = frozenset(t["function"]["name"] for t in TOOLS)


class LLMError(RuntimeError):
    """The endpoint failed (after retries) or answered with something that is not a chat completion."""


def _first_env(env: Mapping[str, str], names: tuple[str, ...], default: str = "") -> str:
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return default


@dataclasses.dataclass(frozen=True, slots=True)
class LLMSettings:
    """How to reach the model and how to talk to it."""

    model: str
    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    temperature: float = 0.0
    max_tokens: int = 1024
    timeout_s: float = 120.0
    max_retries: int = 3
    # Wait before the first retry of a failed request; doubles per retry, at most 8 s, times a random
    # factor in [0.5, 1.5). An endpoint's Retry-After (on 429 or 503) is obeyed instead, up to 60 s.
    retry_backoff_s: float = 0.5
    # Longest text of one action result shown to the model; longer results are cut with a note.
    max_result_chars: int = 6000
    # Replies without a tool call tolerated per step before falling back to a plain read.
    max_nudges: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMSettings:
        """Settings from environment variables; ValueError if no model is named."""
        env = os.environ if env is None else env
        model = _first_env(env, _ENV_MODEL)
        if not model:
            raise ValueError(f"the llm agent needs a model name: set one of {', '.join(_ENV_MODEL)}")
        return cls(
            model=model,
            base_url=_first_env(env, _ENV_BASE_URL, DEFAULT_BASE_URL).rstrip("/"),
            api_key=_first_env(env, _ENV_API_KEY),
        )


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters cut; read a filtered view or query a field]"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, allow_nan=True)


def _action_from_call(name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The specification-style action dict for a tool call."""
    if name == "read_logs":
        return {"action_type": name, "log_filter": str(arguments.get("log_filter") or "")}
    if name == "run_sanity_check":
        return {"action_type": name, "sanity_check_type": arguments.get("check")}
    if name == "query_artifact":
        return {
            "action_type": name,
            "artifact_name": arguments.get("artifact"),
            "field_path": str(arguments.get("field_path") or ""),
        }
    if name == "submit_diagnosis":
        return {
            "action_type": name,
            "failure_category": arguments.get("failure_category"),
            "root_cause_file": str(arguments.get("root_cause_file") or ""),
            "root_cause_field": str(arguments.get("root_cause_field") or ""),
            "diagnosis": str(arguments.get("diagnosis") or ""),
            "proposed_fix": str(arguments.get("proposed_fix") or ""),
        }
    return {"action_type": name}


# Longest Retry-After obeyed, in seconds; a longer one is cut to this.
_MAX_RETRY_AFTER_S: Final = 60.0


def _retry_after_s(value: str | None) -> float | None:
    """A Retry-After header (delay in seconds, or an HTTP date) as seconds from now; None if absent or
    unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class LLMAgent(Agent):
    """Keeps one chat per episode: the task, then a tool call and its result per step."""

    blocking = True

    def __init__(self, seed: int = 0, *, settings: LLMSettings, http: httpx.Client) -> None:
        super().__init__(seed)
        self.settings = settings
        self._http = http
        self._messages: list[dict[str, Any]] = []
        self._pending_call_id: str | None = None
        self.requests = 0
        # Backoff jitter only (it never changes what the agent does); seeded, like all randomness here.
        self._jitter = random.Random(seed)  # noqa: S311 - jitter, not a secret

    # -- rendering what the episode shows --

    def _task_message(self, observation: Mapping[str, Any]) -> str:
        artifacts = [
            {"name": a["file_name"], "description": a["description"], "size": a["size_hint"]}
            for a in observation["available_artifacts"]
        ]
        return (
            f"Task ({observation['task_id']}): {observation['task_description']}\n"
            f"Step budget: {observation['max_steps']} steps.\n"
            f"Run summary: {_json(observation['run_summary'])}\n"
            f"Artifacts: {_json(artifacts)}"
        )

    def _result_message(self, observation: Mapping[str, Any]) -> str:
        result = dict(observation.get("last_action_result") or {})
        parts: list[str] = []
        if observation.get("last_action_error"):
            parts.append(f"The action was refused (nothing changed): {observation['last_action_error']}")
        else:
            content = result.pop("content", None)
            parts.append(f"Result: {_json(result)}")
            if content is not None:
                parts.append(_shorten(str(content), self.settings.max_result_chars))
            parts.append(f"Reward: {observation['reward']:.2f}")
        parts.append(f"Step {observation['step_count']} of {observation['max_steps']}.")
        parts.extend(observation.get("messages") or ())
        return "\n".join(parts)

    # -- the chat --

    def _complete(self) -> dict[str, Any]:
        s = self.settings
        body = {
            "model": s.model,
            "messages": self._messages,
            "tools": TOOLS,
            "tool_choice": "auto",
            "temperature": s.temperature,
            "max_tokens": s.max_tokens,
            "seed": self.seed % (2**31),
        }
        headers = {"Authorization": f"Bearer {s.api_key}"} if s.api_key else {}
        last: Exception | None = None
        response: httpx.Response | None = None
        for attempt in range(s.max_retries + 1):
            if attempt:
                time.sleep(self._retry_delay_s(attempt, response))
            try:
                self.requests += 1
                response = self._http.post(f"{s.base_url}/chat/completions", json=body, headers=headers)
            except httpx.HTTPError as exc:
                last, response = exc, None
                continue
            if response.status_code == 429 or response.status_code >= 500:
                last = LLMError(f"HTTP {response.status_code}: {response.text[:200]}")
                continue
            if response.status_code != 200:
                raise LLMError(f"the endpoint answered HTTP {response.status_code}: {response.text[:300]}")
            try:
                message = response.json()["choices"][0]["message"]
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise LLMError(f"not a chat completion: {response.text[:300]}") from exc
            if not isinstance(message, dict):
                raise LLMError(f"not a chat completion message: {message!r}"[:300])
            return message
        raise LLMError(f"the endpoint failed after {s.max_retries + 1} attempts: {last}")

    def _retry_delay_s(self, attempt: int, failed: httpx.Response | None) -> float:
        """Seconds before retry `attempt` (1-based): the endpoint's Retry-After when it sent one, else
        jittered exponential backoff, so that agents rate-limited together do not retry in lockstep."""
        asked = _retry_after_s(failed.headers.get("Retry-After")) if failed is not None else None
        if asked is not None:
            return min(_MAX_RETRY_AFTER_S, asked)
        return min(8.0, self.settings.retry_backoff_s * 2 ** (attempt - 1)) * (0.5 + self._jitter.random())

    def _parse_call(self, message: Mapping[str, Any]) -> tuple[str, dict[str, Any], str] | str:
        """(tool name, arguments, call id) of the first tool call, or the reason there is none."""
        calls = message.get("tool_calls") or []
        if not calls:
            return "no tool call"
        call = calls[0]
        function = call.get("function") or {}
        name = function.get("name")
        if name not in _TOOL_NAMES:
            return f"unknown tool {name!r}"
        raw = function.get("arguments") or "{}"
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (ValueError, TypeError):
            return f"arguments are not JSON: {str(raw)[:200]}"
        if not isinstance(arguments, dict):
            return "arguments must be a JSON object"
        return str(name), arguments, str(call.get("id") or f"call_{len(self._messages)}")

    def act(self, observation: Mapping[str, Any]) -> dict[str, Any]:
        """Asks the model for the next tool call and turns it into an action."""
        if not self._messages:
            self._messages = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": self._task_message(observation)},
            ]
        elif self._pending_call_id is not None:
            self._messages.append(
                {"role": "tool", "tool_call_id": self._pending_call_id, "content": self._result_message(observation)}
            )
            self._pending_call_id = None
        else:  # the previous step was the fallback read, not a tool call
            self._messages.append({"role": "user", "content": self._result_message(observation)})
        for _ in range(self.settings.max_nudges + 1):
            message = self._complete()
            parsed = self._parse_call(message)
            if isinstance(parsed, tuple):
                name, arguments, call_id = parsed
                function = {"name": name, "arguments": _json(arguments)}
                self._messages.append(
                    {
                        "role": "assistant",
                        "content": message.get("content") or "",
                        "tool_calls": [{"id": call_id, "type": "function", "function": function}],
                    }
                )
                self._pending_call_id = call_id
                return _action_from_call(name, arguments)
            self._messages.append({"role": "assistant", "content": message.get("content") or ""})
            self._messages.append(
                {"role": "user", "content": f"Your reply had {parsed}. Answer with exactly one tool call."}
            )
        # The model would not act: spend the step on a harmless read so the budget still bounds the episode.
        self._messages.append({"role": "user", "content": "No tool call was made; the harness read the config."})
        return {"action_type": "read_config"}


# Connections to the model endpoint kept open at most: concurrent episodes beyond it wait for one.
_MAX_CONNECTIONS = 256


class LLMAgentFactory:
    """Makes one `LLMAgent` per episode; all share one HTTP connection pool. Call `close()` at the end."""

    name = "llm"

    def __init__(self, settings: LLMSettings, *, http: httpx.Client | None = None) -> None:
        self.settings = settings
        self._owns_http = http is None
        # Every concurrent episode keeps its connection between calls (httpx keeps only 20 alive by
        # default, so at --concurrency 32 a dozen episodes would reconnect, TLS included, per call).
        limits = httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_CONNECTIONS)
        self._http = http if http is not None else httpx.Client(timeout=settings.timeout_s, limits=limits)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> LLMAgentFactory:
        """A factory configured by MLOPSDEBUG_LLM_* (or API_BASE_URL, MODEL_NAME, HF_TOKEN, OPENAI_*)."""
        return cls(LLMSettings.from_env(env))

    def __call__(self, seed: int) -> LLMAgent:
        """A fresh agent for one episode, sharing this factory's HTTP client."""
        return LLMAgent(seed, settings=self.settings, http=self._http)

    def close(self) -> None:
        """Closes the HTTP client, if this factory made it."""
        if self._owns_http:
            self._http.close()

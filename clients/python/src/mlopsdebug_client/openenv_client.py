"""An OpenEnv client for mlops-debug-env: `MLOpsDebugEnv`, a subclass of OpenEnv's `EnvClient`.

It speaks the OpenEnv WebSocket protocol to the gateway (port 7860), so the seed's usage works as is:

    with MLOpsDebugEnv(base_url="http://localhost:7860").sync() as env:
        result = env.reset(task_id="hard", seed=1)
        result = env.step(MLOpsAction(action_type="read_config"))

Needs the OpenEnv library (`pip install openenv-core==0.3.0`, or `openenv>=0.10`, never both); it is
imported only by this module, so the rest of `mlopsdebug_client` works without it. The models mirror
the seed's `MLOpsAction`, `MLOpsObservation` and state; the client never imports gateway code.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import TYPE_CHECKING, Any, Literal

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.types import Action, Observation, State
from pydantic import BaseModel, ConfigDict, Field

from . import vocabulary

__all__ = ["ArtifactMeta", "MLOpsAction", "MLOpsDebugEnv", "MLOpsObservation", "MLOpsState"]

# The seed's Literal types, built from the contract's word lists (mlopsdebug_client.vocabulary).
# Literal[tuple] is Literal[*tuple] at run time, which is what pydantic validates and documents.
# A static checker cannot evaluate a Literal of a variable: to it these are plain strings.
if TYPE_CHECKING:
    ActionType = SanityCheckType = ArtifactName = FailureCategory = str
else:
    ActionType = Literal[vocabulary.ACTION_TYPES]
    SanityCheckType = Literal[vocabulary.SANITY_CHECKS]
    ArtifactName = Literal[vocabulary.ARTIFACTS]
    FailureCategory = Literal[vocabulary.CATEGORIES]


class MLOpsAction(Action):
    """One action per step (the seed's MLOpsAction); `action_type` decides which fields are used."""

    action_type: ActionType = Field(description="Which action to perform")
    log_filter: str | None = Field(None, description="read_logs: keyword or 'epoch:N-M'")
    sanity_check_type: SanityCheckType | None = Field(None, description="run_sanity_check: which check")
    artifact_name: ArtifactName | None = Field(None, description="query_artifact: which artifact")
    field_path: str | None = Field(None, description="query_artifact: dot path, e.g. 'optimizer.learning_rate'")
    failure_category: FailureCategory | None = Field(None, description="submit_diagnosis: category")
    root_cause_file: str | None = Field(None, description="submit_diagnosis: artifact holding the root cause")
    root_cause_field: str | None = Field(None, description="submit_diagnosis: the single wrong field")
    diagnosis: str | None = Field(None, description="submit_diagnosis: what went wrong and why")
    proposed_fix: str | None = Field(None, description="submit_diagnosis: the concrete fix")


class ArtifactMeta(BaseModel):
    """One artifact the agent can inspect."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str
    size_hint: str
    last_modified: str


class MLOpsObservation(Observation):
    """What the agent sees after a reset or a step; `reward` and `done` come from OpenEnv's envelope.

    Unknown fields are kept rather than refused, so a newer gateway does not break an older client.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    task_id: str
    task_description: str
    run_id: str
    run_summary: dict[str, Any]
    available_artifacts: list[ArtifactMeta]
    artifacts_read: list[str] = Field(default_factory=list)
    last_action_result: dict[str, Any] = Field(default_factory=dict)
    step_count: int = 0
    max_steps: int = 30
    messages: list[str] = Field(default_factory=list)
    terminated: bool = False
    truncated: bool = False
    episode_id: str = ""
    cumulative_reward: float = 0.0


class MLOpsState(State):
    """The episode's state (episode_id, step_count, task, seed, progress); never the answer while it runs."""

    task_id: str | None = None
    seed: int | None = None
    state: str | None = None
    episode_done: bool | None = None
    max_steps: int | None = None
    artifacts_read: list[str] | None = None
    sanity_checks_run: list[str] | None = None
    duplicate_reads: int | None = None
    cumulative_reward: float | None = None
    grade: dict[str, Any] | None = None


_STEP_RESULT_HAS_METADATA = any(f.name == "metadata" for f in dataclasses.fields(StepResult))
# openenv >= 0.10 sends extra handshake headers itself; openenv-core 0.3 has no such option.
_ENV_CLIENT_TAKES_HEADERS = "headers" in inspect.signature(EnvClient.__init__).parameters


class MLOpsDebugEnv(EnvClient[MLOpsAction, MLOpsObservation, MLOpsState]):
    """OpenEnv client of the mlops-debug-env gateway. Reset kwargs: task_id, seed, episode_id.

    `step` takes an `MLOpsAction` or a plain dict of the same fields. `api_key`, for a gateway with API
    keys, is sent as `Authorization: Bearer <key>` in the WebSocket handshake; without one the
    connection is anonymous and its episodes are its own.
    """

    def __init__(self, *args: Any, api_key: str | None = None, **kwargs: Any) -> None:
        if api_key is not None and (not api_key or any(c.isspace() for c in api_key)):
            raise ValueError("api_key must be non-empty and contain no whitespace")
        self._mlopsdebug_auth = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
        if self._mlopsdebug_auth and _ENV_CLIENT_TAKES_HEADERS:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), **self._mlopsdebug_auth}
        super().__init__(*args, **kwargs)

    if not _ENV_CLIENT_TAKES_HEADERS:

        async def connect(self) -> MLOpsDebugEnv:
            """openenv-core 0.3's connect, plus the Authorization header when there is a key."""
            if not self._mlopsdebug_auth or self._ws is not None:
                return await super().connect()  # pyright: ignore[reportReturnType] - EnvClient.connect returns self
            from websockets.asyncio.client import connect as ws_connect  # noqa: PLC0415

            try:
                self._ws = await ws_connect(
                    self._ws_url,
                    open_timeout=self._connect_timeout,
                    max_size=self._max_message_size,
                    additional_headers=self._mlopsdebug_auth,
                )
            except Exception as exc:
                raise ConnectionError(f"Failed to connect to {self._ws_url}: {exc}") from exc
            return self

    def _step_payload(self, action: MLOpsAction | dict[str, Any]) -> dict[str, Any]:
        if isinstance(action, BaseModel):
            data = action.model_dump(exclude_none=True)
        else:
            data = {key: value for key, value in dict(action).items() if value is not None}
        data.pop("metadata", None)  # OpenEnv's base Action field; the environment has no use for it
        return data

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[MLOpsObservation]:
        reward = payload.get("reward")
        done = bool(payload.get("done", False))
        observation = MLOpsObservation.model_validate({**payload.get("observation", {}), "reward": reward, "done": done})
        if _STEP_RESULT_HAS_METADATA:
            return StepResult(observation=observation, reward=reward, done=done, metadata=payload.get("metadata"))  # pyright: ignore[reportCallIssue] - openenv versions whose StepResult has metadata (checked above)
        return StepResult(observation=observation, reward=reward, done=done)

    def _parse_state(self, payload: dict[str, Any]) -> MLOpsState:
        return MLOpsState.model_validate(payload)

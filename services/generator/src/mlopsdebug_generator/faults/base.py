"""What a fault plugin is: typed parameters, hooks into the stages of the simulated run, its location.

The world model (world.py) runs the stages of one training run in a fixed order and calls the planted
fault's hooks at each; it never branches on a fault's name. A hook changes the run through *knobs* on
the World (the configured learning rate, how the validation split is carved, which tokenizer the
evaluation loads, ...), so the simulation, the renderers and the sanity checks read the same knobs
whether or not a fault turned them.

Stages, in order (each with its own seeded stream, see world.build_world):
  draw the base run   choose_modality, choose_dataset, model_options, choose_optimizer, train_cap
  fault details       draw (shared with the healthy twin), then plant (planted run only)
  data and features   after_features
  training            training_effects (planted only)
  evaluation          report (planted only)
Where the root cause sits is `locate` (config faults) or `code_location` (pipeline faults).

Hooks that draw from a stream must draw the same values in the same order for a given world, or the
scenarios behind published seeds change; the golden digests in tests/unit/test_fault_contract.py guard
the seed's faults.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from mlopsdebug_common.faults import FAULTS, FaultSpec
from mlopsdebug_generator import catalog
from mlopsdebug_generator.catalog import DatasetSpec, ModelSpec
from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.sites import CodeLocation

if TYPE_CHECKING:
    from mlopsdebug_generator import evaluation
    from mlopsdebug_generator.world import World


@dataclasses.dataclass(frozen=True, slots=True)
class FaultParams:
    """A fault's drawn details. Subclasses add typed fields; `key_params` is what the answer key carries."""

    @classmethod
    def of(cls, world: World) -> Self:
        """The world's details as this plugin's own Params class (checked, so its fields are typed)."""
        if not isinstance(world.details, cls):
            raise AssertionError(f"{type(world.details).__name__} is not {cls.__name__}")
        return world.details

    def key_params(self) -> dict[str, Any]:
        """The answer key's params: every field that is not None and not marked `key=False`."""
        out = {}
        for field in dataclasses.fields(self):
            if not field.metadata.get("key", True):
                continue
            value = getattr(self, field.name)
            if value is not None:
                out[field.name] = value
        return out


def private(default: Any = None) -> Any:
    """A detail that shapes the run but is not part of the answer key (the grader does not need it)."""
    return dataclasses.field(default=default, metadata={"key": False})


@dataclasses.dataclass(frozen=True, slots=True)
class NoParams(FaultParams):
    pass


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingEffects:
    """How a fault bends the training dynamics (see training.TrainingSetup for each quantity)."""

    lr_critical: float = math.inf
    oscillation: float = 0.0
    oscillation_slowdown: float = 1.0
    floor_lift: float = 0.0
    val_seen_fraction: float = 0.0
    update_scale: float = 1.0
    grad_norm_factor: float = 1.0
    train_loss_factor: float = 1.0
    # Multiplies the run's overfitting rate (a model held back from fitting its training data cannot overfit it).
    overfit_scale: float = 1.0
    val_noise: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class EvalInputs:
    """What evaluation measured on the selected checkpoint, before a fault changes the report."""

    val_matrix: np.ndarray
    test_matrix: np.ndarray
    val_scores: evaluation.SplitScores
    test_scores: evaluation.SplitScores
    counts: np.ndarray
    best_epoch: int


@dataclasses.dataclass(frozen=True, slots=True)
class ReportedMetrics:
    """What eval_results.json reports: class order and the two metric blocks."""

    class_names: tuple[str, ...]
    val: evaluation.SplitScores
    test: evaluation.SplitScores


@dataclasses.dataclass(frozen=True, slots=True)
class Location:
    file: str
    field: str
    aliases: tuple[str, ...]
    params: dict[str, object]


@dataclasses.dataclass(frozen=True, slots=True)
class GalleryLine:
    """How the README gallery shows a scenario of this fault: evidence to excerpt and the conclusion."""

    conclusion: str
    # "steps" (per-step log lines and NaN notices), "loader" (DataLoader and epoch lines) or "epochs".
    log_lines: str = "epochs"
    # Dotted keys excerpted from each JSON artifact.
    stats_keys: tuple[str, ...] = ()
    eval_keys: tuple[str, ...] = ()
    card_keys: tuple[str, ...] = ()


class Fault:
    """Base plugin: every hook is a no-op, so a plugin overrides only the stages its mechanism touches."""

    fault_id: ClassVar[str]
    # A short noun phrase for tables ("a learning rate that diverges"); never shown to agents.
    title: ClassVar[str] = ""
    # Sanity checks whose verdict the evidence of this fault is designed to turn to "fail" (when it shows).
    tripped_checks: ClassVar[tuple[str, ...]] = ()
    gallery: ClassVar[GalleryLine]

    @property
    def spec(self) -> FaultSpec:
        return FAULTS[self.fault_id]

    # -- base run ------------------------------------------------------------------------------------
    def choose_modality(self, rng: np.random.Generator, revision: int) -> str:
        return pick(rng, catalog.MODALITIES)

    def choose_dataset(self, modality: str, rng: np.random.Generator, revision: int) -> DatasetSpec:
        return pick(rng, catalog.DATASETS_BY_MODALITY[modality])

    def model_options(self, options: tuple[ModelSpec, ...], revision: int) -> tuple[ModelSpec, ...]:
        return options

    def forced_optimizer(self, revision: int) -> str | None:
        """An optimizer the fault needs (its mechanism exists only there), or None."""
        return None

    def optimizer_options(self, options: tuple[str, ...], revision: int) -> tuple[str, ...]:
        return options

    def train_cap(self, rng: np.random.Generator, revision: int) -> int | None:
        """A max_train_samples the fault needs, or None for the run's own choice."""
        return None

    # -- fault details -------------------------------------------------------------------------------
    def draw(self, world: World, rng: np.random.Generator) -> FaultParams:
        """The fault's details, drawn whether or not it is planted (the healthy twin shares them)."""
        return NoParams()

    def plant(self, world: World) -> None:
        """Turn the world's knobs as the fault does (planted run only)."""

    def after_features(self, world: World) -> None:
        """Details that depend on the data and features (e.g. the tokenizer releases)."""

    # -- training and evaluation (planted run only) --------------------------------------------------
    def training_effects(self, world: World, rng: np.random.Generator) -> TrainingEffects:
        return TrainingEffects()

    def report(self, world: World, rng: np.random.Generator, measured: EvalInputs) -> ReportedMetrics | None:
        """What evaluation reports instead of what it measured, or None when the report is unchanged."""
        return None

    # -- location ------------------------------------------------------------------------------------
    def code_location(self, ctx: Any) -> CodeLocation | None:
        """Where in preprocessing.py the fault sits (pipeline faults), given the renderer's context."""
        return None

    def locate(self, world: World) -> Location:
        """File, canonical field, aliases and fix parameters of the world's fault."""
        from mlopsdebug_generator import render  # noqa: PLC0415 - the renderers import the world model, which imports plugins

        if not world.planted:
            raise ValueError("a healthy twin has no fault location in its code")
        _, location = render.code(world)
        if location is None:
            raise AssertionError(f"the {world.code_style} renderer did not place fault {self.fault_id}")
        params = {**world.details.key_params(), "code_style": world.code_style}
        aliases = location.aliases
        if world.revision >= 3:
            # The function that builds every split and feature holds most pipeline faults' lines: naming it
            # does not say which of them is wrong, so from version 3 on it is no alias of a fault that sits inside.
            # Likewise the library call that carves every split, which every healthy pipeline makes too.
            shared = {world.names["builder"], *SPLIT_CALLS, *TABLE_CALLS}
            aliases = tuple(a for a in aliases if a not in shared)
        return Location("preprocessing.py", location.field, aliases, params)


def config_setting_location(world: World, setting: str) -> Location | None:
    """Version 3: an evaluation setting the code reads from config.yaml is located there (else None)."""
    from mlopsdebug_generator import render_config  # noqa: PLC0415 - the renderers import the world model, which imports the plugins

    if not (world.revision >= 3 and world.eval_from_config):
        return None
    path = render_config.EVAL_PATHS[setting][world.config_layout]
    aliases = tuple(a for a in render_config.EVAL_ALIASES[setting] if a != path)
    return Location("config.yaml", path, aliases, world.details.key_params())


# The library calls that carve a validation split (sites.split_call): present in every pipeline, healthy or not.
SPLIT_CALLS = ("train_test_split", "randperm", "GroupShuffleSplit")
# The pandas calls that load, deduplicate and merge tables: every tabular pipeline with a join makes them.
TABLE_CALLS = ("merge", "read_parquet", "drop_duplicates")


class ConfigFault(Fault):
    """A fault in a configured value: it lives in config.yaml under the layout's path for `config_kind`."""

    config_kind: ClassVar[str]

    def locate(self, world: World) -> Location:
        from mlopsdebug_generator import render_config  # noqa: PLC0415 - as in Fault.locate

        path = render_config.FIELD_PATHS[self.config_kind][world.config_layout]
        if world.fault_in_code:  # version 3: set in preprocessing.py's overrides; config.yaml is sane
            const = world.overrides_const
            return Location(
                "preprocessing.py", const, (f"{const}.{path}", world.overrides_fn), world.details.key_params()
            )
        aliases = tuple(a for a in render_config.FIELD_ALIASES[self.config_kind] if a != path)
        return Location("config.yaml", path, aliases, world.details.key_params())

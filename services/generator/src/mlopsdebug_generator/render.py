"""Renders a world into the agent-visible scenario parts: the six artifacts and the run summary."""

from __future__ import annotations

import datetime as dt
import math

from mlopsdebug_common.domain import ArtifactDoc, RunSummary
from mlopsdebug_generator import ids, pipeline_code, render_config, render_docs, render_log
from mlopsdebug_generator.world import World

DESCRIPTIONS = {
    "config.yaml": "Training configuration: model, data loading, optimizer, schedule and trainer settings.",
    "train.log": "Log of the training process: setup, per-step and per-epoch metrics, checkpoints, warnings.",
    "dataset_stats.json": "Dataset statistics written by the data pipeline: split sizes, class counts, features.",
    "preprocessing.py": "The data pipeline module (loading, splitting, encoding, evaluation export).",
    "eval_results.json": "Evaluation of the selected checkpoint on the validation and test splits.",
    "model_card.json": "Model card written after evaluation: architecture, data, training summary, metrics.",
}


def code(world: World) -> tuple[str, pipeline_code.CodeLocation | None]:
    """preprocessing.py and the fault's location in it, rendered once per world."""
    if world.code_cache is None:
        world.code_cache = pipeline_code.render(world)
    return world.code_cache


def artifacts(world: World) -> tuple[ArtifactDoc, ...]:
    start = world.started_at
    data_ready = start + dt.timedelta(seconds=world.data_seconds)
    finished = start + dt.timedelta(seconds=world.wall_clock_seconds)
    evaluated = finished + dt.timedelta(seconds=world.eval.seconds)
    carded = evaluated + dt.timedelta(seconds=1.7)
    config_time = start - dt.timedelta(seconds=world.config_age_seconds)
    code_time = start - dt.timedelta(seconds=world.code_age_seconds)
    docs = (
        ("config.yaml", render_config.render(world), config_time),
        ("train.log", render_log.render(world), finished),
        ("dataset_stats.json", render_docs.dataset_stats(world, ids.iso_utc(data_ready)), data_ready),
        ("preprocessing.py", code(world)[0], code_time),
        ("eval_results.json", render_docs.eval_results(world, ids.iso_utc(evaluated)), evaluated),
        ("model_card.json", render_docs.model_card(world, ids.iso_utc(carded)), carded),
    )
    return tuple(ArtifactDoc(name, content, DESCRIPTIONS[name], ids.iso_utc(moment)) for name, content, moment in docs)


def run_summary(world: World) -> RunSummary:
    traj = world.trajectory
    done = traj.epochs_completed
    diverged = traj.status == "diverged"
    final_train = float(traj.train_loss[done - 1]) if done and not diverged else math.nan
    final_val = float(traj.val_loss[done - 1]) if done and not diverged else math.nan
    metric = world.primary_metric
    return RunSummary(
        run_id=world.run_id,
        model=world.model.name,
        dataset=world.dataset.name,
        modality=world.modality,
        training_status=traj.status,
        epochs_planned=world.epochs,
        epochs_completed=done,
        final_train_loss=final_train,
        final_val_loss=final_val,
        primary_metric=metric,
        val_metric=world.eval.val.primary(metric),
        test_metric=world.eval.test.primary(metric),
        wall_clock_seconds=world.wall_clock_seconds,
        started_at=ids.iso_utc(world.started_at),
    )

"""train.log: the training process's log, line by line, with simulated timestamps.

Lines inside an epoch carry "epoch N/E" (the episode service's `epoch:N-M` filter keys on it).
Format: "<asctime> <LEVEL> <logger>: <message>", as Python logging's default with a logger name.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from mlopsdebug_generator import catalog
from mlopsdebug_generator.world import World, timeline


class _Clock:
    """Formats "YYYY-MM-DD HH:MM:SS,mmm" for offsets from the run start without datetime per line."""

    def __init__(self, start: dt.datetime) -> None:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        self._midnight = midnight
        self._start_sod = (start - midnight).total_seconds()
        self._day = -1
        self._date = ""

    def stamp(self, offset: float) -> str:
        total = self._start_sod + offset
        day = int(total // 86400)
        if day != self._day:
            self._day = day
            self._date = (self._midnight + dt.timedelta(days=day)).strftime("%Y-%m-%d")
        ms_total = int(round((total - day * 86400) * 1000))
        seconds, ms = divmod(ms_total, 1000)
        hours, rem = divmod(seconds, 3600)
        minutes, secs = divmod(rem, 60)
        return f"{self._date} {hours:02d}:{minutes:02d}:{secs:02d},{ms:03d}"

    def stamps(self, offsets: list[float]) -> list[str]:
        """[stamp(o) for o in offsets], with the arithmetic done on all of them at once (a hundred and more
        per log): the same IEEE operations in the same order (floor division, a product, round half to
        even), so the same digits."""
        totals = self._start_sod + np.array(offsets, dtype=np.float64)
        if not np.isfinite(totals).all():
            return [self.stamp(offset) for offset in offsets]  # what stamp() does with them, error included
        days = np.floor_divide(totals, 86400.0)
        ms_total = np.rint((totals - days * 86400.0) * 1000.0).astype(np.int64)
        seconds, ms = np.divmod(ms_total, 1000)
        hours, rem = np.divmod(seconds, 3600)
        minutes, secs = np.divmod(rem, 60)
        day_list = days.astype(np.int64).tolist()
        dates = {day: (self._midnight + dt.timedelta(days=day)).strftime("%Y-%m-%d") for day in set(day_list)}
        return [
            f"{dates[day]} {h:02d}:{m:02d}:{sec:02d},{milli:03d}"
            for day, h, m, sec, milli in zip(
                day_list, hours.tolist(), minutes.tolist(), secs.tolist(), ms.tolist(), strict=True
            )
        ]


def _loss(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.4f}"


def _grad(x: float) -> str:
    if math.isnan(x):
        return "nan"
    return f"{x:.3f}" if x < 1000 else f"{x:.3e}"


def lr_text(x: float) -> str:
    return f"{x:.3e}"


def _schedule_text(w: World, total_steps: int) -> str:
    s = w.schedule
    if s.kind == "cosine":
        detail = f"warmup_steps={s.warmup_steps} min_lr={s.min_lr!r}"
    elif s.kind == "linear":
        detail = f"warmup_steps={s.warmup_steps} end_lr=0.0"
    elif s.kind == "step":
        detail = f"step_size={s.step_size} epochs gamma={s.gamma!r}"
    elif s.kind == "exponential":
        detail = f"gamma={s.gamma!r} per epoch"
    elif s.kind == "onecycle":
        detail = f"max_lr={w.lr!r} pct_start={s.pct_start!r} div_factor={s.div_factor!r}"
    else:
        detail = f"warmup_steps={s.warmup_steps}"
    if w.revision >= 2:
        detail += f" interval={'step' if s.per_batch or s.kind not in ('step', 'exponential') else 'epoch'}"
    return f"{s.kind} schedule {detail} total_steps={total_steps:,}"


def _scaler_text(w: World) -> str:
    """Version 2: whether the loss is scaled (what a GradScaler does; it acts in fp16 only)."""
    return f" grad_scaler={w.grad_scaler}" if w.revision >= 2 else ""


def _optimizer_text(w: World) -> str:
    name = catalog.OPTIMIZER_DISPLAY[w.optimizer]
    parts = [f"{name} lr={w.lr!r}"]
    if w.optimizer == "sgd":
        parts.append(f"momentum={w.momentum!r} nesterov={w.nesterov}")
    elif w.optimizer == "rmsprop":
        parts.append(f"momentum={w.momentum!r} alpha=0.99")
    else:
        parts.append(f"betas=({w.betas[0]!r}, {w.betas[1]!r})")
    parts.append(f"weight_decay={w.weight_decay!r}")
    return " ".join(parts)


def render(w: World) -> str:
    traj = w.trajectory
    ds = w.dataset
    clock = _Clock(w.started_at)
    # Each line as its time offset and the text after its stamp; the stamps are formatted together at the end.
    offsets: list[float] = []
    lines: list[str] = []
    mark, append = offsets.append, lines.append

    def emit(offset: float, level: str, logger: str, message: str) -> None:
        mark(offset)
        append(f" {level:<7} {logger}: {message}")

    n_train, n_val, n_test = w.splits.n
    epochs = w.epochs
    spe = traj.steps_per_epoch
    metric_f1 = w.primary_metric == "macro_f1"
    by_phase: dict[str, list[tuple[str, str]]] = {"data": [], "setup": [], "train": []}
    for phase, logger, message in w.benign_warnings:
        by_phase[phase].append((logger, message))

    t = 0.0
    emit(t, "INFO", "__main__", f"run {w.run_id} on {w.host} (1x {w.gpu.name}) torch {w.torch_version} git {w.git_commit}")
    emit(t + 0.004, "INFO", "__main__", f"config: config.yaml experiment={w.experiment} seed={w.seed_cfg}")
    if w.revision >= 3 and w.code_overrides:
        keys = ", ".join(path for path, _ in w.code_overrides)
        emit(t + 0.005, "INFO", "__main__", f"config overrides from preprocessing.{w.overrides_const}: {keys}")
    t = w.data_seconds
    capped = f" (train subsampled from {w.splits.n_train_available:,})" if n_train < w.splits.n_train_available else ""
    emit(t, "INFO", "data", f"dataset {ds.name} snapshot {w.snapshot}: train={n_train:,} val={n_val:,} test={n_test:,} classes={len(w.classes)}{capped}")
    if w.modality == "text":
        txt = w.text_stats()
        emit(t + 0.2, "INFO", "data", f"tokenizer {txt.tokenizer_path}/{txt.train_version} vocab_size={txt.vocab_train:,} max_length={txt.max_length}")
    for i, (logger, message) in enumerate(by_phase["data"]):
        emit(t + 0.5 + 0.1 * i, "WARNING", logger, message)
    t += w.setup_seconds
    dropout = f" dropout={w.dropout!r}" if w.revision >= 3 else ""
    emit(t, "INFO", "model", f"{w.model.name} pretrained={w.pretrained} params={w.params_count:,}{dropout}")
    emit(t + 0.01, "INFO", "optim", _optimizer_text(w))
    emit(t + 0.01, "INFO", "optim", _schedule_text(w, spe * epochs))
    es = f"val_loss/patience={w.patience}" if w.patience else "off"
    clip = w.grad_clip if w.grad_clip is not None else "off"
    emit(
        t + 0.02,
        "INFO",
        "trainer",
        f"epochs={epochs} batch_size={w.batch_size} drop_last={w.drop_last} steps_per_epoch={spe:,} "
        f"precision={w.precision}{_scaler_text(w)} grad_clip={clip} early_stopping={es} log_every_n_steps={w.log_every}",
    )
    if spe == 0:
        emit(t + 0.05, "WARNING", "lightning", "Total length of `DataLoader` across ranks is zero. Please make sure this was your intention.")
    elif spe < w.log_every:
        emit(
            t + 0.05,
            "WARNING",
            "lightning",
            f"The number of training batches ({spe}) is smaller than the logging interval "
            f"Trainer(log_every_n_steps={w.log_every}). Set a lower value for log_every_n_steps if you want to "
            "see logs for the training epoch.",
        )
    for i, (logger, message) in enumerate(by_phase["setup"]):
        emit(t + 0.3 + 0.1 * i, "WARNING", logger, message)
    t += 1.0
    init = f"val_loss={traj.init_val_loss:.4f} val_acc={traj.init_val_acc:.4f}"
    emit(t, "INFO", "eval", f"epoch 0/{epochs} {init} (before training)")
    t += 2.0

    amp = list(traj.amp_events)
    amp_index = 0
    log_index = 0
    n_logged = traj.log_global.size
    # Python lists: indexing numpy arrays element by element is several times slower.
    log_global = traj.log_global.tolist()
    log_epoch = traj.log_epoch.tolist()
    log_in_epoch = traj.log_in_epoch.tolist()
    log_loss = traj.log_loss.tolist()
    log_lr = traj.log_lr.tolist()
    log_grad = traj.log_grad.tolist()
    best_so_far = math.inf
    train_warnings = by_phase["train"]
    starts, finish = timeline(w)
    for epoch, start in enumerate(starts, start=1):
        completed = epoch <= traj.epochs_completed
        seconds = float(traj.epoch_seconds[epoch - 1]) if completed else w.nominal_epoch_seconds
        train_part = seconds * 0.85
        while log_index < n_logged and log_epoch[log_index] == epoch:
            g = log_global[log_index]
            in_epoch = log_in_epoch[log_index]
            frac = in_epoch / max(1, spe)
            while amp_index < len(amp) and amp[amp_index][0] <= g:
                at, scale = amp[amp_index]
                amp_index += 1
                if (at - 1) // max(1, spe) + 1 == epoch:
                    emit(start + train_part * frac * 0.98, "INFO", "amp",
                         f"loss scale reduced to {scale!r} (inf/nan gradients at global_step={at}, epoch {epoch}/{epochs}); "
                         "optimizer step skipped")
            loss = log_loss[log_index]
            if loss != loss:  # nan
                emit(start + train_part * frac, "ERROR", "train",
                     f"loss is nan at epoch {epoch}/{epochs} step {in_epoch}/{spe} global_step={g:,}; stopping run")
            else:
                # The most frequent line (a hundred per run): emit() and _grad() inlined.
                grad = log_grad[log_index]
                grad_text = "nan" if grad != grad else (f"{grad:.3f}" if grad < 1000 else f"{grad:.3e}")
                mark(start + train_part * frac)
                append(
                    f" INFO    train: epoch {epoch}/{epochs} step {in_epoch}/{spe} "
                    f"global_step={g:,} loss={loss:.4f} lr={log_lr[log_index]:.3e} grad_norm={grad_text}"
                )
            log_index += 1
        if not completed:
            break
        if spe == 0 and epoch == 1:
            emit(start + 0.1, "WARNING", "py.warnings",
                 f"{w.site_packages}/numpy/_core/fromnumeric.py:3860: RuntimeWarning: Mean of empty slice.")
        t = start + seconds
        e = epoch - 1
        val_loss = float(traj.val_loss[e])
        val_acc = float(traj.val_acc[e])
        vals = f"val_loss={val_loss:.4f} val_acc={val_acc:.4f}"
        if metric_f1:
            f1 = w.best_val.macro_f1 if epoch == traj.best_epoch else _epoch_f1(w, e)
            vals += f" val_macro_f1={f1:.4f}"
        emit(
            t,
            "INFO",
            "train",
            f"epoch {epoch}/{epochs} done train_loss={_loss(float(traj.train_loss[e]))} "
            f"train_acc={_loss(float(traj.train_acc[e]))} {vals} lr={lr_text(float(traj.lr_end[e]))} "
            f"grad_norm={_grad(float(traj.grad_mean[e]))} time={seconds:.1f}s",
        )
        if val_loss < best_so_far:
            best_so_far = val_loss
            emit(t + 0.35, "INFO", "ckpt", f"saved checkpoints/epoch={epoch:02d}-val_loss={val_loss:.4f}.ckpt (best val_loss)")
        if epoch == 1:
            for i, (logger, message) in enumerate(train_warnings):
                emit(t + 0.5 + 0.05 * i, "WARNING", logger, message)
            train_warnings = []
    t = finish - 0.5
    if traj.early_stop_epoch:
        best = traj.best_epoch
        emit(
            t,
            "INFO",
            "early_stopping",
            f"val_loss did not improve by more than {w.min_delta!r} for {w.patience} epochs "
            f"(best {float(traj.val_loss[best - 1]):.4f} at epoch {best}); stopping at epoch {traj.early_stop_epoch}/{epochs}",
        )
    for i, (logger, message) in enumerate(train_warnings):  # no epoch finished
        emit(t + 0.1 + 0.01 * i, "WARNING", logger, message)
    emit(
        finish,
        "INFO",
        "__main__",
        f"finished status={traj.status} epochs={traj.epochs_completed}/{epochs} best_epoch={traj.best_epoch} "
        f"wall_clock={w.wall_clock_seconds:.1f}s",
    )
    return "\n".join([stamp + line for stamp, line in zip(clock.stamps(offsets), lines, strict=True)]) + "\n"


def _epoch_f1(w: World, e: int) -> float:
    """Macro F1 of a non-best epoch: tracks accuracy with the best epoch's F1/accuracy ratio."""
    best = w.best_val
    ratio = best.macro_f1 / best.accuracy if best.accuracy else 1.0
    return min(1.0, float(w.trajectory.val_acc[e]) * ratio)

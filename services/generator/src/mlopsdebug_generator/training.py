"""A simulated training run: learning-rate schedule, loss, accuracy, gradient norms and epoch times.

The simulation is phenomenological, not a neural network: the loss decays from chance towards a
floor at a speed set by how much "effective data" the optimizer has consumed (learning rate relative
to its tuned value, batch size, steps), validation loss turns up when the model overfits a small
train split, and the pathological regimes follow from the config: a learning rate far above the
stable range grows the loss exponentially until it is non-finite, SGD momentum close to 1 makes the
loss oscillate, and a batch larger than the train split leaves one optimizer step per epoch.
Everything is vectorised over logged steps and epochs so that one run costs well under a millisecond.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# Progress gained per step saturates beyond this multiple of the batch size the lr was tuned for.
_CRITICAL_BATCH_MULTIPLE = 1.5
# A learning rate this many times the tuned one gives no further speed-up before it destabilises.
_MAX_USEFUL_LR_RATIO = 3.0
_GRID_POINTS = 384


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    kind: str  # one of catalog.SCHEDULERS
    warmup_steps: int = 0
    min_lr: float = 0.0
    step_size: int = 0  # epochs between decays ("step")
    gamma: float = 1.0  # decay factor per step_size epochs ("step") or per epoch ("exponential")
    pct_start: float = 0.3  # "onecycle"
    div_factor: float = 25.0  # "onecycle"
    final_div_factor: float = 1e4  # "onecycle"
    # The scheduler is stepped after every optimizer step although its decay counts epochs ("step" and
    # "exponential" schedules with Lightning's interval "step"): each batch then applies an epoch's decay.
    per_batch: bool = False


def learning_rates(schedule: Schedule, peak_lr: float, steps: np.ndarray, steps_per_epoch: int, total_steps: int) -> np.ndarray:
    """Learning rate used by the optimizer at each 0-based step index (vectorised)."""
    s = steps.astype(np.float64)
    kind = schedule.kind
    if kind == "onecycle":
        up = max(1.0, schedule.pct_start * total_steps - 1.0)
        initial = peak_lr / schedule.div_factor
        final = initial / schedule.final_div_factor
        down = max(1.0, total_steps - 1.0 - up)
        rising = s <= up
        pct_up = np.clip(s / up, 0.0, 1.0)
        pct_down = np.clip((s - up) / down, 0.0, 1.0)
        lr_up = peak_lr + (initial - peak_lr) / 2.0 * (np.cos(np.pi * pct_up) + 1.0)
        lr_down = final + (peak_lr - final) / 2.0 * (np.cos(np.pi * pct_down) + 1.0)
        return np.where(rising, lr_up, lr_down)
    warm = schedule.warmup_steps
    factor = np.minimum(1.0, (s + 1.0) / warm) if warm > 0 else np.ones_like(s)
    if kind == "cosine":
        span = max(1.0, total_steps - warm)
        progress = np.clip((s - warm) / span, 0.0, 1.0)
        decayed = schedule.min_lr + (peak_lr - schedule.min_lr) * 0.5 * (1.0 + np.cos(np.pi * progress))
        return np.where(s < warm, peak_lr * factor, decayed)
    if kind == "linear":
        span = max(1.0, total_steps - warm)
        decayed = peak_lr * np.clip((total_steps - s) / span, 0.0, 1.0)
        return np.where(s < warm, peak_lr * factor, decayed)
    epoch_index = np.floor(s / max(1, steps_per_epoch))
    if schedule.per_batch:
        epoch_index = s
    if kind == "step":
        return peak_lr * factor * schedule.gamma ** np.floor(epoch_index / max(1, schedule.step_size))
    if kind == "exponential":
        return peak_lr * factor * schedule.gamma**epoch_index
    return peak_lr * factor  # constant


@dataclasses.dataclass(frozen=True, slots=True)
class TrainingSetup:
    num_classes: int
    n_train: int
    n_full: int  # train size of the healthy, uncapped split: the data-size reference
    batch_size: int
    tuned_batch: int  # the batch size the tuned learning rate (lr_opt) refers to
    drop_last: bool
    epochs: int
    schedule: Schedule
    peak_lr: float
    lr_opt: float  # tuned learning rate for tuned_batch
    tau: float  # full-data epochs to cover 63% of the way to the loss floor
    acc_cap: float  # best validation accuracy reachable with this model and train size
    loss_floor_val: float
    loss_floor_train: float
    overfit_rate: float
    overfit_onset: float  # in units of tau
    patience: int  # 0 = no early stopping
    min_delta: float
    grad_scale: float
    batch_noise: float  # relative std of a logged batch loss
    log_every: int
    fp16: bool
    # Pathologies (zero when absent)
    lr_critical: float = math.inf  # learning rate above which updates amplify the loss
    oscillation: float = 0.0  # relative amplitude of momentum-driven loss oscillation
    oscillation_slowdown: float = 1.0
    # Share of the way from the loss floor back to chance that an unstable optimizer never recovers.
    floor_lift: float = 0.0
    # Fraction of validation samples that the model has effectively trained on, and how much of the
    # train/val difference they inherit (1 for exact copies, less for near-duplicates of a source).
    val_seen_fraction: float = 0.0
    val_seen_strength: float = 1.0
    # Relative spread of validation accuracy between passes (random evaluation transforms), 0 = none.
    val_noise: float = 0.0
    spike: bool = False  # one benign early gradient spike
    # Version 2: a larger benign spike (a bad batch that training recovers from), as a factor on one
    # logged step's gradient norm (0 = none) and where it falls, as a fraction of the logged steps.
    benign_spike: float = 0.0
    benign_spike_at: float = 0.5
    # Share of each update that survives (fp16 gradients that underflow to zero without loss scaling carry
    # none), and what the logged gradient norm is multiplied by (the norm of mostly-zero gradients).
    update_scale: float = 1.0
    grad_norm_factor: float = 1.0
    # How much higher the loss measured in training mode is than in eval mode (heavy dropout is active
    # only while training).
    train_loss_factor: float = 1.0
    # A GradScaler adjusts the loss scale in fp16 (the log's "loss scale reduced" lines); without one, none.
    loss_scaling: bool = True


@dataclasses.dataclass(slots=True)
class Trajectory:
    steps_per_epoch: int
    total_steps: int  # planned
    # Logged steps (global step, 1-based), in order; the last may be the non-finite one.
    log_global: np.ndarray
    log_epoch: np.ndarray
    log_in_epoch: np.ndarray
    log_loss: np.ndarray
    log_lr: np.ndarray
    log_grad: np.ndarray
    # Completed epochs (index 0 = epoch 1). Validation values are what the training loop measured.
    train_loss: np.ndarray
    train_acc: np.ndarray
    val_loss: np.ndarray
    val_acc: np.ndarray
    clean_val_acc: np.ndarray  # accuracy on validation samples the model never trained on
    clean_val_loss: np.ndarray
    grad_mean: np.ndarray
    lr_end: np.ndarray
    epoch_seconds: np.ndarray
    init_val_loss: float
    init_val_acc: float
    status: str
    epochs_completed: int
    best_epoch: int  # 1-based; 0 when no epoch completed
    early_stop_epoch: int  # 0 when early stopping did not trigger
    diverge_global: int  # 0 when the loss stayed finite
    amp_events: list[tuple[int, float]]  # (global step, new loss scale)


def _progress_rate(setup: TrainingSetup, lr: np.ndarray) -> np.ndarray:
    """Full-data epochs of progress per optimizer step.

    A step is worth `tuned_batch` samples at the tuned learning rate; a larger batch at the same rate
    gains little. Small train sets need fewer samples to converge than the full data (n_eff).
    """
    effective_batch = min(setup.batch_size, setup.n_train)
    batch_gain = math.sqrt(min(effective_batch / setup.tuned_batch, _CRITICAL_BATCH_MULTIPLE))
    ratio = np.minimum(lr / setup.lr_opt, _MAX_USEFUL_LR_RATIO)
    n_eff = setup.n_full**0.3 * setup.n_train**0.7
    rate = ratio * batch_gain * setup.tuned_batch / n_eff / setup.oscillation_slowdown
    if setup.update_scale != 1.0:
        rate = rate * setup.update_scale
    return rate


def simulate(setup: TrainingSetup, rng: np.random.Generator, epoch_time: float, epoch_overhead: float) -> Trajectory:
    """Runs the phenomenological model; `rng` supplies all noise (batch loss, jitter, spikes)."""
    if setup.drop_last:
        spe = setup.n_train // setup.batch_size
    else:
        spe = math.ceil(setup.n_train / setup.batch_size)
    total = spe * setup.epochs
    if spe == 0:
        return _without_steps(setup, rng, epoch_time, epoch_overhead)

    # Cumulative progress on a grid over all planned steps, interpolated where needed.
    if total < _GRID_POINTS:
        grid = np.arange(total + 1)
    else:  # spacing >= 1 step, so the rounded points stay strictly increasing
        grid = np.rint(np.linspace(0, total, _GRID_POINTS)).astype(np.int64)
    grid_lr = learning_rates(setup.schedule, setup.peak_lr, np.maximum(grid - 1, 0), spe, total)
    rate = _progress_rate(setup, grid_lr)
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]) * np.diff(grid))))

    def progress(steps: np.ndarray) -> np.ndarray:
        return np.interp(steps, grid, cum)

    k = setup.num_classes
    l0 = math.log(k) * (1.0 + 0.015 * rng.standard_normal())
    chance = 1.0 / k
    if setup.floor_lift:
        lifted_val = setup.loss_floor_val + (l0 - setup.loss_floor_val) * setup.floor_lift
        lifted_train = setup.loss_floor_train + (l0 - setup.loss_floor_train) * setup.floor_lift
        setup = dataclasses.replace(setup, loss_floor_val=lifted_val, loss_floor_train=lifted_train)

    def val_clean_loss(p: np.ndarray) -> np.ndarray:
        x = p / setup.tau
        over = setup.overfit_rate * setup.loss_floor_val * np.maximum(0.0, x - setup.overfit_onset) ** 1.5
        return setup.loss_floor_val + (l0 - setup.loss_floor_val) * np.exp(-x) + over

    def train_loss_at(p: np.ndarray) -> np.ndarray:
        return setup.loss_floor_train + (l0 - setup.loss_floor_train) * np.exp(-p / setup.tau)

    acc_scale = 1.0 - setup.floor_lift

    def acc_from(loss: np.ndarray, floor: float, cap: float) -> np.ndarray:
        q = np.clip((l0 - loss) / max(1e-9, l0 - floor), 0.0, 1.0) * acc_scale
        return chance + (cap - chance) * q**0.85

    train_cap = min(0.999, setup.acc_cap + (1.0 - setup.acc_cap) * (0.45 + 0.45 * (1.0 - min(1.0, setup.n_train / setup.n_full) ** 0.5)))

    # Divergence: the loss grows exponentially once the learning rate passes the critical value.
    diverge_global = 0
    unstable_from = 0
    growth = 0.0
    if math.isfinite(setup.lr_critical):
        dense = np.arange(total)
        lrs = learning_rates(setup.schedule, setup.peak_lr, dense, spe, total)
        above = np.nonzero(lrs > setup.lr_critical)[0]
        if above.size:
            unstable_from = int(above[0]) + 1
            ratio = float(setup.peak_lr / setup.lr_critical)
            growth = 0.018 * ratio**0.7
            # A learning rate this far out blows up within about an epoch and a half.
            steps_to_nan = min(math.log(2e4) / growth, max(3.0, 1.5 * spe))
            steps_to_nan = max(3, int(steps_to_nan * (0.8 + 0.4 * rng.random())))
            diverge_global = min(total, unstable_from + steps_to_nan)

    def blowup(steps: np.ndarray) -> np.ndarray | float:
        if not growth:
            return 1.0
        return np.exp(np.minimum(60.0, growth * np.maximum(0.0, steps - unstable_from)))

    # Epoch-level values for every planned epoch (truncated after early stopping / divergence).
    epochs = np.arange(1, setup.epochs + 1)
    end_steps = epochs * spe
    mid_steps = end_steps - spe / 2.0
    p_end = progress(end_steps)
    p_mid = progress(mid_steps)
    jitter = rng.standard_normal((4, setup.epochs))
    val_clean = val_clean_loss(p_end) * (1.0 + 0.003 * jitter[0])
    tr_loss = train_loss_at(p_mid) * (1.0 + 0.005 * jitter[1])
    tr_end = train_loss_at(p_end)
    if setup.oscillation > 0.0:
        swing = rng.random((2, setup.epochs))
        val_clean = val_clean * np.exp(setup.oscillation * (0.3 + 3.5 * swing[0]))
        tr_loss = tr_loss * np.exp(setup.oscillation * (0.3 + 3.5 * swing[1]))
    tr_loss = tr_loss * blowup(mid_steps)
    if setup.train_loss_factor != 1.0:
        tr_loss = tr_loss * setup.train_loss_factor
    val_clean = val_clean * blowup(end_steps) ** 0.85
    clean_acc = acc_from(val_clean, setup.loss_floor_val, setup.acc_cap) + 0.002 * jitter[2]
    if setup.val_noise:
        clean_acc = clean_acc + setup.val_noise * rng.standard_normal(setup.epochs)
    tr_acc = acc_from(tr_loss, setup.loss_floor_train, train_cap) + 0.002 * jitter[3]
    # Validation samples the model has trained on behave like training samples.
    seen = setup.val_seen_fraction * setup.val_seen_strength
    val_loss = (1.0 - seen) * val_clean + seen * tr_end
    val_acc = (1.0 - seen) * clean_acc + seen * acc_from(tr_end, setup.loss_floor_train, train_cap)
    # The log prints 4 decimals; decisions (early stopping, best checkpoint) see the same numbers.
    clean_acc = np.clip(clean_acc, 0.0, 1.0).round(4)
    val_acc = np.clip(val_acc, 0.0, 1.0).round(4)
    tr_acc = np.clip(tr_acc, 0.0, 1.0).round(4)
    val_loss = val_loss.round(4)
    tr_loss = tr_loss.round(4)

    # Stopping: early stopping on val_loss, unless the loss turns non-finite first.
    completed = (diverge_global - 1) // spe if diverge_global else setup.epochs
    status = "diverged" if diverge_global else "completed"
    early_stop_epoch = 0
    best = 0
    best_loss = math.inf
    since = 0
    for e in range(completed):
        v = float(val_loss[e])
        since = 0 if v < best_loss - setup.min_delta else since + 1
        if v < best_loss:
            best_loss = v
            best = e + 1
        if setup.patience and since >= setup.patience and e + 1 < setup.epochs:
            completed = e + 1
            early_stop_epoch = e + 1
            status = "early_stopped"
            diverge_global = 0
            break

    # Logged steps up to the last executed step.
    last_step = diverge_global if diverge_global else completed * spe
    logged = np.arange(setup.log_every, last_step + 1, setup.log_every, dtype=np.int64)
    if diverge_global and (logged.size == 0 or logged[-1] != diverge_global):
        logged = np.append(logged, diverge_global)
    p_log = progress(logged)
    log_lr = learning_rates(setup.schedule, setup.peak_lr, logged - 1, spe, total)
    noise = rng.standard_normal((2, logged.size))
    base = train_loss_at(p_log)
    log_loss = base * np.maximum(0.15, 1.0 + setup.batch_noise * noise[0])
    if setup.oscillation > 0.0:
        period = setup.log_every * (2.3 + 1.7 * rng.random())
        phase = rng.random() * 2.0 * np.pi
        wave = 0.5 + 0.5 * np.sin(2.0 * np.pi * logged / period + phase) + 0.6 * rng.random(logged.size)
        log_loss = log_loss * np.exp(5.0 * setup.oscillation * wave)
    log_loss = log_loss * blowup(logged)
    if setup.train_loss_factor != 1.0:
        log_loss = log_loss * setup.train_loss_factor
    log_grad = setup.grad_scale * (0.25 + 0.75 * np.sqrt(np.minimum(base / l0, 2.0))) * np.exp(0.07 * noise[1])
    if setup.oscillation > 0.0:
        log_grad = log_grad * np.exp(5.0 * setup.oscillation * wave) * (1.0 + 4.0 * setup.oscillation)
    log_grad = log_grad * blowup(logged) ** 1.15
    if setup.grad_norm_factor != 1.0:
        log_grad = log_grad * setup.grad_norm_factor
    if setup.spike and logged.size > 8:
        at = int(rng.integers(1, max(2, logged.size // 4)))
        log_grad[at] *= 4.0 + 4.0 * rng.random()
    if setup.benign_spike > 0.0 and logged.size > 8:
        at = min(logged.size - 2, max(1, int(setup.benign_spike_at * logged.size)))
        log_grad[at] *= setup.benign_spike
        log_loss[at] *= 1.0 + 0.02 * setup.benign_spike
    if diverge_global:
        log_loss[-1] = math.nan
        log_grad[-1] = math.nan
    log_epoch = (logged - 1) // spe + 1
    log_in_epoch = logged - (log_epoch - 1) * spe

    # Epoch grad mean and lr at epoch end (for the epoch summary lines).
    mean_steps = mid_steps[:completed]
    grad_mean = setup.grad_scale * (0.25 + 0.75 * np.sqrt(np.minimum(train_loss_at(progress(mean_steps)) / l0, 2.0)))
    grad_mean = grad_mean * np.exp(0.05 * rng.standard_normal(completed))
    if setup.oscillation > 0.0:
        grad_mean = grad_mean * np.exp(4.0 * setup.oscillation * 1.6 * rng.random(completed)) * (1.0 + 4.0 * setup.oscillation)
    grad_mean = grad_mean * blowup(mean_steps) ** 1.15
    if setup.grad_norm_factor != 1.0:
        grad_mean = grad_mean * setup.grad_norm_factor
    lr_end = learning_rates(setup.schedule, setup.peak_lr, end_steps[:completed] - 1, spe, total)
    seconds = epoch_time * (1.0 + 0.025 * rng.standard_normal(completed)) + epoch_overhead
    if completed:
        seconds[0] += epoch_overhead * (1.5 + 2.0 * rng.random())

    init_val_loss = l0 * (1.0 + 0.004 * rng.standard_normal())
    init_val_acc = float(np.clip(chance * (1.0 + 0.06 * rng.standard_normal()), 0.0, 1.0))

    # AMP loss-scale reductions: a couple early in every fp16 run, a burst before a divergence.
    amp_events: list[tuple[int, float]] = []
    if setup.fp16 and last_step > 0:
        steps = list(rng.integers(1, max(2, min(40, last_step)), int(rng.integers(1, 3))))
        if diverge_global:
            span = max(2, diverge_global - unstable_from)
            steps += [unstable_from + int(f * span * 0.9) for f in rng.random(int(rng.integers(3, 7)))]
        scale = 65536.0
        for at_step in sorted(set(int(x) for x in steps)):
            scale /= 2.0
            amp_events.append((at_step, scale))
    if not setup.loss_scaling:
        amp_events = []  # drawn all the same, so that the run's later draws stay where they were

    return Trajectory(
        steps_per_epoch=spe,
        total_steps=total,
        log_global=logged,
        log_epoch=log_epoch,
        log_in_epoch=log_in_epoch,
        log_loss=log_loss,
        log_lr=log_lr,
        log_grad=log_grad,
        train_loss=tr_loss[:completed],
        train_acc=tr_acc[:completed],
        val_loss=val_loss[:completed],
        val_acc=val_acc[:completed],
        clean_val_acc=clean_acc[:completed],
        clean_val_loss=val_clean[:completed],
        grad_mean=grad_mean,
        lr_end=lr_end,
        epoch_seconds=seconds,
        init_val_loss=float(init_val_loss),
        init_val_acc=init_val_acc,
        status=status,
        epochs_completed=completed,
        best_epoch=best if completed else 0,
        early_stop_epoch=early_stop_epoch,
        diverge_global=diverge_global,
        amp_events=amp_events,
    )


def _without_steps(setup: TrainingSetup, rng: np.random.Generator, epoch_time: float, epoch_overhead: float) -> Trajectory:
    """The train loader yields no batches (drop_last with batch_size > train size): validation only.

    The weights never change, so every validation pass returns the same loss; early stopping ends the
    run after `patience` epochs, and the epoch's mean train loss is the mean of an empty list (NaN).
    """
    k = setup.num_classes
    l0 = round(math.log(k) * (1.0 + 0.015 * rng.standard_normal()), 4)
    init_acc = float(np.clip(1.0 / k * (1.0 + 0.06 * rng.standard_normal()), 0.0, 1.0))
    completed = setup.epochs
    status = "completed"
    early = 0
    if setup.patience:
        completed = min(setup.epochs, setup.patience + 1)
        if completed < setup.epochs:
            status = "early_stopped"
            early = completed
    empty_int = np.zeros(0, dtype=np.int64)
    empty = np.zeros(0)
    nan = np.full(completed, math.nan)
    val_loss = np.full(completed, l0)
    val_acc = np.full(completed, init_acc)
    seconds = epoch_time * (1.0 + 0.025 * rng.standard_normal(completed)) + epoch_overhead
    return Trajectory(
        steps_per_epoch=0,
        total_steps=0,
        log_global=empty_int,
        log_epoch=empty_int,
        log_in_epoch=empty_int,
        log_loss=empty,
        log_lr=empty,
        log_grad=empty,
        train_loss=nan,
        train_acc=nan.copy(),
        val_loss=val_loss,
        val_acc=val_acc,
        clean_val_acc=val_acc.copy(),
        clean_val_loss=val_loss.copy(),
        grad_mean=nan.copy(),
        # The scheduler never steps: the optimizer keeps its initial learning rate.
        lr_end=np.full(completed, float(learning_rates(setup.schedule, setup.peak_lr, np.zeros(1), 1, 1)[0])),
        epoch_seconds=seconds,
        init_val_loss=l0,
        init_val_acc=init_acc,
        status=status,
        epochs_completed=completed,
        best_epoch=1,
        early_stop_epoch=early,
        diverge_global=0,
        amp_events=[],
    )

"""easy: the batch size exceeds the (capped) training split and drop_last discards the only batch."""

from __future__ import annotations

import dataclasses

from mlopsdebug_generator.draws import pick
from mlopsdebug_generator.faults.base import ConfigFault, FaultParams, GalleryLine
from mlopsdebug_generator.faults.registry import register


@dataclasses.dataclass(frozen=True, slots=True)
class Params(FaultParams):
    bad_value: int
    train_size: int
    healthy_value: int


@register
class BatchSizeOverflow(ConfigFault):
    fault_id = "batch_size_overflow"
    title = "a batch larger than the training split"
    config_kind = "batch_size"
    tripped_checks = ("loss_trajectory",)
    gallery = GalleryLine(
        "the batch size exceeds the training split and drop_last discards the only batch: zero optimizer steps.",
        log_lines="loader",
        stats_keys=("splits.train.n_samples", "splits.val.n_samples", "n_unique_ids"),
    )

    def train_cap(self, rng, revision):
        # A quick experiment on a capped train split (the batch size comes from a large-scale config).
        return int(pick(rng, (2_000, 2_500, 3_000, 4_000, 5_000)))

    def draw(self, world, rng):
        assert world.max_train_samples is not None  # train_cap gave this fault's worlds a capped split
        cap = int(world.max_train_samples)
        world.drop_last = True
        options = tuple(b for b in (4096, 5000, 6000, 6144, 8192, 10000, 12288, 16384, 20000, 32768) if b > 1.1 * cap)
        return Params(bad_value=int(pick(rng, options[:5])), train_size=cap, healthy_value=world.healthy_batch_size)

    def plant(self, world):
        world.batch_size = int(Params.of(world).bad_value)

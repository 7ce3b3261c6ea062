"""Test-side access to answers: opens sealed keys with the cluster's secret (as only the grader may).

Used to find a seed for each fault and to write the correct diagnosis for it. Under mutual TLS the
generator serves only the episode identity: pass its certificate as a ClientConfig
(`LocalCluster.tls_files("episode")`).
"""

from __future__ import annotations

import functools

from mlopsdebug_client import ClientConfig, GeneratorClient, build_diagnosis
from mlopsdebug_common.answer_key import AnswerKey
from mlopsdebug_common.convert import sealed_key_from_pb
from mlopsdebug_common.faults import FAULTS
from mlopsdebug_common.sealing import Sealer
from mlopsdebug_grader.fix_rules import gold_fix


def open_key(secret: bytes, sealed_pb) -> AnswerKey:
    return Sealer(secret).open(sealed_key_from_pb(sealed_pb))


@functools.lru_cache(maxsize=8)
def seeds_by_fault(
    generator_addr: str, secret: bytes, per_fault: int = 1, limit: int = 200, config: ClientConfig | None = None
) -> dict[str, tuple[int, ...]]:
    """The first `per_fault` seeds of each fault (searched over seeds 0..limit-1 of its task)."""
    found: dict[str, list[int]] = {fault: [] for fault in FAULTS}
    with GeneratorClient(generator_addr, config=config) as generator:
        for fault, spec in FAULTS.items():
            if found[fault]:
                continue
            for seed in range(limit):
                key = open_key(secret, generator.generate_scenario(spec.task_id, seed).scenario.answer_key)
                if len(found[key.fault_id]) < per_fault and FAULTS[key.fault_id].task_id == spec.task_id:
                    found[key.fault_id].append(seed)
                if len(found[fault]) >= per_fault:
                    break
    return {fault: tuple(seeds) for fault, seeds in found.items()}


def gold_diagnosis(key: AnswerKey):
    """The correct diagnosis, in the grader's gold wording."""
    return build_diagnosis(
        failure_category=key.category,
        root_cause_file=key.file,
        root_cause_field=key.field,
        diagnosis=f"The root cause is {key.field} in {key.file}.",
        proposed_fix=gold_fix(key),
    )

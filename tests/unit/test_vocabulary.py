"""One set of word lists: the proto enums. The client's vocabulary derives them, the services' domain
catalogs (common/domain.py, faults.py, tasks.py: domain code imports no protobuf) must agree with them,
and no other client or service module writes a whole list out again."""

from __future__ import annotations

import ast
import pathlib

import pytest

from mlopsdebug.common.v1 import common_pb2
from mlopsdebug_client import _enums, vocabulary
from mlopsdebug_common import domain, faults, tasks

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The seed specification's spelling and order: the one place these names are written in full, as the oracle.
SEED_LISTS = {
    "ACTION_TYPES": ("read_config", "read_logs", "check_dataset_stats", "inspect_preprocessing", "read_eval_results",
                     "run_sanity_check", "query_artifact", "submit_diagnosis"),
    "SANITY_CHECKS": ("label_consistency", "data_leakage", "gradient_norms", "class_balance", "feature_statistics",
                      "encoder_version_match", "loss_trajectory", "metric_gap_analysis"),
    "ARTIFACTS": ("config.yaml", "train.log", "dataset_stats.json", "preprocessing.py", "eval_results.json",
                  "model_card.json"),
    "CATEGORIES": ("config_error", "data_leakage", "evaluation_bug", "preprocessing_bug", "label_mismatch",
                   "architecture_bug"),
}
# Domain catalogs (services/common, which imports no protobuf) and the vocabulary list each must equal.
DOMAIN_LISTS = {
    "ACTION_TYPES": domain.ACTION_TYPES,
    "SANITY_CHECKS": domain.SANITY_CHECKS,
    "ARTIFACTS": faults.ARTIFACT_FILES,
    "STRUCTURED_ARTIFACTS": domain.STRUCTURED_ARTIFACTS,
    "CATEGORIES": faults.CATEGORIES,
    "CHECK_STATUSES": domain.CHECK_STATUSES,
    "TRAINING_STATUSES": domain.TRAINING_STATUSES,
    "GRADE_COMPONENTS": tuple(domain.GRADE_WEIGHTS),
    "TASK_FAMILIES": tasks.TASK_ORDER,
}
# The domain catalogs themselves; every other module must take its lists from them or the vocabulary.
CANONICAL_FILES = {
    ROOT / "services" / "common" / "src" / "mlopsdebug_common" / name for name in ("domain.py", "faults.py", "tasks.py")
}


def test_the_vocabulary_is_the_seeds():
    for name, words in SEED_LISTS.items():
        assert getattr(vocabulary, name) == words, name


@pytest.mark.parametrize("name", sorted(DOMAIN_LISTS))
def test_the_domain_catalogs_agree_with_the_enums(name):
    """common/domain.py and common/faults.py list exactly the enum values, in enum order."""
    assert tuple(DOMAIN_LISTS[name]) == getattr(vocabulary, name)


def test_fault_splits_agree_with_the_enum():
    assert tasks.SPLITS == tuple(_enums.short_names(common_pb2.FaultSplit.DESCRIPTOR))


def test_every_list_of_the_vocabulary_is_checked():
    assert set(vocabulary.__all__) == set(DOMAIN_LISTS)


def test_agents_and_the_openenv_client_use_the_vocabulary():
    from mlopsdebug_agents import heuristic, llm, random_agent

    assert heuristic._CHECKS is vocabulary.SANITY_CHECKS
    assert random_agent.SANITY_CHECKS is vocabulary.SANITY_CHECKS
    assert (random_agent.ARTIFACTS, random_agent.CATEGORIES) == (vocabulary.ARTIFACTS, vocabulary.CATEGORIES)
    tools = {t["function"]["name"]: t["function"]["parameters"]["properties"] for t in llm.TOOLS}
    assert tuple(tools["run_sanity_check"]["check"]["enum"]) == vocabulary.SANITY_CHECKS
    assert tuple(tools["submit_diagnosis"]["failure_category"]["enum"]) == vocabulary.CATEGORIES
    openenv_client = pytest.importorskip("mlopsdebug_client.openenv_client")
    schema = openenv_client.MLOpsAction.model_json_schema()["properties"]
    assert tuple(schema["action_type"]["enum"]) == vocabulary.ACTION_TYPES


def whole_lists_written_out(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, list name) of every tuple, list or set literal that spells out a whole vocabulary list."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set)) or len(node.elts) < 3:
            continue
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            continue
        words = {e.value for e in node.elts}
        found += [(node.lineno, name) for name in vocabulary.__all__
                  if len(getattr(vocabulary, name)) >= 3 and words == set(getattr(vocabulary, name))]
    return found


def test_no_client_or_service_module_writes_a_list_out_again():
    """Clients take the lists from the vocabulary, services from the domain catalogs: no third copy."""
    roots = [ROOT / "clients" / "python", ROOT / "clients" / "agents", ROOT / "services"]
    copies = {
        f"{path.relative_to(ROOT)}:{line}": name
        for root in roots for path in sorted(root.rglob("*.py")) if path not in CANONICAL_FILES
        for line, name in whole_lists_written_out(path)
    }
    assert copies == {}


def test_the_scan_finds_a_copy(tmp_path):
    path = tmp_path / "agent.py"
    path.write_text('CATS = ["config_error", "data_leakage", "evaluation_bug", "preprocessing_bug",\n'
                    '        "label_mismatch", "architecture_bug"]\nOK = ("config_error", "data_leakage", "x")\n')
    assert whole_lists_written_out(path) == [(1, "CATEGORIES")]

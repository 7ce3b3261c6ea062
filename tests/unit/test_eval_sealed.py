"""Unit tests of `eval --mode sealed`'s bookkeeping: records built from the operator's reports."""

from __future__ import annotations

from mlopsdebug.common.v1 import common_pb2 as pb
from mlopsdebug.episode.v1 import episode_service_pb2 as ep_pb
from mlopsdebug_cli.evaluate import EpisodeKey, summarize
from mlopsdebug_cli.sealed import records_from_reports


def test_records_take_seed_grade_and_fault_from_the_report_and_count_what_never_ran():
    """The played record keeps its steps; seed, score, grade and fault come from the report; an episode
    that never ran (or failed) still gets a record that scores 0, so it counts in the summary."""
    grade = pb.Grade(
        score=0.7,
        components=[pb.GradeComponent(kind=pb.GRADE_COMPONENT_KIND_FIELD, weight=0.3, credit=1.0, reason="ok")],
        answer=pb.RevealedAnswer(fault_id="exploding_lr"),
    )
    report = ep_pb.EvaluationReport(
        evaluation_id="ev-1",
        episodes=[
            ep_pb.EvaluationEpisode(
                task_id="easy", index=0, seed=123, episode_id="ep-a", step_count=3, score=0.7,
                status=ep_pb.EVALUATION_EPISODE_STATUS_GRADED, grade=grade,
            ),
            ep_pb.EvaluationEpisode(
                task_id="easy", index=1, seed=456, status=ep_pb.EVALUATION_EPISODE_STATUS_NOT_STARTED,
            ),
        ],
    )  # fmt: skip
    played = {
        "ep-a": {
            "task": "easy", "seed": 0, "agent": "heuristic", "fault": None, "status": "terminated",
            "score": 0.7, "success": True, "n_steps": 3, "steps": [{"step": 1}], "grade": {"score": 0.7},
            "timing": {"episode_id": "ep-a"},
        }
    }  # fmt: skip
    records = records_from_reports({"heuristic": report}, played)
    graded = records[EpisodeKey("heuristic", "easy", 123)]
    assert graded["steps"] == [{"step": 1}] and graded["fault"] == "exploding_lr"
    assert graded["grade"]["components"][0]["reason"] == "ok" and graded["score"] == 0.7
    assert graded["evaluation"] == {"evaluation_id": "ev-1", "index": 0}
    missing = records[EpisodeKey("heuristic", "easy", 456)]
    assert (missing["status"], missing["score"], missing["grade"], missing["steps"]) == ("aborted", 0.0, None, [])
    (row,), _ = summarize(records.values())
    assert (row.episodes, row.mean_score, row.truncated) == (2, 0.35, 1)
    assert played["ep-a"]["seed"] == 0  # the agent's own record is not mutated

"""The salt of an `eval` run: private while the run goes, the same on resume, published when complete."""

from __future__ import annotations

import json
import pathlib
import stat

import pytest

from mlopsdebug_cli.eval_salt import SaltError, finish, for_run, prepare, sidecar_path


def mode(path: pathlib.Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def stored(path: pathlib.Path) -> dict:
    return json.loads(sidecar_path(path).read_text())


class TestPrivateUntilComplete:
    def test_a_new_run_draws_a_fresh_salt_kept_private(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        first = for_run(out, salt=None, public=False, has_records=False)
        other = for_run(tmp_path / "other.jsonl", salt=None, public=False, has_records=False)
        assert len(first.salt) == 32 and first.salt != other.salt and not first.public
        assert mode(sidecar_path(out)) == 0o600
        assert stored(out) == {"salt": first.salt, "public": False, "complete": False}

    def test_a_resumed_run_reuses_the_first_runs_salt(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        first = for_run(out, salt=None, public=False, has_records=False)
        again = for_run(out, salt=None, public=False, has_records=True)
        assert again.salt == first.salt
        assert for_run(out, salt=first.salt, public=False, has_records=True).salt == first.salt

    def test_an_incomplete_run_keeps_it_private(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        run = for_run(out, salt=None, public=False, has_records=False)
        line = finish(run, complete=False, address=None)
        assert run.salt not in line and "kept private" in line
        assert mode(sidecar_path(out)) == 0o600 and not stored(out)["complete"]

    def test_a_complete_run_publishes_it(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        run = for_run(out, salt=None, public=False, has_records=False)
        line = finish(run, complete=True, address=None)
        assert f"--salt {run.salt} reproduces this run" in line
        assert mode(sidecar_path(out)) == 0o644
        assert stored(out)["complete"] and stored(out)["salt"] == run.salt
        assert run.salt in stored(out)["reproduce"]

    def test_extending_a_published_run_makes_it_private_again_and_says_so(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        finish(for_run(out, salt=None, public=False, has_records=False), complete=True, address=None)
        extended = for_run(out, salt=None, public=False, has_records=True)
        assert extended.was_published and mode(sidecar_path(out)) == 0o600 and not stored(out)["complete"]
        assert "already public" in finish(extended, complete=True, address=None)

    def test_fresh_draws_a_new_salt(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        first = for_run(out, salt=None, public=False, has_records=False)
        assert for_run(out, salt=None, public=False, has_records=False, fresh=True).salt != first.salt


class TestChoices:
    def test_an_explicit_salt_is_used(self, tmp_path):
        assert for_run(tmp_path / "e.jsonl", salt="s3cret", public=False, has_records=False).salt == "s3cret"

    def test_public_is_unsalted(self, tmp_path):
        run = for_run(tmp_path / "e.jsonl", salt=None, public=True, has_records=False)
        assert run.salt == "" and run.public
        assert "--public" in finish(run, complete=True, address=None)

    @pytest.mark.parametrize(("salt", "public"), [("", False), ("x", True)])
    def test_contradictions_are_refused(self, tmp_path, salt, public):
        with pytest.raises(SaltError):
            for_run(tmp_path / "e.jsonl", salt=salt, public=public, has_records=False)

    def test_another_salt_for_a_started_output_is_refused(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        for_run(out, salt="one", public=False, has_records=False)
        with pytest.raises(SaltError, match="another salt"):
            for_run(out, salt="two", public=False, has_records=True)
        with pytest.raises(SaltError, match="another salt"):
            for_run(out, salt=None, public=True, has_records=True)

    def test_records_without_a_sidecar_need_their_salt(self, tmp_path):
        with pytest.raises(SaltError, match="salt is unknown"):
            for_run(tmp_path / "eval.jsonl", salt=None, public=False, has_records=True)
        assert for_run(tmp_path / "eval.jsonl", salt="known", public=False, has_records=True).salt == "known"

    def test_a_damaged_sidecar_is_an_error_not_a_new_salt(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        sidecar_path(out).write_text("{not json")
        with pytest.raises(SaltError, match="unreadable"):
            for_run(out, salt=None, public=False, has_records=True)


class TestExternalCluster:
    def test_the_salt_is_unknown_and_cannot_be_chosen(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        assert prepare(out, address="h:1", salt=None, public=False, has_records=False, fresh=False) is None
        assert "unknown to eval" in finish(None, complete=True, address="h:1")
        with pytest.raises(SaltError, match="--address has its own"):
            prepare(out, address="h:1", salt="x", public=False, has_records=False, fresh=False)

    def test_an_own_cluster_run_is_not_resumed_against_another_cluster(self, tmp_path):
        out = tmp_path / "eval.jsonl"
        prepare(out, address=None, salt=None, public=False, has_records=False, fresh=False)
        with pytest.raises(SaltError, match="without --address"):
            prepare(out, address="h:1", salt=None, public=False, has_records=True, fresh=False)
        assert prepare(out, address="h:1", salt=None, public=False, has_records=True, fresh=True) is None
        assert not sidecar_path(out).exists()

"""A run record says which code made it: the commit and every path outside results/ that differs from it
(results/ holds run records and reports, never code, so records awaiting their commit are not changes)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from lcl_repro.track import record

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_only_changes_outside_results_make_the_code_dirty(tmp_path):
    (tmp_path / "lcl_repro").mkdir()
    (tmp_path / "lcl_repro" / "loss.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    assert record.code_changes(tmp_path) == []
    run = tmp_path / "results" / "runs" / "emoint" / "ce" / "seed0"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text("{}")  # a record awaiting its commit
    assert record.code_changes(tmp_path) == []
    (tmp_path / "lcl_repro" / "loss.py").write_text("x = 2\n")
    (tmp_path / "lcl_repro" / "new.py").write_text("")
    assert sorted(record.code_changes(tmp_path)) == ["lcl_repro/loss.py", "lcl_repro/new.py"]


def test_outside_a_checkout_the_flag_is_unknown_not_clean(tmp_path):
    assert record.code_changes(tmp_path) is None


def test_the_checkout_is_read_once_per_process_as_a_multirun_imports_its_code_once(monkeypatch):
    calls = []
    monkeypatch.setattr(record, "_git", lambda *args, **kw: calls.append(args) or "")
    record.source_state.cache_clear()
    try:
        first = record.source_state()
        assert record.source_state() == first and len(calls) == 2  # rev-parse HEAD and status, once
    finally:
        record.source_state.cache_clear()

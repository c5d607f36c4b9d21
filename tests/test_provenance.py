"""A run record says which code made it: the commit and every path outside results/ that differs from it
(results/ holds run records and reports, never code, so records awaiting their commit are not changes)."""
from __future__ import annotations

import json
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
    monkeypatch.setattr(record, "run_git", lambda *args, **kw: calls.append(args) or "")
    record.source_state.cache_clear()
    try:
        first = record.source_state()
        assert record.source_state() == first and len(calls) == 2  # rev-parse HEAD and status, once
    finally:
        record.source_state.cache_clear()


def write_env(results, name: str, **env) -> None:
    folder = results / "runs" / "emoint" / "ce" / "minilm" / name
    folder.mkdir(parents=True)
    (folder / "environment.json").write_text(json.dumps(env))


def test_provenance_groups_the_records_by_how_their_training_code_differs_from_head(tmp_path):
    from lcl_repro.report.committed import provenance

    loop = tmp_path / "lcl_repro" / "train" / "loop.py"
    loop.parent.mkdir(parents=True)
    loop.write_text("epochs = 5\n")
    (tmp_path / "README.md").write_text("a\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "first")
    first = record.run_git("rev-parse", "HEAD", cwd=tmp_path)
    loop.write_text("epochs = 15\n")
    git(tmp_path, "commit", "-q", "-am", "training changes")
    (tmp_path / "README.md").write_text("b\n")
    git(tmp_path, "commit", "-q", "-am", "docs only")
    second = record.run_git("rev-parse", "HEAD~1", cwd=tmp_path)
    results = tmp_path / "results"
    write_env(results, "old", git_commit=first, git_dirty=True)  # the older format
    write_env(results, "a", git_commit=second, git_dirty=False, git_changes=[])
    write_env(results, "b", git_commit=second, git_dirty=True, git_changes=["lcl_repro/train/loop.py", "notes.txt"])
    write_env(results, "lost", git_commit="0" * 40, git_dirty=False, git_changes=[])
    lines = provenance(results, cwd=tmp_path)
    assert lines[0].startswith("4 run record(s) under")
    assert f"  2 record(s) at 1 commit(s) ({second[:7]}, " in lines[1] and lines[1].endswith("training code as at HEAD")
    assert f"({first[:7]}, " in lines[2] and lines[2].endswith("differs from HEAD in lcl_repro/train/loop.py")
    assert lines[3].endswith("training code unknown (the commit is not in this checkout's history)")
    assert lines[4] == "ran uncommitted training code: 1 of the 3 record(s) that list their changes (git_changes)"
    assert lines[5].endswith("b: lcl_repro/train/loop.py")
    assert lines[6].startswith("1 record(s) of the older format")

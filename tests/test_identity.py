"""A run's identity is its settings and its data, and a record is finished only when it is whole.

- changed data files: the finished run is refused with one line (exit 2), never skipped;
- a checkpoint written under other settings is never resumed: the run restarts and says so, and its
  record equals a clean run of the new settings;
- a missing, truncated or unreadable metrics.json / predictions.npz / DONE, or a DONE of the older
  format, makes the run unfinished: one `rerun:` line, then it trains again;
- the report keeps only runs that read the same labelled files within a cell.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from lcl_repro import pipeline
from lcl_repro.report.collect import Run, same_source
from lcl_repro.track import record
from lcl_repro.train import loop
from tests.conftest import DATA, REPO, compose_config, needs_data

pytestmark = needs_data


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def only_run_folder(root: Path) -> Path:
    (done,) = list(root.rglob("metrics.json"))
    return done.parent


def metrics_without_timing(folder: Path) -> dict:
    data = json.loads((folder / "metrics.json").read_text())
    for key in ("timing", "run_dir"):
        data.pop(key)
    return data


# --------------------------------------------------------------------------- data identity
def test_data_identity_separates_sampled_data_from_its_source():
    """Few-shot samples differ by seed (data hash) but come from the same files (source hash); a
    second read of the same rows hashes the same."""
    def load(seed, *extra):
        return pipeline.load_data(compose_config([f"data_dir={DATA}", "dataset=emoint", f"seed={seed}",
                                                  "dataset.sampling.few_shot_k=5", *extra]))
    a0, a0_again, a1 = record.data_identity(load(0)), record.data_identity(load(0)), record.data_identity(load(1))
    assert a0 == a0_again
    assert a0["data_hash"] != a1["data_hash"] and a0["source_hash"] == a1["source_hash"]
    other_reader = record.data_identity(load(0, "dataset.skip_first_line=false"))
    assert other_reader["source_hash"] != a0["source_hash"]


@pytest.mark.slow
def test_changed_data_is_refused_not_skipped(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA / "emoint", data / "emoint")
    args = ["method=ce", "dataset=emoint", "encoder=tiny", f"data_dir={data}", f"output_root={tmp_path / 'out'}",
            f"cache_dir={tmp_path / 'cache'}", "dataset.limit.train=40", "dataset.limit.validation=20",
            "dataset.limit.test=20", "method.epochs=1", "progress=false"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr[-2000:]
    folder = only_run_folder(tmp_path / "out")
    done_before = (folder / record.DONE_FILE).read_text()
    assert "skip:" in run_cli(*args).stdout  # same data: skipped

    train_file = sorted((data / "emoint" / "train").iterdir())[0]
    lines = train_file.read_text().splitlines(keepends=True)
    train_file.write_text("".join(lines[:1]))  # the fault: one class's training file emptied
    changed = run_cli(*args)
    assert changed.returncode == 2, changed.stdout[-2000:] + changed.stderr[-2000:]
    message = changed.stderr.strip().splitlines()
    assert len(message) == 1 and message[0].startswith("error: ") and "holds a finished run of other data" in message[0]
    assert "skip:" not in changed.stdout
    assert (folder / record.DONE_FILE).read_text() == done_before  # the old record is left as it was


# --------------------------------------------------------------------------- checkpoint identity
class Killed(Exception):
    pass


def interrupt_after_first_epoch(monkeypatch):
    """Stop a run as a kill would, right after its first epoch checkpoint."""
    original, calls = loop.Trainer.train_epoch, []

    def train_epoch(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return original(self, *args, **kwargs)
    monkeypatch.setattr(loop.Trainer, "train_epoch", train_epoch)


@pytest.mark.slow
def test_checkpoint_of_other_settings_restarts_the_run(tiny_overrides, tmp_path, monkeypatch, capsys):
    base = [*tiny_overrides, "method=ce", "dataset=emoint", "method.epochs=2"]
    old, new = compose_config([*base, "method.lr=2e-5"]), compose_config([*base, "method.lr=5e-4"])
    with monkeypatch.context() as patch:
        interrupt_after_first_epoch(patch)
        with pytest.raises(Killed):
            pipeline.run(old)
    folder = record.run_dir(old)
    assert (folder / "checkpoint" / "last.pt").exists() and record.run_dir(new) == folder
    capsys.readouterr()

    pipeline.run(new)  # a default changed between the kill and the rerun: same folder, other settings
    out = capsys.readouterr().out
    assert "restart:" in out and "its checkpoint belongs to other settings" in out and "resume:" not in out
    restarted = metrics_without_timing(folder)

    clean = OmegaConf.merge(new, {"output_root": str(tmp_path / "clean")})
    pipeline.run(clean)
    assert restarted == metrics_without_timing(record.run_dir(clean))
    assert json.loads((folder / record.DONE_FILE).read_text())["fingerprint"] == record.fingerprint(new)


@pytest.mark.slow
def test_checkpoint_of_the_same_settings_resumes(tiny_overrides, monkeypatch, capsys):
    cfg = compose_config([*tiny_overrides, "method=ce", "dataset=emoint", "method.epochs=2"])
    with monkeypatch.context() as patch:
        interrupt_after_first_epoch(patch)
        with pytest.raises(Killed):
            pipeline.run(cfg)
    capsys.readouterr()
    pipeline.run(cfg)
    out = capsys.readouterr().out
    assert "resume:" in out and "restart:" not in out


# --------------------------------------------------------------------------- whole records
def corrupt_metrics(folder):
    text = (folder / "metrics.json").read_text()
    (folder / "metrics.json").write_text(text[: len(text) // 2])


def corrupt_predictions(folder):
    data = (folder / "predictions.npz").read_bytes()
    (folder / "predictions.npz").write_bytes(data[:100])


def older_format(folder):
    info = json.loads((folder / record.DONE_FILE).read_text())
    (folder / record.DONE_FILE).write_text(json.dumps({"fingerprint": info["fingerprint"]}))


@pytest.mark.parametrize("damage,why", [
    (corrupt_metrics, "metrics.json is truncated or changed"),
    (lambda f: (f / "metrics.json").unlink(), "metrics.json is missing"),
    (corrupt_predictions, "predictions.npz is truncated or changed"),
    (lambda f: (f / record.DONE_FILE).write_text(""), "DONE is unreadable"),
    (lambda f: (f / record.DONE_FILE).write_text("garbage\x00"), "DONE is unreadable"),
    (lambda f: (f / record.DONE_FILE).write_text("[]"), "DONE holds no fingerprint"),
    (older_format, "DONE is of an older record format"),
], ids=["metrics_truncated", "metrics_deleted", "predictions_truncated", "done_empty", "done_garbage",
        "done_not_a_record", "done_old_format"])
@pytest.mark.slow
def test_a_record_that_is_not_whole_is_rerun(damage, why, tiny_overrides, capsys):
    cfg = compose_config([*tiny_overrides, "method=ce", "dataset=emoint", "method.epochs=1"])
    first = pipeline.run(cfg)
    folder = record.run_dir(cfg)
    damage(folder)
    capsys.readouterr()
    again = pipeline.run(cfg)
    out = capsys.readouterr().out.splitlines()
    assert any(line == f"rerun: {folder}: {why}" or line.startswith(f"rerun: {folder}: {why}") for line in out), out
    assert "skip:" not in "\n".join(out)
    assert again["test"] == first["test"]
    record.read_done(folder)  # whole again: raises otherwise


# --------------------------------------------------------------------------- reports
def test_report_keeps_only_runs_of_one_source_within_a_cell(tmp_path):
    def run(seed, source):
        return Run(seed, tmp_path / f"seed{seed}", {}, {"source_hash": source})
    kept, note = same_source([run(0, "a"), run(1, "b"), run(2, "a")])
    assert [r.seed for r in kept] == [0, 2]
    assert note == "1 run(s) of other data left out (seeds 1; source hash b vs a)"
    kept, note = same_source([run(0, "a"), run(1, "a")])
    assert len(kept) == 2 and note == ""

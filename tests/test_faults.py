"""Every bad input exits 2 with one clear line and leaves nothing behind; a non-finite loss stops the
run with a diagnostic and no record; no secret reaches any file; reruns are bit-for-bit identical.

The end-to-end cases go through `python run.py` (exit status, stderr, files left); the range checks,
which all share one code path, run in-process. docs/faults.md lists the messages."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lcl_repro import pipeline
from lcl_repro.validation import validate
from lcl_repro.errors import ConfigError, DataError, UserError
from lcl_repro.track import record
from tests.conftest import DATA, REPO, compose_config, needs_data

BAD = REPO / "tests" / "fixtures" / "bad"
TINY = ["encoder=tiny", "dataset.limit.train=48", "dataset.limit.validation=24", "dataset.limit.test=24",
        "method.epochs=1", "method.batch_size=8", "progress=false"]


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_one_line_error(done: subprocess.CompletedProcess, needle: str) -> str:
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-3000:]
    assert needle in lines[0], lines[0]
    return lines[0]


# --------------------------------------------------------------------------- end to end, `python run.py`
@needs_data
@pytest.mark.parametrize("args,needle", [
    (["dataset.sampling.few_shot_k=5000"], "few-shot train: class 'anger' has 856 examples, 5000 needed"),
    (["data_dir=/nonexistent/data"], "data directory /nonexistent/data does not exist"),
    ([f"data_dir={BAD / 'wrong_width'}"], "missing data file"),  # the folder exists, emoint/ does not
    (["dataset=goemotions", f"data_dir={BAD / 'wrong_width'}"], "goemotions/train.tsv, line 3: malformed row"),
    ([f"data_dir={BAD / 'unknown_label'}"], "train.txt, line 2: unknown label 'rage' (labels: anger, fear"),
    (["dataset=goemotions", f"data_dir={BAD / 'all_neutral'}"], "train.tsv: no usable examples"),
    (["encoder=electra_base"], "cannot be loaded: no hub is reachable (offline mode); use encoder=minilm"),
    (["method=scl", "method.temprature=0.1"], "unknown config key method.temprature (did you mean method.temperature?)"),
    (["method=lcl", "method.alpha=1.5"], "method.alpha=1.5 is invalid: must be in [0, 1]"),
], ids=["few_shot_k", "no_data_dir", "no_data_file", "malformed_row", "unknown_label", "empty_split",
        "encoder_offline", "misspelt_key", "alpha_range"])
@pytest.mark.slow
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, needle, tmp_path):
    data = [] if any(a.startswith("data_dir=") for a in args) else [f"data_dir={DATA}"]
    done = run_cli(*TINY, *data, *args, f"output_root={tmp_path / 'out'}", env={"HF_HUB_OFFLINE": "1"})
    print(assert_one_line_error(done, needle).replace(str(REPO), "."))
    assert files_under(tmp_path / "out") == []  # no run folder, no sweep folder, no partial file


@pytest.mark.slow
def test_unwritable_output_root_fails_before_any_work(tmp_path):
    blocker = tmp_path / "a_file"  # root ignores permission bits; a file in the path blocks everyone
    blocker.write_text("")
    done = run_cli("-m", "seed=0,1", f"output_root={blocker / 'outputs'}")  # a multirun: even its sweep folder
    assert_one_line_error(done, f"cannot write to {blocker / 'outputs'}: Not a directory")
    assert files_under(tmp_path) == ["a_file"]


# --------------------------------------------------------------------------- in-process: one code path each
@pytest.mark.parametrize("overrides,message", [
    (["method=scl", "method.temperature=0"], "method.temperature=0.0 is invalid: the temperature must be > 0"),
    (["method=lcl", "method.temperature=-0.1"], "method.temperature=-0.1 is invalid"),
    (["method=lcl", "method.alpha=-0.5"], "method.alpha=-0.5 is invalid: must be in [0, 1]"),
    (["method=scl", "method.lam=1.01"], "method.lam=1.01 is invalid: must be in [0, 1]"),
    (["method=lacon", "method.lam=2"], "method.lam=2.0 is invalid: must be in [0, 1]"),
    (["method=ce", "method.lr=0"], "method.lr=0.0 is invalid: the learning rate must be > 0"),
    (["method=supcl_seq", "method.probe_lr=-1"], "method.probe_lr=-1.0 is invalid: the learning rate must be > 0"),
    (["method=ce", "method.head_dropout=1.0"], "method.head_dropout=1.0 is invalid: dropout must be in [0, 1)"),
    (["method=lcl", "method.weighting_head_dropout=-0.1"], "method.weighting_head_dropout=-0.1 is invalid"),
    (["method=supcl_seq", "method.dropout_views=[0.1,1.0]"], "dropout must be in [0, 1)"),
    (["method=supcl_seq", "method.base_temperature=0"], "method.base_temperature=0.0 is invalid"),
    (["method=scl", "method.batch_size=1"], "contrastive methods need at least 2 examples per batch"),
    (["method=lacon", "method.batch_size=1"], "contrastive methods need at least 2 examples per batch"),
    (["method=ce", "method.batch_size=0"], "method.batch_size=0 is invalid: must be >= 1"),
])
def test_out_of_range_values_name_key_value_and_rule(overrides, message):
    with pytest.raises(ConfigError) as err:
        validate(compose_config(overrides))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_ce_accepts_batch_of_one():
    validate(compose_config(["method=ce", "method.batch_size=1"]))  # only contrastive losses need pairs


@needs_data
@pytest.mark.parametrize("extra,error,message", [
    (["dataset.sampling.few_shot_k=5000", "dataset=isear"], DataError, "few-shot train: class"),
    ([f"data_dir={REPO / 'tests' / 'fixtures' / 'data'}", "dataset=ed", "dataset.classes=[furious]"], DataError,
     "the train split is empty after keeping classes"),
    (["dataset=ed", "dataset.classes=[joyful,nope]"], ConfigError, "unknown or repeated label(s) ['nope']"),
])
def test_data_errors_in_process_leave_no_run_folder(tiny_overrides, extra, error, message):
    cfg = compose_config(["method=ce", *tiny_overrides, *extra])
    with pytest.raises(error) as err:
        pipeline.run(cfg)
    assert message in str(err.value)
    assert not Path(cfg.output_root).exists()


@needs_data
@pytest.mark.slow
def test_finished_run_with_other_settings_names_the_way_out(tiny_overrides):
    pipeline.run(compose_config(["method=ce", *tiny_overrides, "method.epochs=1"]))
    with pytest.raises(UserError, match="holds a finished run with different settings .* overwrite=true .* run_tag"):
        pipeline.run(compose_config(["method=ce", *tiny_overrides, "method.epochs=1", "method.lr=1e-3"]))


# --------------------------------------------------------------------------- numerical faults
@needs_data
@pytest.mark.slow
def test_non_finite_loss_stops_with_a_diagnostic_and_no_record(tmp_path):
    done = run_cli(*TINY, "method.lr=1e30", f"data_dir={DATA}", f"output_root={tmp_path}")
    line = assert_one_line_error(done, "non-finite training loss")
    print(line.replace(str(tmp_path), "<tmp>"))
    (diagnostic,) = tmp_path.rglob("nonfinite_loss.json")
    folder = diagnostic.parent
    info = json.loads(diagnostic.read_text())
    print(json.dumps(info))
    assert str(diagnostic) in line and f"at step {info['step']} (stage train, epoch 1)" in line
    assert info["stage"] == "train" and info["epoch"] == 1 and info["step"] >= 1
    assert not math.isfinite(float(info["loss"])) and set(info["terms"]) == {"ce"}
    assert len(info["batch_indices"]) == len(info["batch_uids"]) == 8  # the batch, named in the data's own ids
    assert not (folder / "metrics.json").exists() and not (folder / "DONE").exists()
    assert not any(tmp_path.rglob("metrics.json"))


# --------------------------------------------------------------------------- secrets
SECRETS = {"WANDB_API_KEY": "wandb-env-secret-4711", "HF_TOKEN": "hf_env_secret_4712",
           "MY_SERVICE_PASSWORD": "env-password-4713"}
CONFIG_SECRET = "sk-config-secret-4714"


@needs_data
@pytest.mark.slow
def test_no_secret_reaches_any_file_of_the_run_or_wandb(tmp_path):
    done = run_cli(*TINY, f"data_dir={DATA}", f"output_root={tmp_path}", "logger=wandb", "logger.mode=offline",
                   f"+logger.api_key={CONFIG_SECRET}", f"+auth_token={CONFIG_SECRET}", env=SECRETS)
    assert done.returncode == 0, done.stderr[-3000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    (folder,) = {p.parent for p in written if p.name == "DONE"}
    assert {p.name for p in folder.iterdir()} >= {"config.yaml", "metrics.json", "environment.json", "wandb_id"}
    assert any("wandb" in p.parts for p in written)  # the offline W&B run is searched too
    for secret in [*SECRETS.values(), CONFIG_SECRET]:
        leaks = [str(p.relative_to(tmp_path)) for p in written if secret.encode() in p.read_bytes()]
        assert leaks == [], f"{secret} written to {leaks}"
        assert secret not in done.stdout
    saved = (folder / "config.yaml").read_text()
    assert "api_key: <redacted>" in saved and "auth_token: <redacted>" in saved
    assert "logger.api_key" not in str(folder) and "auth_token" not in str(folder)  # nor in the folder name
    print(f"searched {len(written)} files (run folder, W&B offline run, cache) for {len(SECRETS) + 1} secrets: none")


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    """weights_only=True: a checkpoint that would run code when unpickled is rejected, never executed."""
    import torch

    from lcl_repro.train import checkpoint

    checkpoint.path(tmp_path).parent.mkdir(parents=True)
    torch.save({"loop": {}, "payload": Exploit(tmp_path / "exploited")}, checkpoint.path(tmp_path))
    with pytest.raises(UserError, match="cannot be loaded safely"):
        checkpoint.load(tmp_path, torch.device("cpu"))
    assert not (tmp_path / "exploited").exists()


class Exploit:
    """Unpickling this calls os.mkdir: the harmless stand-in for arbitrary code."""

    def __init__(self, target: Path):
        self.target = str(target)

    def __reduce__(self):
        return (os.mkdir, (self.target,))


# --------------------------------------------------------------------------- determinism
@needs_data
@pytest.mark.slow
def test_same_config_and_seed_twice_give_identical_records(tiny_overrides, tmp_path):
    """Two fresh runs (separate output roots, separate token caches) of LCL, whose WordNet views,
    dropout and weighting network all draw from the seed: every number and prediction equal."""
    import numpy as np

    results = []
    for name in ("first", "second"):
        cfg = compose_config(["method=lcl", *tiny_overrides, f"output_root={tmp_path / name}",
                              f"cache_dir={tmp_path / name / 'cache'}"])
        result = pipeline.run(cfg)
        folder = record.run_dir(cfg)
        with np.load(folder / "predictions.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        results.append(({k: v for k, v in result.items() if k not in ("timing", "run_dir")}, arrays))
    (first, first_preds), (second, second_preds) = results
    assert first == second and first["curves"][-1]["train_loss"] > 0
    assert first_preds.keys() == second_preds.keys()
    assert all(np.array_equal(first_preds[k], second_preds[k]) for k in first_preds)


@needs_data
@pytest.mark.slow
def test_temporaries_left_by_a_kill_are_removed_when_the_run_resumes(tiny_overrides):
    """SIGKILL skips atomic_write's clean-up: the next attempt of the run removes what it left."""
    from lcl_repro.train import checkpoint

    cfg = compose_config(["method=ce", *tiny_overrides, "method.epochs=1", "keep_checkpoints=true"])
    folder = record.run_dir(cfg)
    checkpoint.path(folder).parent.mkdir(parents=True)
    stray = [folder / ".metrics.json.k1ll3d.tmp", checkpoint.path(folder).parent / ".last.pt.k1ll3d.tmp"]
    for path in stray:
        path.write_text("half")
    pipeline.run(cfg)
    assert not any(p.exists() for p in stray)
    assert (folder / "DONE").exists()
    import torch

    saved = torch.load(checkpoint.path(folder), weights_only=True)
    assert saved["wandb_id"] == ""  # logger=none; with W&B the id a resumed run continues


# --------------------------------------------------------------------------- issue 12: silent faults made loud
def out_files(root: Path) -> list[str]:
    """Files under an output root, the token cache aside (shared, content-keyed, not a record)."""
    return [f for f in files_under(root) if not f.startswith("cache/")]


@needs_data
@pytest.mark.slow
def test_negative_seed_is_a_config_error(tmp_path):
    done = run_cli(*TINY, "seed=-1", f"data_dir={DATA}", f"output_root={tmp_path / 'out'}")
    print(assert_one_line_error(done, "error: seed=-1 is invalid: must be in [0, 4294967295]"))
    assert files_under(tmp_path) == []


@needs_data
@pytest.mark.slow
def test_unwritable_cache_dir_fails_before_any_work(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    done = run_cli(*TINY, f"data_dir={DATA}", f"output_root={tmp_path / 'out'}", f"cache_dir={blocker / 'cache'}")
    line = assert_one_line_error(done, f"cannot write to {blocker / 'cache'}: Not a directory ({blocker}); "
                                       "set cache_dir=<writable dir>")
    print(line.replace(str(tmp_path), "<tmp>"))
    assert files_under(tmp_path) == ["a_file"]


@needs_data
@pytest.mark.slow
def test_invalid_utf8_names_its_true_line(tmp_path):
    """The text layer decodes 8 KiB ahead of the csv reader: a bad byte on line 500 was reported
    at line 1."""
    source = DATA / "emoint" / "train" / "anger-ratings-0to1.train.txt"
    lines = source.read_bytes().splitlines(keepends=True)
    lines[499] = lines[499].replace(b"\t", b"\t\xe9", 1)  # Latin-1 'é' at the start of the tweet
    bad = tmp_path / "data" / "emoint" / "train" / source.name
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"".join(lines))
    done = run_cli(*TINY, f"data_dir={tmp_path / 'data'}", f"output_root={tmp_path / 'out'}")
    line = assert_one_line_error(done, f"{bad}, line 500: not valid UTF-8 (byte 0xe9 at byte 7 of the line)")
    print(line.replace(str(tmp_path), "<tmp>"))
    assert files_under(tmp_path / "out") == []


def test_invalid_utf8_after_a_bom_counts_from_the_first_byte(tmp_path):
    from lcl_repro.data.formats.common import records

    path = tmp_path / "dev.tsv"
    path.write_bytes(b"\xef\xbb\xbfa\tb\n" + b"c\td\n" * 3000 + b"e\t\xff\n")
    with pytest.raises(DataError, match=r"dev.tsv, line 3002: not valid UTF-8 \(byte 0xff at byte 3 of the line\)"):
        list(records(path, "\t", encoding="utf-8-sig"))


def linked_emoint(tmp_path: Path, emptied: str) -> Path:
    """The real EmoInt files, linked, with one file emptied: that split loses a class."""
    root = tmp_path / "data"
    for source in (DATA / "emoint").rglob("*.txt"):
        target = root / "emoint" / source.relative_to(DATA / "emoint")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name == emptied:
            target.write_text("")
        else:
            target.symlink_to(source)
    return root


@needs_data
@pytest.mark.slow
def test_split_missing_a_class_warns_and_the_warning_is_recorded(tmp_path):
    data = linked_emoint(tmp_path, "joy-ratings-0to1.dev.gold.txt")
    done = run_cli(*TINY, "dataset.limit.validation=null", f"data_dir={data}", f"output_root={tmp_path / 'out'}")
    assert done.returncode == 0, done.stderr[-3000:]
    warning = "the validation split of emoint has no example of 1 of the 4 classes train has: joy"
    assert [ln for ln in done.stderr.splitlines() if ln.startswith("warning:")] == [f"warning: {warning}"]
    print(f"warning: {warning}")
    (metrics,) = (tmp_path / "out").rglob("metrics.json")
    assert json.loads(metrics.read_text())["data"]["warnings"] == [warning]
    assert (metrics.parent / "DONE").exists()


@needs_data
@pytest.mark.slow
def test_split_where_a_metric_cannot_be_computed_is_an_error(tmp_path):
    done = run_cli(*TINY, "dataset=glue_cola", "dataset.limit.validation=1", f"data_dir={DATA}",
                   f"output_root={tmp_path / 'out'}")
    print(assert_one_line_error(done, "the validation split of glue_cola (after dataset.limit.validation=1) holds "
                                      "only class '"))
    assert "MCC (metric mcc) needs two classes" in done.stderr
    assert out_files(tmp_path / "out") == [] and not (tmp_path / "out" / "runs").exists()


@pytest.mark.parametrize("env,expected", [
    ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "offline"}, "offline"),
    ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "dryrun"}, "offline"),
    ({"WANDB_API_KEY": "k" * 40, "WANDB_MODE": "disabled"}, "disabled"),
    ({"WANDB_API_KEY": "k" * 40, "WANDB_DISABLED": "true"}, "disabled"),
    ({"WANDB_API_KEY": "k" * 40}, "online"),
    ({"HOME": "/nonexistent"}, "offline"),
])
def test_auto_wandb_mode_honours_the_environment(env, expected, monkeypatch):
    from lcl_repro.track.logger import wandb_mode

    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "/nonexistent")  # no ~/.netrc key
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert wandb_mode("auto") == expected
    assert wandb_mode("online") == "online"  # an explicit logger.mode still wins


@needs_data
@pytest.mark.slow  # W&B's service start makes it ~15 s
def test_auto_wandb_with_a_key_stays_offline_under_wandb_mode_offline(tmp_path):
    done = run_cli(*TINY, "logger=wandb", f"data_dir={DATA}", f"output_root={tmp_path}",
                   env={"WANDB_API_KEY": "0123456789abcdef" * 2 + "01234567", "WANDB_MODE": "offline"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "init failed" not in done.stderr and "wandb sync" in done.stdout + done.stderr
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 1
    assert not list((tmp_path / "wandb").glob("run-*"))  # what an online run would leave


@needs_data
@pytest.mark.slow  # two interpreters started one after the other: > 10 s
def test_copied_run_folder_prints_where_it_is_now(tmp_path):
    import shutil

    first = [*TINY, f"data_dir={DATA}", f"output_root={tmp_path / 'first'}"]  # as the command line passes them
    cfg = compose_config(first)
    pipeline.run(cfg, first)
    shutil.copytree(tmp_path / "first", tmp_path / "copy")
    now = [*TINY, f"data_dir={DATA}", f"output_root={tmp_path / 'copy'}"]
    copied = record.run_dir(compose_config(now), now)
    shutil.rmtree(tmp_path / "first")  # the old path must not be needed, nor printed
    done = run_cli(*TINY, f"data_dir={DATA}", f"output_root={tmp_path / 'copy'}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"skip: finished run in {copied} " in done.stdout
    assert done.stdout.strip().splitlines()[-1] == f"run folder: {copied}"
    assert str(tmp_path / "first") not in done.stdout + done.stderr
    written_in = json.loads((copied / "metrics.json").read_text())["run_dir"]
    assert written_in == str(record.run_dir(cfg, first))  # the record keeps where it was written
    print(done.stdout.strip().splitlines()[-1].replace(str(tmp_path), "<tmp>"))


@needs_data
@pytest.mark.slow
def test_multirun_checks_every_job_before_the_first_trains(tmp_path):
    done = run_cli("-m", "method=ce,scl", "method.batch_size=1", *[a for a in TINY if "batch_size" not in a],
                   f"data_dir={DATA}", f"output_root={tmp_path / 'out'}")
    line = assert_one_line_error(done, "error: method.batch_size=1 is invalid: contrastive methods need at least 2 "
                                       "examples per batch (job 2 of 2: method=scl)")
    print(line)
    assert files_under(tmp_path) == []  # the CE job did not train, and no sweep folder


def test_multirun_checks_the_sweep_config_grid_and_interval_ends():
    from lcl_repro.cli import sweep_columns

    columns, enumerable = sweep_columns(["dataset=emoint", "method.alpha=0.5,1.5", "hydra.launcher.n_jobs=2"],
                                        {"method.alpha": "0.1,0.2", "seed": "0,1"})
    assert enumerable and columns == {"method.alpha": ["method.alpha=0.5", "method.alpha=1.5"],
                                      "seed": ["seed=0", "seed=1"], "dataset": ["dataset=emoint"]}
    columns, enumerable = sweep_columns([], {"method.lr": "tag(log, interval(1.0e-5, 3.0e-5))"})
    assert not enumerable and columns == {"method.lr": ["method.lr=1e-05", "method.lr=3e-05"]}


@needs_data
@pytest.mark.slow  # two interpreters started one after the other: > 10 s
def test_second_identical_command_exits_2_while_the_first_runs(tmp_path):
    """Two processes on one run folder: the second stops at once with one line and writes nothing;
    the first one's kill -9 releases the lock by itself."""
    import signal
    import time

    from lcl_repro.track import lock

    args = [str(REPO / "run.py"), *TINY, "method.epochs=200", f"data_dir={DATA}", f"output_root={tmp_path}"]
    first = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 120
        held = []
        while not held and time.monotonic() < deadline and first.poll() is None:
            held = [p for p in tmp_path.rglob(lock.LOCK_NAME) if f"pid {first.pid} " in p.read_text()]
            time.sleep(0.2)
        assert held, first.stderr.read() if first.poll() is not None else "no lock file within 120 s"
        folder = held[0].parent
        second = run_cli(*TINY, "method.epochs=200", f"data_dir={DATA}", f"output_root={tmp_path}")
        assert first.poll() is None  # the two overlapped
        line = assert_one_line_error(second, f"error: {folder} is already running in another process "
                                             f"(pid {first.pid} on ")
        assert line.endswith("; wait for it to finish, or stop it and rerun this command to resume")
        print(line.replace(str(tmp_path), "<tmp>"))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert not (folder / "DONE").exists() and not (folder / "metrics.json").exists()
    assert (folder / lock.LOCK_NAME).exists()  # a crash leaves the file, not the lock
    with lock.hold(folder):
        pass
    assert not (folder / lock.LOCK_NAME).exists()


def test_lock_is_exclusive_even_within_one_process_and_leaves_no_empty_folder(tmp_path):
    from lcl_repro.track.lock import AlreadyRunning, hold

    folder = tmp_path / "runs" / "x" / "seed0"
    with hold(folder):
        with pytest.raises(AlreadyRunning, match="is already running in another process"):
            with hold(folder):
                pass
    assert not (tmp_path / "runs").exists()  # created for the lock, removed with it


@needs_data
@pytest.mark.slow
def test_overwrite_keeps_the_lock_file(tiny_overrides):
    cfg = compose_config(["method=ce", *tiny_overrides, "method.epochs=1"])
    pipeline.run(cfg)
    folder = record.run_dir(cfg)
    from lcl_repro.track import lock

    with lock.hold(folder):
        (folder / "stale").write_text("")
        lock.clear(folder)
        assert [p.name for p in folder.iterdir()] == [lock.LOCK_NAME]


@needs_data
@pytest.mark.slow
def test_internal_error_still_shows_its_traceback_and_exits_1(tmp_path):
    """Only user errors are one line: a bug must stay visible."""
    code = ("import sys\nimport lcl_repro.pipeline as p\n"
            "def broken(cfg):\n    raise RuntimeError('an internal bug')\n"
            "p.load_data = broken\nfrom lcl_repro.cli import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", code, *TINY, f"data_dir={DATA}", f"output_root={tmp_path / 'out'}"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" in done.stderr and "RuntimeError: an internal bug" in done.stderr
    assert not (tmp_path / "out" / "runs").exists()  # the lock and the folders made for it are gone


def test_lacon_heads_that_do_not_divide_the_encoder_width_are_a_config_error():
    """The schema cannot see the encoder's width; building the objective checks it (tiny: 32)."""
    from lcl_repro.methods import build_objective

    cfg = compose_config(["method=lacon", "encoder=tiny", "method.heads=6"])
    with pytest.raises(ConfigError, match=r"method.heads=6 is invalid: it must divide the encoder's hidden size 32"):
        build_objective(cfg.method, cfg.encoder, 2, "classification", 100)
    assert build_objective(compose_config(["method=lacon", "encoder=tiny", "method.heads=4"]).method, cfg.encoder,
                           2, "classification", 100).cfg.heads == 4

"""Every bad input exits 2 with one clear line and leaves nothing behind; a non-finite loss stops the
run with a diagnostic and no record; no secret reaches any file; reruns are bit-for-bit identical.

The end-to-end cases go through `python run.py` (exit status, stderr, files left); the range checks,
which all share one code path, run in-process. README "When something is wrong" lists the messages."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lcl_repro import pipeline
from lcl_repro.config import validate
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
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, needle, tmp_path):
    data = [] if any(a.startswith("data_dir=") for a in args) else [f"data_dir={DATA}"]
    done = run_cli(*TINY, *data, *args, f"output_root={tmp_path / 'out'}", env={"HF_HUB_OFFLINE": "1"})
    print(assert_one_line_error(done, needle).replace(str(REPO), "."))
    assert files_under(tmp_path / "out") == []  # no run folder, no sweep folder, no partial file


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
def test_finished_run_with_other_settings_names_the_way_out(tiny_overrides):
    pipeline.run(compose_config(["method=ce", *tiny_overrides, "method.epochs=1"]))
    with pytest.raises(UserError, match="holds a finished run with different settings .* overwrite=true .* run_tag"):
        pipeline.run(compose_config(["method=ce", *tiny_overrides, "method.epochs=1", "method.lr=1e-3"]))


# --------------------------------------------------------------------------- numerical faults
@needs_data
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

"""The command line: `a..b` ranges become multiruns, bad input exits 2 with one clear line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from lcl_repro.cli import expand_ranges, first_of_each_sweep
from tests.conftest import DATA, REPO, needs_data


def test_ranges_expand_to_hydra_multirun():
    assert expand_ranges(["method=ce", "seed=0..4"]) == ["--multirun", "method=ce", "seed=range(0,5)"]
    assert expand_ranges(["-m", "seed=2..3"]) == ["-m", "seed=range(2,4)"]
    assert expand_ranges(["dataset.sampling.few_shot_k=10..12"])[1] == "dataset.sampling.few_shot_k=range(10,13)"
    assert expand_ranges(["method.lr=1e-5"]) == ["method.lr=1e-5"]  # not a range


def test_first_job_of_a_sweep():
    assert first_of_each_sweep(["seed=range(3,5)", "method=ce,scl", "method.dropout_views=[0.0,0.1]"]) == [
        "seed=3", "method=ce", "method.dropout_views=[0.0,0.1]"]


def run_cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize("args,needle", [
    (["method=lcll"], "Could not find 'method/lcll'"),
    (["method.temprature=0.1"], "temprature"),
    (["method.lr=fast"], "method.lr"),
    (["method=scl", "method.temperature=0"], "method.temperature=0.0 is invalid"),
    (["seed=4..1"], "range end"),
])
@pytest.mark.slow
def test_bad_input_exits_2_with_one_clear_message(args, needle, tmp_path):
    out = run_cli(*args, f"output_root={tmp_path}")
    assert out.returncode == 2, out.stderr[-2000:]
    assert needle in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists()  # nothing half-written


@pytest.mark.slow
def test_unknown_option_lists_the_valid_ones(tmp_path):
    out = run_cli("dataset=emoint_typo", f"output_root={tmp_path}")
    assert out.returncode == 2 and "goemotions" in out.stderr and "base_" not in out.stderr


@needs_data
@pytest.mark.slow
def test_seed_range_runs_a_multirun_and_reruns_skip(tmp_path):
    args = ["method=ce", "dataset=emoint", "encoder=tiny", "seed=0..1", f"data_dir={DATA}",
            f"output_root={tmp_path}", "dataset.limit.train=16", "dataset.limit.validation=8",
            "dataset.limit.test=8", "method.epochs=1"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr[-3000:]
    folders = sorted((tmp_path / "runs" / "emoint" / "ce" / "tiny").glob("*/seed*"))
    assert [f.name for f in folders] == ["seed0", "seed1"]
    assert all(json.loads((f / "metrics.json").read_text())["seed"] == int(f.name[4:]) for f in folders)
    second = run_cli(*args)
    assert second.returncode == 0 and second.stdout.count("skip: finished run") == 2

"""Crash-safe multiruns through the real command line: a sweep killed with SIGKILL mid-run and rerun
finishes every run exactly once with the numbers of an uninterrupted sweep, and the parallel (joblib)
and SLURM-style (submitit_local) launchers write the same records as Hydra's basic launcher.

Run with `-s` to see the kill moment, the folders and the compared numbers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.conftest import DATA, REPO, needs_data

pytestmark = needs_data

RECORD_FILES = {"config.yaml", "metrics.json", "predictions.npz", "environment.json", "DONE"}
PATH_KEYS = ("output_root", "cache_dir", "data_dir")
# One thread per run: joblib and submitit run two jobs at once on this machine, and the basic launcher
# must use the same thread count for floats to match bit for bit.
TINY_SWEEP = ["method=ce", "dataset=emoint", "encoder=tiny", "dataset.limit.train=48", "dataset.limit.validation=24",
              "dataset.limit.test=24", "method.batch_size=8", "method.lr=1e-3", "progress=false", "hardware.num_threads=1"]


def sweep_command(root: Path, cache: Path, *args: str) -> list[str]:
    return [sys.executable, str(REPO / "run.py"), "-m", *TINY_SWEEP, *args, f"data_dir={DATA}",
            f"output_root={root}", f"cache_dir={cache}"]


def run_sweep(command: list[str]) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def run_folders(root: Path) -> dict[str, Path]:
    """seed<k> -> run folder, for every folder holding a metrics.json (asserting no seed appears twice)."""
    found = sorted(p.parent for p in (root / "runs").rglob("metrics.json"))
    assert len({f.name for f in found}) == len(found), f"duplicate records: {found}"
    return {f.name: f for f in found}


def comparable(folder: Path) -> dict:
    """A run's metrics.json without what legitimately differs between two sweeps: timing and paths."""
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.pop("timing")
    metrics.pop("run_dir")
    metrics["overrides"] = [o for o in metrics["overrides"] if o.split("=", 1)[0] not in PATH_KEYS]
    return metrics


def predictions(folder: Path) -> dict[str, np.ndarray]:
    with np.load(folder / "predictions.npz", allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def assert_same_records(root: Path, reference: Path, seeds: list[str]) -> None:
    got, want = run_folders(root), run_folders(reference)
    assert sorted(got) == sorted(want) == seeds
    for seed in seeds:
        assert comparable(got[seed]) == comparable(want[seed]), seed
        a, b = predictions(got[seed]), predictions(want[seed])
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), seed


def print_records(title: str, root: Path) -> None:
    print(title)
    for seed, folder in sorted(run_folders(root).items()):
        m = comparable(folder)
        last = m["curves"][-1]
        print(f"  {seed}: best epoch {m['best_epoch']}/{len(m['curves'])}, test "
              + ", ".join(f"{k}={v:.4f}" for k, v in m["test"].items())
              + f"; epoch {last['epoch']} train_loss={last['train_loss']!r}")


def stray_files(root: Path) -> list[str]:
    """Temporary files of atomic writes, checkpoints and probes: none may survive a finished sweep."""
    return [str(p.relative_to(root)) for p in root.rglob("*")
            if p.name.startswith(".") or p.name.endswith(".tmp") or p.name == "checkpoint"]


# --------------------------------------------------------------------------- kill and rerun
def start_in_own_group(command: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=REPO, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 240.0) -> None:
    """Poll the file system (not the clock): the machine's speed varies, the order of events does not."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, "the sweep ended before the kill point"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.02)


@pytest.mark.slow
def test_sweep_killed_mid_run_resumes_to_the_uninterrupted_numbers(tmp_path):
    # 8 epochs of 6 steps: the second run is mid-training for seconds after its first checkpoint.
    command = sweep_command(tmp_path / "killed", tmp_path / "cache", "seed=0,1,2", "method.epochs=8")
    killed = tmp_path / "killed" / "runs"
    checkpoints = lambda: list(killed.rglob("seed1/checkpoint/last.pt"))  # noqa: E731

    started = time.monotonic()
    proc = start_in_own_group(command, tmp_path / "first.log")
    wait_for(checkpoints, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: Hydra's process and anything it started
    proc.wait()
    seed0, seed1 = checkpoints()[0].parents[1].parent / "seed0", checkpoints()[0].parents[1]
    at_epoch = torch.load(seed1 / "checkpoint" / "last.pt", weights_only=True)["loop"]["epoch"]
    print(f"\nSIGKILL to the sweep's process group after {time.monotonic() - started:.1f} s "
          f"(exit {proc.returncode}); seed1 checkpointed at epoch {at_epoch}/8")
    print(f"  seed0: {sorted(p.name for p in seed0.iterdir())}")
    print(f"  seed1: {sorted(p.name for p in seed1.iterdir())}")
    assert proc.returncode == -signal.SIGKILL
    assert (seed0 / "DONE").exists() and not (seed1 / "DONE").exists() and not (seed1 / "metrics.json").exists()
    assert not (seed1.parent / "seed2").exists()
    done_before = (seed0 / "DONE").stat().st_mtime_ns

    rerun = run_sweep(command)
    lines = [ln for ln in rerun.stdout.splitlines() if ln.startswith(("skip:", "resume:"))]
    print("rerun of the same command:\n  " + "\n  ".join(ln.replace(str(tmp_path), "<tmp>") for ln in lines))
    assert rerun.stdout.count("skip: finished run") == 1 and f"skip: finished run in {seed0} " in rerun.stdout
    assert rerun.stdout.count("resume:") == 1 and f"resume: {seed1} " in rerun.stdout
    assert (seed0 / "DONE").stat().st_mtime_ns == done_before  # finished once, never redone

    folders = run_folders(tmp_path / "killed")
    assert sorted(folders) == ["seed0", "seed1", "seed2"]
    assert len({f.parent for f in folders.values()}) == 1  # one variant folder: no duplicates elsewhere
    for folder in folders.values():
        assert {p.name for p in folder.iterdir()} == RECORD_FILES, folder
    assert stray_files(tmp_path / "killed") == []

    run_sweep(sweep_command(tmp_path / "clean", tmp_path / "cache", "seed=0,1,2", "method.epochs=8"))
    print_records("killed + rerun:", tmp_path / "killed")
    print_records("uninterrupted:", tmp_path / "clean")
    assert_same_records(tmp_path / "killed", tmp_path / "clean", ["seed0", "seed1", "seed2"])
    killed_report, clean_report = aggregated(tmp_path / "killed"), aggregated(tmp_path / "clean")
    print("aggregated over seeds (killed + rerun):\n" + killed_report.to_string(index=False))
    assert killed_report.equals(clean_report) and int(killed_report["n"].iloc[0]) == 3
    print(f"records and aggregate equal (metrics.json minus timing/paths, predictions.npz); "
          f"{time.monotonic() - started:.0f} s in all")


def aggregated(root: Path):
    """The seed aggregate a report prints (mean and SD of validation and test over seeds), read from
    the run folders by the report code itself."""
    from lcl_repro.report.hparams import settings_table, sweep_runs

    runs = sweep_runs(root, "emoint", "ce", "tiny", {"method.lr": [1e-3]})
    return settings_table(runs.drop(columns="run_dir"), ["method.lr"])


# --------------------------------------------------------------------------- launchers
@pytest.fixture(scope="module")
def basic_launcher_records(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("basic")
    run_sweep(sweep_command(root, root / "cache", "seed=0,1", "method.epochs=1"))
    return root


@pytest.mark.parametrize("launcher", ["parallel", "slurm_local"])  # conf/hydra/launcher: joblib, submitit_local
@pytest.mark.slow
def test_launchers_write_the_basic_launchers_records(launcher, basic_launcher_records, tmp_path):
    started = time.monotonic()
    done = run_sweep(sweep_command(tmp_path, tmp_path / "cache", "seed=0,1", "method.epochs=1",
                                   f"hydra/launcher={launcher}"))
    assert ("Joblib" if launcher == "parallel" else "Submitit 'local'") in done.stdout + done.stderr
    assert_same_records(tmp_path, basic_launcher_records, ["seed0", "seed1"])
    print_records(f"\nhydra/launcher={launcher} ({time.monotonic() - started:.0f} s), equal to the basic launcher's:",
                  tmp_path)


def test_slurm_launcher_config_requeues_and_resumes():
    from lcl_repro.compose import compose

    cfg = compose(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"], return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher") and launcher.partition == "gpu"
    assert launcher.gpus_per_node == 1 and launcher.max_num_timeout >= 1 and launcher.array_parallelism >= 1
    # Job files live in the sweep folder, under output_root: a requeued job finds its run folders there.
    assert launcher.timeout_min > 0 and launcher.submitit_folder == f"{cfg.hydra.sweep.dir}/.submitit/%j"

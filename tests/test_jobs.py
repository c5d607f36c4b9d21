"""Parallel sweeps (`jobs=n`, lcl_repro/report/jobs.py): runs split out of the sweep's Hydra commands,
n at a time at cores // n threads, each run trained once (the per-run lock), one line per finished
run, a memory check before anything starts, and Ctrl-C that stops every job and leaves resumable runs."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lcl_repro.errors import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_TERMINATED, UserError
from lcl_repro.report import jobs
from lcl_repro.report.sweep import RUN_PY
from lcl_repro.track import lock
from tests.conftest import DATA, REPO, compose_config, needs_data


@contextlib.contextmanager
def sweep_process(command: list[str]):
    """The sweep as a terminal would start it (its own process group). Whatever the test asserts, the
    sweep is stopped on the way out: its jobs train in their own sessions, so a failed test would
    otherwise leave them training for the rest of the suite. SIGTERM is the sweep's own way to stop them."""
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_a_sweep_command_splits_into_its_runs_in_hydras_order():
    runs = jobs.split_runs(["-m", "method=ce,lcl", "dataset=emoint", "seed=0,1", "method.lr=1e-3"])
    assert runs == [["method=ce", "dataset=emoint", "seed=0", "method.lr=1e-3"],
                    ["method=ce", "dataset=emoint", "seed=1", "method.lr=1e-3"],
                    ["method=lcl", "dataset=emoint", "seed=0", "method.lr=1e-3"],
                    ["method=lcl", "dataset=emoint", "seed=1", "method.lr=1e-3"]]


def test_threads_are_the_cores_shared_among_the_jobs(monkeypatch):
    monkeypatch.setattr(jobs, "cores", lambda: 8)
    assert [jobs.threads_per_job(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]


def test_jobs_that_do_not_fit_in_memory_are_refused_in_one_line():
    lcl = jobs.run_memory(compose_config(["method=lcl", "dataset=emoint", "encoder=minilm"]))
    ce = jobs.run_memory(compose_config(["method=ce", "dataset=emoint", "encoder=minilm"]))
    assert 1.2 * jobs.GIB < ce < lcl and 2.3 * jobs.GIB < lcl < 3 * jobs.GIB  # measured: CE ~1.2 GB, LCL 2.2-2.4 GB
    jobs.check_memory(2, lcl, "lcl on minilm", available=int(2 * lcl))  # fits exactly
    with pytest.raises(UserError) as refused:
        jobs.check_memory(4, lcl, "lcl on minilm", available=int(2.5 * lcl))
    message = str(refused.value)
    assert "\n" not in message and message.startswith("jobs=4: each run needs about 2.") and message.endswith("use jobs=2")


def ce_runs(root: Path) -> list[str]:
    """Three tiny CE runs on SST-2 (smoke scale) as one sweep command."""
    return ["-m", "method=ce", "dataset=sst2", "seed=0,1,2", "encoder=tiny", "scale=smoke", f"output_root={root}",
            f"data_dir={DATA}", f"cache_dir={root / 'cache'}"]


@needs_data
@pytest.mark.slow
def test_two_jobs_train_each_run_once_and_leave_a_held_run_to_its_holder(tmp_path, capsys):
    """One run's folder is locked by this process, as another sweep training it would: the two jobs
    leave it, say so and return 75; the others finish, one line each; rerun, each run is trained once."""
    from lcl_repro.track.record import run_dir

    root = tmp_path / "out"
    held = run_dir(compose_config(["method=ce", "dataset=sst2", "encoder=tiny", "scale=smoke", "seed=1",
                                   f"output_root={root}"]))
    with lock.hold(held):
        code = jobs.launch_parallel([ce_runs(root)], 2, RUN_PY, tmp_path / "logs1")
    out = capsys.readouterr()
    print(out.out, out.err)
    assert code == EXIT_BUSY
    assert "3 run(s), 2 at a time at hardware.num_threads=" in out.out
    lines = [ln for ln in out.out.splitlines() if ln.startswith("[") and "/3] " in ln]
    assert len(lines) == 3 and sum("] finished in " in ln for ln in lines) == 2
    (left,) = [ln for ln in lines if "] left to the process training it" in ln]
    assert "seed=1" in left and f"{held} is being trained by another process" in out.err
    dones = sorted(root.rglob("DONE"))
    assert [d.parent.name for d in dones] == ["seed0", "seed2"]
    stamps = {d: d.stat().st_mtime_ns for d in dones}

    assert jobs.launch_parallel([ce_runs(root)], 2, RUN_PY, tmp_path / "logs2") == 0
    assert [d.parent.name for d in sorted(root.rglob("DONE"))] == ["seed0", "seed1", "seed2"]
    assert all(d.stat().st_mtime_ns == t for d, t in stamps.items())  # finished runs skipped, not retrained
    logs = {p.name: p.read_text() for p in (tmp_path / "logs2").iterdir()}
    assert sum("skip: finished run" in text for text in logs.values()) == 2


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("stop,code,what", [("ctrl_c", EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
                                            ("sigterm", EXIT_TERMINATED, "terminated (SIGTERM)")])
def test_a_stopped_sweep_stops_every_job_and_leaves_resumable_runs(tmp_path, stop, code, what):
    """The sweep's command line at jobs=2 (LCL Table 2's 12 smoke runs, 400 epochs each so that none
    can finish first on a loaded machine), stopped once both jobs have an epoch checkpoint: Ctrl-C at the terminal (SIGINT to
    the process group) or `kill <sweep pid>` (SIGTERM to the sweep alone, which forwards it). Its own
    exit status and line, no run finished, both checkpoints kept, no lock left and no third run started."""
    root = tmp_path / "out"
    command = [sys.executable, "-m", "lcl_repro.report.sweep", "paper=lcl_table2", "scale=smoke", f"output_root={root}",
               f"data_dir={DATA}", "extra=[encoder=tiny,method.epochs=400]", "jobs=2"]
    with sweep_process(command) as proc:
        deadline = time.monotonic() + 600
        while len(list(root.rglob("checkpoint/last.pt"))) < 2:  # both jobs mid-training, past a checkpoint
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
            time.sleep(0.1)
        if stop == "ctrl_c":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    print(out[-2000:])
    assert proc.returncode == code
    assert f"{what}: rerun the same command to resume" in out
    assert not list(root.rglob("DONE")) and len(list(root.rglob("checkpoint/last.pt"))) == 2
    assert not list(root.rglob(lock.LOCK_NAME))  # every job ended, no lock left behind
    assert len(list((root / "sweeps" / "jobs").rglob("run*.log"))) == 2  # no run started after the stop


@needs_data
@pytest.mark.slow
def test_sigterm_to_a_one_job_sweep_stops_its_run_too(tmp_path):
    """jobs=1: the run shares the sweep's process group, so Ctrl-C at a terminal reaches both, but
    `kill <sweep pid>` reaches the sweep alone. It must stop the run the same way (not leave it training
    with nobody reading its output) and exit 143 with its one line."""
    root = tmp_path / "out"
    command = [sys.executable, "-m", "lcl_repro.report.sweep", "paper=lcl_table2", "scale=smoke", f"output_root={root}",
               f"data_dir={DATA}", "extra=[encoder=tiny,method.epochs=400]"]
    with sweep_process(command) as proc:
        deadline = time.monotonic() + 600
        while not list(root.rglob("checkpoint/last.pt")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()[-3000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=180)
    print(out[-2000:])
    assert proc.returncode == EXIT_TERMINATED
    # the run's line, then the sweep's: the run stopped on the signal, not on a closed pipe
    assert out.count("terminated (SIGTERM): rerun the same command to resume") == 2, out[-3000:]
    assert "BrokenPipeError" not in out
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # nothing of the sweep's process group is left running
    assert not list(root.rglob("DONE")) and len(list(root.rglob("checkpoint/last.pt"))) == 1
    assert not list(root.rglob(lock.LOCK_NAME))


def test_a_job_is_started_only_under_the_lock_stop_takes(tmp_path, monkeypatch):
    """stop() lists the running jobs under the pool's lock; a job checked and started outside it could start
    just after that list was made and train on unseen (the sweep then waits for all of it)."""
    pool = jobs.Pool(RUN_PY, tmp_path, "--yes")
    started = []

    class Finished:
        def __init__(self, *args, **kwargs):
            started.append(pool.lock.locked())

        def wait(self):
            return 0

    monkeypatch.setattr(jobs.subprocess, "Popen", Finished)
    assert pool.run(1, ["seed=0"], "busy: ")[0] == 0 and started == [True]
    pool.stop()
    assert pool.run(2, ["seed=1"], "busy: ")[0] == EXIT_INTERRUPTED and started == [True]
    assert not (tmp_path / "run0002.log").exists()  # nothing of a job never started


def test_run_py_is_the_entry_point():
    assert RUN_PY == REPO / "run.py"

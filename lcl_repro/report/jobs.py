"""Parallel sweeps: `make <table> JOBS=n` / `python -m lcl_repro.report.sweep ... jobs=n`.

The sweep's Hydra commands are split into their runs (Hydra's own override parser expands the
sweeps), and n of them run at once, each as its own `run.py -m` process at
`hardware.num_threads = cores // n` (docs/performance.md#parallel-sweeps). A thread pool
(concurrent.futures) waits on the processes; the per-run lock (lcl_repro/track/lock.py) guarantees
no run trains twice, also beside another sweep. Each run's output goes to its own log file and the
sweep prints one line per finished run. Ctrl-C stops every running job (each keeps its last epoch
checkpoint, so rerunning the command resumes) and starts no other. Before anything starts, the
memory n runs need is checked against what the machine has available.
"""
from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from lcl_repro.errors import EXIT_BUSY, EXIT_INTERRUPTED, EXIT_TERMINATED, UserError, stopped

GIB = 1 << 30
# A run's process besides its networks' weights and optimizer state: interpreter, torch, tokenizers,
# the tokenised splits, WordNet, activations, and freed memory kept for reuse (hardware.retain_freed_memory).
# Measured here (MiniLM, EmoInt, bf16, 1 thread, top's RES mid-epoch): CE ~1.2 GB, LCL 2.2-2.4 GB.
PROCESS_BYTES = 1.5 * GIB
BYTES_PER_PARAMETER = 20  # fp32 weights, gradients, AdamW's two moments, a bf16 copy under autocast
FALLBACK_PARAMETERS = 110_000_000  # BERT-base-sized, where the encoder's config cannot be read offline


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_per_job(jobs: int) -> int:
    return max(1, cores() // jobs)


def available_memory() -> int | None:
    """Bytes the machine can give new processes without swapping (Linux MemAvailable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def encoder_parameters(encoder_cfg) -> int:
    """Parameters of the encoder, counted on the meta device (no weights are read or allocated)."""
    import torch
    from transformers import AutoConfig, AutoModel

    try:
        if encoder_cfg.source == "random":
            config = AutoConfig.for_model(encoder_cfg.model_id, max_position_embeddings=encoder_cfg.max_positions,
                                          **dict(encoder_cfg.arch))
        else:
            from lcl_repro.models.encoder import packaged_model_path

            where = packaged_model_path(encoder_cfg.model_id) if encoder_cfg.source == "package" else encoder_cfg.model_id
            config = AutoConfig.from_pretrained(str(where), local_files_only=True)
        with torch.device("meta"):
            return sum(p.numel() for p in AutoModel.from_config(config).parameters())
    except Exception:  # an encoder not on this machine yet: its run downloads it; assume BERT-base
        return FALLBACK_PARAMETERS


def run_memory(cfg) -> int:
    """Bytes one run of `cfg` needs at its peak (an estimate; LCL trains two encoders)."""
    networks = 2 if cfg.method.name == "lcl" else 1  # dropout passes (CE+CL, SupCL-Seq) reuse one network
    return int(PROCESS_BYTES + networks * encoder_parameters(cfg.encoder) * BYTES_PER_PARAMETER)


def check_memory(jobs: int, need: int, what: str, available: int | None = None) -> None:
    """Refuse, before anything starts, n jobs whose runs need more memory than is available."""
    available = available_memory() if available is None else available
    if available is None or jobs * need <= available:
        return
    fits = max(1, available // need)
    raise UserError(f"jobs={jobs}: each run needs about {need / GIB:.1f} GB ({what}), {jobs * need / GIB:.1f} GB "
                    f"for {jobs} at once, and this machine has {available / GIB:.1f} GB available; use jobs={fits}"
                    f"{' (or free memory)' if fits >= jobs else ''}")


def split_runs(command: list[str]) -> list[list[str]]:
    """One `run.py -m` command's runs, each as its own overrides (Hydra's parser expands the sweeps;
    the last key varies fastest, as Hydra's basic sweeper orders them)."""
    from lcl_repro.cli import sweep_columns

    columns, enumerable = sweep_columns([a for a in command if a not in ("-m", "--multirun")], None)
    if not enumerable:
        raise UserError("jobs>1 splits a sweep into its runs, which an interval sweep (Optuna) has not; use jobs=1")
    return [list(run) for run in itertools.product(*columns.values())]


def run_line(overrides: list[str]) -> str:
    shown = [o for o in overrides if not o.startswith(("output_root=", "data_dir=", "hardware.num_threads="))]
    return " ".join(shown)


class Pool:
    """n `run.py -m` processes at a time; stop() interrupts every running one and starts no other."""

    def __init__(self, run_py: Path, log_dir: Path, confirm_flag: str):
        self.run_py, self.log_dir, self.confirm_flag = run_py, log_dir, confirm_flag
        self.stopping = threading.Event()
        self.running: dict[int, subprocess.Popen] = {}
        self.lock = threading.Lock()

    def run(self, index: int, overrides: list[str], busy_prefix: str) -> tuple[int, list[str], Path, float]:
        log = self.log_dir / f"run{index:04d}.log"
        started = time.perf_counter()
        # Checked and started under the lock stop() takes: a job is either started before stop() looks (and
        # then stopped by it) or not at all, never started unseen to train on after the sweep has exited.
        with self.lock:
            if self.stopping.is_set():
                return EXIT_INTERRUPTED, [], log, 0.0
            with open(log, "w") as out:  # the run keeps its own copy of the file
                # its own session: the sweep forwards Ctrl-C (stop) once, after the pool stops starting jobs
                proc = subprocess.Popen([sys.executable, str(self.run_py), self.confirm_flag, "-m", *overrides],
                                        stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            self.running[index] = proc
        code = proc.wait()
        with self.lock:
            self.running.pop(index, None)
        busy = [line[len(busy_prefix):].strip() for line in log.read_text(errors="replace").splitlines()
                if line.startswith(busy_prefix)]
        return code, busy, log, time.perf_counter() - started

    def stop(self) -> None:
        with self.lock:
            self.stopping.set()
            procs = list(self.running.values())
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # the run saves nothing new: its last epoch checkpoint stays
        # One deadline for all of them, then SIGTERM (the run still keeps its checkpoint), then SIGKILL: a run
        # slow to answer (a loaded machine) cannot hold the sweep's exit for a minute per job.
        for grace, escalate in ((60.0, "terminate"), (30.0, "kill"), (10.0, None)):
            deadline = time.monotonic() + grace
            for proc in procs:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            alive = [proc for proc in procs if proc.poll() is None]
            if not alive or escalate is None:
                break
            for proc in alive:
                getattr(proc, escalate)()


def wait_for(folders: list[str], poll_s: float = 10.0) -> None:
    """Block until no other process holds the lock of any of `folders`."""
    from lcl_repro.track.lock import held

    for folder in folders:
        if held(folder):
            print(f"waiting for {folder} (trained by another process) ...", flush=True)
        while held(folder):
            time.sleep(poll_s)


def left_and_failed(busy: dict, failed: list[str], noun: str) -> int:
    """The end of a sweep: what it left to other processes and what failed, and its exit status."""
    if busy:
        print(f"\nnot run: {len(busy)} run(s) being trained by another process, left to it (rerun this command "
              f"once it finishes, or pass wait_busy=true to wait):\n  " + "\n  ".join(busy.values()), file=sys.stderr)
    if failed:
        print(f"\n{len(failed)} {noun} failed; rerun the same command to resume:\n  " + "\n  ".join(failed),
              file=sys.stderr)
        return 1
    return EXIT_BUSY if busy else 0


def launch_parallel(commands: list[list[str]], jobs: int, run_py: Path, log_dir: Path, wait_busy: bool = False) -> int:
    """Run every run of `commands`, `jobs` at a time; the exit status as `sweep.launch` gives it."""
    from lcl_repro.cli import BUSY_PREFIX, CONFIRM_FLAG

    threads = threads_per_job(jobs)
    runs = []
    for command in commands:
        for overrides in split_runs(command):
            if not any(o.startswith("hardware.num_threads=") for o in overrides):
                overrides.append(f"hardware.num_threads={threads}")
            runs.append(overrides)
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"{len(runs)} run(s), {jobs} at a time at hardware.num_threads={threads} ({cores()} cores); "
          f"one line per finished run, each run's output in {log_dir}/", flush=True)
    pool = Pool(run_py, log_dir, CONFIRM_FLAG)
    failed, busy, done = [], {}, 0

    def job(index: int, overrides: list[str]):
        code, left, log, seconds = pool.run(index, overrides, BUSY_PREFIX)
        while code == EXIT_BUSY and wait_busy and not pool.stopping.is_set():
            wait_for([line.split(" is being trained", 1)[0] for line in left])
            code, left, log, more = pool.run(index, overrides, BUSY_PREFIX)
            seconds += more
        return code, left, log, seconds

    executor = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = {executor.submit(job, i, o): (i, o) for i, o in enumerate(runs, 1)}
        for future in as_completed(futures):
            index, overrides = futures[future]
            code, left, log, seconds = future.result()
            done += 1
            if code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
                raise stopped(code)
            state = {0: "finished", EXIT_BUSY: "left to the process training it"}.get(code, f"FAILED (exit {code})")
            print(f"[{done}/{len(runs)}] {state} in {seconds:.0f} s: {run_line(overrides)}"
                  + (f"; log {log}" if code not in (0, EXIT_BUSY) else ""), flush=True)
            busy.update({line.split(" is being trained", 1)[0]: line for line in left})
            if code not in (0, EXIT_BUSY):
                failed.append(f"python run.py -m {' '.join(overrides)}  (log {log})")
    except KeyboardInterrupt:
        pool.stop()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return left_and_failed(busy, failed, "run(s)")


def parallel_settings(args, table: str, runnable: list, seeds: list[int], extra: list[str]) -> dict:
    """What `launch_parallel` needs for a table's runs: jobs, the log folder and the memory of the
    largest run (checked against the machine's before anything starts)."""
    from lcl_repro.compose import compose
    from lcl_repro.report.tables import cell_overrides

    if args.jobs < 1:
        raise UserError(f"jobs={args.jobs}: the runs at once must be 1 or more")
    needs = {}
    for cell in runnable:
        cfg = compose([*cell_overrides(cell, seeds[0]), *extra])
        key = (cfg.method.name, cfg.encoder.name)
        if key not in needs:
            needs[key] = run_memory(cfg)
    (method, encoder), need = max(needs.items(), key=lambda item: item[1]) if needs else (("", ""), None)
    if need is not None:
        check_memory(args.jobs, need, f"{method} on {encoder}")  # before the sweep prints its commands
    log_dir = Path(args.output_root) / "sweeps" / "jobs" / f"{table}-{args.scale}-{time.strftime('%Y%m%d-%H%M%S')}"
    return {"jobs": args.jobs, "log_dir": log_dir}

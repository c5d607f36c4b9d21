"""Does `JOBS=2` pay on this machine? Finished runs per hour, n single-thread runs at once against
the same runs one after another at every core's threads, in interleaved rounds.

    python scripts/jobs_throughput.py --method ce --epochs 1 --order 1,2,2,1 [-- hardware=cpu_bf16 ...]

Each round trains the same seeds (0..runs-1) from scratch in its own output root, as the table sweep
would: jobs=1 is one `run.py -m` process at `hardware.num_threads=<cores>`, jobs=n is n `run.py`
processes at once at `cores // n` threads (lcl_repro/report/jobs.py). Rounds alternate (the default
order 1,2,2,1 cancels a linear drift of the machine), so start-up, evaluation and data preparation
are inside the wall time, as in a real sweep. Prints one row per round and the median ratio
runs-per-hour(jobs=n) / runs-per-hour(jobs=1); writes the rows to outputs/bench/throughput/<time>.json.
Run it on an otherwise idle machine: it is a timing.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lcl_repro.report.jobs import cores  # noqa: E402


def run_round(jobs: int, args, extra: list[str], out: Path) -> dict:
    base = [sys.executable, str(ROOT / "run.py"), f"method={args.method}", f"dataset={args.dataset}",
            f"encoder={args.encoder}", f"method.epochs={args.epochs}", "save_embeddings=false",
            f"output_root={out}", *extra]
    seeds = list(range(args.runs))
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]  # 1-minute average: the previous round's tail shows in it too
    start = time.perf_counter()
    if jobs == 1:
        commands = [[*base[:2], "-m", *base[2:], f"seed={','.join(map(str, seeds))}", f"hardware.num_threads={cores()}"]]
    else:
        commands = [[*base, f"seed={s}", f"hardware.num_threads={max(1, cores() // jobs)}"] for s in seeds]
    pending = list(commands)
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < jobs:
            log = open(logs / f"run{len(commands) - len(pending)}.log", "w")
            running.append(subprocess.Popen(pending.pop(0), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        time.sleep(0.5)
        for proc in [p for p in running if p.poll() is not None]:
            if proc.returncode != 0:
                raise SystemExit(f"a run failed (exit {proc.returncode}); logs in {logs}")
            running.remove(proc)
    wall = time.perf_counter() - start
    records = [json.loads(p.read_text()) for p in sorted(out.rglob("metrics.json"))]
    if len(records) != args.runs:
        raise SystemExit(f"expected {args.runs} finished runs under {out}, found {len(records)}")
    return {"jobs": jobs, "threads_per_run": cores() if jobs == 1 else max(1, cores() // jobs),
            "wall_s": round(wall, 1), "runs": len(records), "runs_per_hour": round(3600 * len(records) / wall, 2),
            "train_wall_s": [round(r["timing"]["wall_seconds"], 1) for r in records],
            "steps": [r["steps"] for r in records], "load_before": round(load_before, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="ce")
    parser.add_argument("--dataset", default="emoint")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--runs", type=int, default=2, help="runs per round (seeds 0..runs-1)")
    parser.add_argument("--order", default="1,2,2,1", help="jobs per round, in order")
    parser.add_argument("--out", default=str(ROOT / "outputs" / "throughput"))
    parser.add_argument("extra", nargs="*", help="more run.py overrides, e.g. hardware=cpu_bf16")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    print(f"{'round':>5} {'jobs':>4} {'threads':>7} {'wall s':>8} {'runs/h':>7}  run wall s (inside run.py)", flush=True)
    for number, jobs in enumerate(int(j) for j in args.order.split(",")):
        out = Path(args.out) / stamp / f"round{number}-jobs{jobs}"
        row = {"round": number, **run_round(jobs, args, args.extra, out)}
        rows.append(row)
        print(f"{number:>5} {jobs:>4} {row['threads_per_run']:>7} {row['wall_s']:>8.1f} {row['runs_per_hour']:>7.2f}  "
              f"{row['train_wall_s']}", flush=True)
        shutil.rmtree(out, ignore_errors=True)  # the runs are timing fodder, not results
    by_jobs: dict[int, list[float]] = {}
    for row in rows:
        by_jobs.setdefault(row["jobs"], []).append(row["runs_per_hour"])
    summary = {j: statistics.median(v) for j, v in sorted(by_jobs.items())}
    for jobs, rate in summary.items():
        if jobs != 1 and 1 in summary:
            print(f"jobs={jobs}: {rate:.2f} runs/h against {summary[1]:.2f} at jobs=1: "
                  f"x{rate / summary[1]:.2f} throughput (medians over rounds)")
    path = ROOT / "outputs" / "bench" / "throughput" / f"{stamp}.json"  # beside, not among, the rates files
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"args": vars(args), "cores": cores(), "rows": rows,
                                "median_runs_per_hour": summary}, indent=1))
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""GoEmotions `prepare_data` timed in a fresh interpreter, so its lazy imports count as they do on a
real second run. `python -m lcl_repro.bench.prepare <overrides>` prints one JSON line."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]  # not from bench.common: nothing heavy before the timer's imports


def prepare_seconds(overrides: list[str]) -> dict:
    """Run twice, so the second one always finds the cache warm."""
    command = [sys.executable, "-m", "lcl_repro.bench.prepare", *overrides]
    runs = []
    for _ in range(2):
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"prepare_data failed:\n{done.stderr[-2000:]}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"first_s": runs[0]["seconds"], "warm_s": runs[1]["seconds"], "train": runs[1]["train"],
            "cache_key": runs[1]["key"]}


def main(overrides: list[str]) -> None:
    from lcl_repro.env import configure_offline_mode

    configure_offline_mode()
    from lcl_repro.bench.common import compose_cfg
    from lcl_repro.pipeline import prepare_data

    cfg = compose_cfg(overrides)
    start = time.perf_counter()
    splits, facts, _ = prepare_data(cfg, progress=False)
    print(json.dumps({"seconds": time.perf_counter() - start, "train": len(splits.train), "key": facts["feature_cache"]}))


if __name__ == "__main__":
    main(sys.argv[1:])

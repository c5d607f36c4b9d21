"""Median training-step time of each method (as a ratio to CE at the same number of sequences per
step), the share of step time spent in the contrastive loss, and evaluation throughput.

    python scripts/bench_step.py                                  # every method, EmoInt, MiniLM
    python scripts/bench_step.py method=lcl dataset=goemotions encoder=tiny --steps 5

Hydra-style overrides pick the config; `method=a,b` lists methods. JSON goes to outputs/bench/.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lcl_repro.env import configure_offline_mode  # noqa: E402

configure_offline_mode()

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402

from lcl_repro import losses  # noqa: E402
from lcl_repro.config import register_configs, validate  # noqa: E402
from lcl_repro.data.features import Collator  # noqa: E402
from lcl_repro.eval.predict import predict  # noqa: E402
from lcl_repro.methods import build_objective  # noqa: E402
from lcl_repro.pipeline import prepare_data, resolve_device  # noqa: E402
from lcl_repro.track.files import write_json  # noqa: E402
from lcl_repro.train.loop import Trainer, freeze_all_but, make_optimizer  # noqa: E402
from lcl_repro.train.seed import seed_everything  # noqa: E402

ALL_METHODS = ["ce", "scl", "lcl", "lacon", "lacon_fusion", "supcl_seq", "ce_cl"]


def compose_cfg(method: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        return compose("config", overrides=[f"method={method}", *overrides])


def sequences_per_original(cfg, objective) -> int:
    if cfg.method.name == "supcl_seq":
        return len(objective.view_probabilities())
    if cfg.method.name == "ce_cl":
        return 2
    return cfg.method.views


class LossTimer:
    """Wraps the contrastive loss functions to time them (forward; backward measured separately)."""

    NAMES = ("supcon_loss", "lcl_loss", "lacon_loss", "infonce_loss")

    def __init__(self):
        self.seconds = 0.0
        self.calls: list[tuple] = []

    def __enter__(self):
        import lcl_repro.methods.contrastive as c
        import lcl_repro.methods.lacon as la
        import lcl_repro.methods.lcl as lc
        import lcl_repro.methods.supcl_seq as s

        self.patched = []
        for module in (c, la, lc, s):
            for name in self.NAMES:
                if hasattr(module, name):
                    original = getattr(module, name)
                    self.patched.append((module, name, original))
                    setattr(module, name, self.wrap(original))
        return self

    def wrap(self, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            self.seconds += time.perf_counter() - start
            self.calls.append((fn, args, kwargs))
            return out

        return timed

    def __exit__(self, *exc):
        for module, name, original in self.patched:
            setattr(module, name, original)


def loss_seconds(call) -> float:
    """Forward + backward time of one contrastive-loss call on detached copies of its inputs."""
    fn, args, kwargs = call
    copied = [a.detach().clone().requires_grad_(a.is_floating_point()) if torch.is_tensor(a) else a for a in args]
    start = time.perf_counter()
    out = fn(*copied, **kwargs)
    (out[0] if isinstance(out, tuple) else out).backward()
    return time.perf_counter() - start


def bench_method(method: str, overrides: list[str], steps: int, warmup: int, sequences: int | None) -> dict:
    cfg = compose_cfg(method, overrides)
    validate(cfg)
    device = resolve_device(cfg.hardware)
    splits, _, vocab = prepare_data(cfg, progress=False)
    seed_everything(cfg.seed)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab).to(device)
    stage = objective.stages()[0]
    per_orig = sequences_per_original(cfg, objective) if stage.name != "probe" else 1
    originals = max(1, (sequences or cfg.method.batch_size * per_orig) // per_orig)
    freeze_all_but(objective, stage.modules)
    optimizer = make_optimizer(objective, stage, cfg.method)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.hardware.precision == "fp16")
    trainer = Trainer(objective, splits, cfg, Path("/tmp"), device, None, False)
    collator = Collator(splits.pad_id, stage.views, splits.task == "regression")
    rows = splits.train
    times, loss_times, tokens = [], [], 0
    objective.train()
    from lcl_repro.train.loop import LoopState

    state = LoopState()
    for i in range(warmup + steps):
        idx = [(i * originals + j) % len(rows) for j in range(originals)]
        batch = {k: v.to(device) for k, v in collator([rows[k] for k in idx]).items()}
        if device.type == "cuda":
            torch.cuda.synchronize()
        with LossTimer() as timer:
            start = time.perf_counter()
            trainer.step(stage, batch, optimizer, scheduler, scaler, state, 0)
            if device.type == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
        if i >= warmup:
            times.append(elapsed)
            tokens += int(batch["attention_mask"].sum()) * (per_orig if stage.views == 1 else 1)
            loss_times.append(sum(loss_seconds(c) for c in timer.calls) if timer.calls else 0.0)
    n_eval = min(len(splits.test), 256)
    start = time.perf_counter()
    predict(objective, splits.test[:n_eval], Collator(splits.pad_id), cfg.hardware.eval_batch_size, device,
            cfg.hardware.precision)
    eval_rate = n_eval / (time.perf_counter() - start)
    median = statistics.median(times)
    return {"method": method, "sequences_per_step": originals * per_orig, "originals_per_step": originals,
            "step_median_s": median, "step_min_s": min(times), "step_max_s": max(times),
            "loss_share": statistics.median(loss_times) / median if loss_times else 0.0,
            "tokens_per_s": tokens / sum(times), "eval_sentences_per_s": eval_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "outputs" / "bench"))
    args, overrides = parser.parse_known_args()
    register_configs()
    methods = ALL_METHODS
    rest = []
    for o in overrides:
        if o.startswith("method="):
            methods = o.split("=", 1)[1].split(",")
        else:
            rest.append(o)
    if not any(o.startswith("dataset=") for o in rest):
        rest.append("dataset=emoint")
    torch.set_num_threads(torch.get_num_threads())
    results = {}
    for method in methods:
        res = bench_method(method, rest, args.steps, args.warmup, None)
        ce = bench_method("ce", rest, args.steps, args.warmup, res["sequences_per_step"]) if method != "ce" else res
        res["ratio_to_ce"] = res["step_median_s"] / ce["step_median_s"]
        results[method] = res
        print(f"{method:13s} seq/step={res['sequences_per_step']:4d} step={res['step_median_s']:.3f}s "
              f"[{res['step_min_s']:.3f}-{res['step_max_s']:.3f}] ratio_to_CE={res['ratio_to_ce']:.2f} "
              f"loss_share={100 * res['loss_share']:.2f}% tok/s={res['tokens_per_s']:.0f} "
              f"eval={res['eval_sentences_per_s']:.0f} sent/s", flush=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) / f"bench_step-{stamp}.json"
    write_json(out, {"overrides": rest, "threads": torch.get_num_threads(), "results": results})
    print(f"written: {out}")


if __name__ == "__main__":
    main()

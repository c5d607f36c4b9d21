"""Evaluation throughput: the runner's batched, length-sorted `predict` against the papers'
protocol, one unpadded sentence per forward pass, at each precision this device offers."""
from __future__ import annotations

import statistics
import time

import torch

from lcl_repro.bench.common import synchronize
from lcl_repro.bench.device import non_embedding_params
from lcl_repro.data.features import Collator
from lcl_repro.eval.predict import predict
from lcl_repro.train.hardware import autocast

REFERENCE = "single_fp32"  # what every speed-up is measured against: the papers ran fp32, one sentence at a time


@torch.inference_mode()
def one_sentence_per_pass(objective, rows: list[dict], collator: Collator, device: torch.device, precision: str) -> None:
    objective.eval()
    for row in rows:
        batch = {k: v.to(device) for k, v in collator([row]).items()}
        with autocast(device, precision):
            scores, _ = objective.predict(batch)
        scores.float().cpu()


def eval_speed(objective, splits, cfg, device: torch.device, sentences: int, repeats: int,
               precisions: list[str]) -> dict:
    """Sentences per second of every path (`batched_<precision>`, `single_<precision>`), the
    paths alternated within each repeat like the training steps; speed-ups against fp32 single."""
    rows = splits.test[:sentences]
    collator = Collator(splits.pad_id)
    batch_size = cfg.hardware.eval_batch_size
    paths = {}
    for precision in precisions:
        paths[f"batched_{precision}"] = lambda p=precision: predict(objective, rows, collator, batch_size, device, p)
        paths[f"single_{precision}"] = lambda p=precision: one_sentence_per_pass(objective, rows, collator, device, p)
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(repeats):
        for name, run in paths.items():
            synchronize(device)
            start = time.perf_counter()
            run()
            synchronize(device)
            rates[name].append(len(rows) / (time.perf_counter() - start))
    tokens_per_sentence = sum(len(r["input_ids"]) for r in rows) / len(rows)
    flops_per_sentence = 2 * non_embedding_params(objective.encoder) * tokens_per_sentence  # forward only
    out = {}
    for name, values in rates.items():
        rate = statistics.median(values)
        out[name] = {"sentences_per_s": rate, "tokens_per_s": rate * tokens_per_sentence,
                     "gflops": rate * flops_per_sentence / 1e9,  # how close each path is to the device's peak
                     "runs": values}
    reference = out[REFERENCE]["sentences_per_s"]
    base = f"batched_{cfg.hardware.precision}"
    return {"sentences": len(rows), "batch_size": batch_size, "tokens_per_sentence": tokens_per_sentence,
            "paths": out, "speedups": {name: p["sentences_per_s"] / reference for name, p in out.items()},
            # the run's own precision, as before bf16 was measured
            "ours_sentences_per_s": out[base]["sentences_per_s"], "ours_tokens_per_s": out[base]["tokens_per_s"],
            "reference_sentences_per_s": reference, "speedup": out[base]["sentences_per_s"] / reference}

"""The whole benchmark in one process: `run_benchmark(overrides, ...) -> result` (the JSON)."""
from __future__ import annotations

import torch

from lcl_repro.bench.common import CANDIDATE_METHODS, FUSED, METHODS, compose_cfg, load_average, peak_rss_mb, with_defaults
from lcl_repro.bench.device import boot_id, device_name, mfu, peak_flops
from lcl_repro.bench.evaluation import eval_speed
from lcl_repro.bench.timing import Variant, paired_ratio, time_interleaved
from lcl_repro.bench.variants import bare_variant, batches_for, framework_variant, method_variant, repeated
from lcl_repro.pipeline import prepare_data
from lcl_repro.train import hardware


def process_seconds() -> float | None:
    """Seconds since this process started (Linux /proc), None elsewhere."""
    import os

    try:
        start_ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, ValueError, IndexError):
        return None


def bf16_available(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return hardware.cpu_supports_bf16()


def run_benchmark(overrides: list[str], methods: list[str], steps: int, warmup: int, eval_sentences: int,
                  eval_repeats: int, with_data_prep: bool = True, with_grid: bool = True,
                  precision_methods: list[str] = ()) -> dict:
    """`methods` are timed against CE at the base precision; `precision_methods` at bf16 against
    fp32 (skipped, and said so, where the device has no bf16)."""
    load_at_start = load_average()
    imported = process_seconds()  # interpreter and imports: once per process (a sweep's runs share one)
    overrides = with_defaults(overrides)
    ce_cfg = compose_cfg(["method=ce", *overrides])
    device = hardware.setup(ce_cfg.hardware)  # as pipeline.run does; the bare loop shares the process
    splits, _, vocab = prepare_data(ce_cfg, progress=False)
    rounds = warmup + steps
    ce = framework_variant("ce", ce_cfg, splits, vocab, device)
    startup = process_seconds()  # what a run spends before its first step (data, model), less the imports
    startup = round(startup - imported, 2) if startup is not None and imported is not None else None
    hidden = ce.objective.encoder.config.hidden_size
    groups: dict[str, dict] = {}

    def measure(group: str, variants: list[Variant], adapt=None, **facts) -> None:
        print(f"  timing {group}: {', '.join(v.name for v in variants)} ...", flush=True)
        batches = batches_for(variants[0], rounds, device)
        groups[group] = {**facts, "variants": time_interleaved(variants, batches, adapt or {}, warmup, device)}

    bare = bare_variant(ce_cfg, splits.num_labels, vocab, device)
    measure("ce_vs_bare", [ce, bare], originals=ce_cfg.method.batch_size)
    del bare
    for method in methods:
        variant, _ = method_variant(method, overrides, hidden, splits, vocab, device)
        adapt = {"ce": repeated(2)} if method == "ce_cl" else {}  # two dropout passes = CE over the batch twice
        facts = {"originals": variant.originals, "views": variant.objective.stages()[0].views}
        if method == "supcl_seq":
            facts["dropout_views"] = len(variant.objective.view_probabilities())
        measure(method, [variant, ce], adapt, **facts)
        del variant
    skipped = None
    if precision_methods and not bf16_available(device):
        skipped = f"{device_name(device)} has no bf16 instructions (AVX512-BF16 or AMX on a CPU)"
    for method in precision_methods if skipped is None else []:
        build = lambda name, precision, fused=False: method_variant(  # noqa: E731
            method, [*overrides, f"hardware.precision={precision}"], hidden, splits, vocab, device, name=name,
            times_loss=False, fused_adamw=fused)[0]
        pair = [build("fp32", "fp32"), build("bf16", "bf16")]
        if method in CANDIDATE_METHODS:
            pair.append(build(FUSED, "bf16", fused=True))
        measure(f"precision_{method}", pair, kind="precision", method=method, originals=pair[0].originals)
        del pair
    precisions = list(dict.fromkeys(["fp32", ce_cfg.hardware.precision, *(["bf16"] if bf16_available(device) else [])]))
    print(f"  timing evaluation ({', '.join(precisions)}; batched and one sentence per pass) ...", flush=True)
    evaluation = eval_speed(ce.objective, splits, ce_cfg, device, eval_sentences, eval_repeats, precisions)
    data_prep = None
    if with_data_prep:
        from lcl_repro.bench.prepare import prepare_seconds

        print("  timing GoEmotions data preparation (fresh interpreter, twice) ...", flush=True)
        passed = [o for o in overrides if o.split("=", 1)[0] in ("encoder", "data_dir", "cache_dir", "output_root")]
        data_prep = prepare_seconds(["method=ce", "dataset=goemotions", *passed])
    name = device_name(device)
    peak = {p: peak_flops(name, p) if device.type == "cuda" else None for p in ("fp32", "fp16", "bf16")}
    for group in groups.values():
        for variant_name, stats in group["variants"].items():
            precision = variant_name.split("+")[0] if group.get("kind") == "precision" else ce_cfg.hardware.precision
            stats["mfu"] = mfu(stats["flops_per_step"], stats["step_s"]["median"], peak[precision])
    result = {"overrides": overrides, "device": str(device), "device_name": name, "encoder": ce_cfg.encoder.name,
              "precision": ce_cfg.hardware.precision, "threads": torch.get_num_threads(), "torch": torch.__version__, "boot_id": boot_id(),
              "steps": steps, "warmup": warmup, "import_s": imported, "startup_s": startup, "peak_rss_mb": peak_rss_mb(), "peak_flops": peak[ce_cfg.hardware.precision],
              "groups": groups, "ratios": ratios_of(groups), "precision_skipped": skipped,
              "evaluation": evaluation, "data_prep": data_prep}
    result["rates"] = rates_digest(result)
    if with_grid:
        from lcl_repro.bench.grid import grid_estimate

        result["grid"] = grid_estimate(overrides, result["rates"], ce_cfg.hardware.precision)
    result["load_average"] = {"start": load_at_start, "end": load_average()}
    return result


def ratios_of(groups: dict) -> dict:
    """Per group, the compared variant over its reference (CE, the bare loop, or fp32)."""
    out = {}
    for key, group in groups.items():
        v = group["variants"]
        name, reference = (("ce", "bare") if key == "ce_vs_bare" else ("bf16", "fp32") if group.get("kind") == "precision"
                           else (key, "ce"))
        out[key] = paired_ratio(v[name]["times_s"], v[reference]["times_s"])
        if FUSED in v:
            out[f"{key}:{FUSED}"] = paired_ratio(v[FUSED]["times_s"], v[reference]["times_s"])
    return out


def rates_digest(result: dict) -> dict:
    """What the cost plan (lcl_repro/report/cost.py) reads: per precision, each method's training
    throughput in encoder-pass tokens per second, and batched evaluation tokens per second. A
    bf16-vs-fp32 pair is preferred over the base-precision groups: both ran in the same rounds."""
    train: dict[str, dict[str, float]] = {}
    padded: dict[str, dict[str, float]] = {}  # the same steps over their padded tokens, less the update (cost.py)
    update: dict[str, dict[str, float]] = {}  # seconds of the optimizer update per step
    groups = result["groups"]
    for group in groups.values():
        if group.get("kind") == "precision":
            for precision, stats in group["variants"].items():  # FUSED: what hardware.fused_adamw=true runs at
                train.setdefault(precision, {})[group["method"]] = stats["encoder_pass_tokens_per_s"]
                if "encoder_pass_padded_tokens_per_s" in stats:
                    padded.setdefault(precision, {})[group["method"]] = stats["encoder_pass_padded_tokens_per_s"]
                    update.setdefault(precision, {})[group["method"]] = stats["update_s"]
    for key, into in (("encoder_pass_tokens_per_s", train), ("encoder_pass_padded_tokens_per_s", padded),
                      ("update_s", update)):
        base = into.setdefault(result["precision"], {})
        if "ce_vs_bare" in groups and key in groups["ce_vs_bare"]["variants"]["ce"]:
            base.setdefault("ce", groups["ce_vs_bare"]["variants"]["ce"][key])
        for method in METHODS:
            if method in groups and key in groups[method]["variants"][method]:
                base.setdefault(method, groups[method]["variants"][method][key])
    evaluation = {path.removeprefix("batched_"): p["tokens_per_s"]
                  for path, p in result["evaluation"]["paths"].items() if path.startswith("batched_")}
    digest = {"device": result["device"].split(":")[0], "device_name": result["device_name"],
              "encoder": result["encoder"], "threads": result["threads"], "train": train, "eval": evaluation}
    for key in ("startup_s", "import_s"):
        if result.get(key):
            digest[key] = result[key]
    if padded and all(padded.get(k, {}).keys() == v.keys() for k, v in train.items()):
        digest["train_padded"], digest["update_s"] = padded, update
    return digest


def measure_rates(overrides: list[str], methods: list[str], steps: int = 2, warmup: int = 1,
                  eval_sentences: int = 64) -> dict:
    """A few real steps of each method alone at the configured precision, and one batched
    evaluation: the rates of a cost plan where no benchmark file fits (seconds per method)."""
    from lcl_repro.report.cost import rate_key

    load_at_start = load_average()
    imported = process_seconds()
    overrides = with_defaults(overrides)
    ce_cfg = compose_cfg(["method=ce", *overrides])
    precision = ce_cfg.hardware.precision
    key = rate_key(precision, bool(ce_cfg.hardware.get("fused_adamw")))  # the optimizer follows hardware.fused_adamw
    device = hardware.setup(ce_cfg.hardware)
    splits, _, vocab = prepare_data(ce_cfg, progress=False)
    ce = framework_variant(key, ce_cfg, splits, vocab, device, times_loss=False)
    startup = process_seconds()
    startup = round(startup - imported, 2) if startup is not None and imported is not None else None
    hidden = ce.objective.encoder.config.hidden_size
    groups: dict[str, dict] = {}
    for method in dict.fromkeys(["ce", *methods]):
        variant = ce if method == "ce" else method_variant(method, overrides, hidden, splits, vocab, device,
                                                           name=key, times_loss=False)[0]
        print(f"  timing {method}: {steps} steps after {warmup} warm-up ...", flush=True)
        batches = batches_for(variant, warmup + steps, device)
        # shaped like a bf16-vs-fp32 pair with one side, which is what rates_digest reads
        groups[f"precision_{method}"] = {"kind": "precision", "method": method,
                                         "variants": time_interleaved([variant], batches, {}, warmup, device)}
        del variant
    evaluation = eval_speed(ce.objective, splits, ce_cfg, device, eval_sentences, 1,
                            list(dict.fromkeys(["fp32", precision])))
    result = {"overrides": overrides, "device": str(device), "device_name": device_name(device),
              "encoder": ce_cfg.encoder.name, "precision": precision, "threads": torch.get_num_threads(),
              "torch": torch.__version__, "boot_id": boot_id(), "steps": steps, "warmup": warmup, "import_s": imported, "startup_s": startup,
              "groups": groups,
              "evaluation": evaluation, "kind": "plan rates (python -m lcl_repro.report.sweep plan=true)"}
    result["rates"] = rates_digest(result)
    result["load_average"] = {"start": load_at_start, "end": load_average()}
    return result

"""The benchmark's tables: every number that has a goal (PASS/MISS), then every timed variant."""
from __future__ import annotations

from lcl_repro.bench.common import FUSED, GOALS, METHODS

LABELS = {"ce": "CE", "scl": "SCL", "lcl": "LCL (2 encoders)", "lacon": "LaCon", "lacon_fusion": "LaCon-fusion",
          "ce_cl": "CE+CL (2 dropout passes)", "supcl_seq": "SupCL-Seq"}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def ratio_text(ratio: dict) -> str:
    return f"{ratio['median']:.3f} [{ratio['min']:.2f}-{ratio['max']:.2f}]"


def method_rows(result: dict) -> list[tuple[str, str, str, str]]:
    g, r = result["groups"], result["ratios"]
    rows = []
    for method in (m for m in METHODS if m in g):
        value, seqs = r[method]["median"], g[method]["variants"]["ce"]["sequences_per_step"]
        if method == "supcl_seq":
            n, b = g[method]["dropout_views"], g[method]["originals"]
            goal = GOALS["supcl_seq_per_view"] * n
            rows.append((f"SupCL-Seq ({n} views of {b}) / CE ({b} seq)", ratio_text(r[method]),
                         f"<= {goal:.2f} (1.05 x {n})", verdict(value <= goal)))
            continue
        rows.append((f"{LABELS[method]} / CE, {seqs} seq/step", ratio_text(r[method]), f"<= {GOALS[method]}",
                     verdict(value <= GOALS[method])))
    return rows


def precision_rows(result: dict) -> list[tuple[str, str, str, str]]:
    if result.get("precision_skipped"):
        return [("bf16 / fp32 step", "n/a", f"<= {GOALS['bf16']['ce']} (CE, LCL)", f"n/a: {result['precision_skipped']}")]
    rows = []
    for key, group in result["groups"].items():
        if group.get("kind") != "precision":
            continue
        method, ratio = group["method"], result["ratios"][key]
        seqs = group["variants"]["fp32"]["sequences_per_step"]
        goal = GOALS["bf16"].get(method)
        label = LABELS[method].split(" (")[0]
        rows.append((f"{label} step: bf16 / fp32, {seqs} seq/step", ratio_text(ratio),
                     f"<= {goal}" if goal else "-", verdict(ratio["median"] <= goal) if goal else "-"))
        candidate = result["ratios"].get(f"{key}:{FUSED}")
        if candidate:
            rows.append((f"{label} step: bf16 + fused AdamW (hardware.fused_adamw=true) / fp32", ratio_text(candidate),
                         "-", "-"))
    return rows


def evaluation_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """Every batched path against the fp32 one-sentence reference; the goal is on the fastest path
    the runner offers here (bf16 where the device has it), the others give context."""
    e = result["evaluation"]
    speed = e["speedups"]
    goal_path = "batched_bf16" if "batched_bf16" in speed else f"batched_{result['precision']}"
    rows = []
    for path in sorted((p for p in speed if p != "single_fp32"), key=lambda p: (p != goal_path, p)):
        kind, precision = path.split("_", 1)
        what = "batched" if kind == "batched" else "one sentence per pass"
        has_goal = path == goal_path
        rows.append((f"evaluation: {what} {precision} / one fp32 sentence per pass ({e['sentences']} sent.)",
                     f"{speed[path]:.1f}x", f">= {GOALS['eval_speedup']:.0f}x" if has_goal else "-",
                     verdict(speed[path] >= GOALS["eval_speedup"]) if has_goal else "-"))
    return rows


def goal_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(measurement, value, goal, PASS/MISS) for every number that has a goal ("-": context only);
    step ratios are the median of the per-round ratios, [min-max] over rounds beside it."""
    g, r = result["groups"], result["ratios"]
    bare = r["ce_vs_bare"]["median"]
    rows = [("CE step: framework / bare PyTorch loop", ratio_text(r["ce_vs_bare"]), f"<= {GOALS['bare']}",
             verdict(bare <= GOALS["bare"]))]
    rows += method_rows(result)
    rows += precision_rows(result)
    for method in (m for m in METHODS if m in g):
        share = g[method]["variants"][method].get("loss_share")
        if share is not None:
            rows.append((f"contrastive-loss share of the {method} step", f"{100 * share:.2f} %",
                         f"< {100 * GOALS['loss_share']:.0f} %", verdict(share < GOALS["loss_share"])))
    rows += evaluation_rows(result)
    if result["data_prep"]:
        d = result["data_prep"]
        rows.append(("GoEmotions prepare_data, warm cache, fresh process", f"{d['warm_s']:.2f} s",
                     f"< {GOALS['data_prep_s']:.0f} s", verdict(d["warm_s"] < GOALS["data_prep_s"])))
    return rows


def step_rows(result: dict) -> list[tuple[str, ...]]:
    out = []
    for group, data in result["groups"].items():
        for name, s in data["variants"].items():
            t = s["step_s"]
            out.append((group, name, str(s["sequences_per_step"]), f"{t['median']:.3f}",
                        f"{t['min']:.3f}-{t['max']:.3f}", f"{s['tokens_per_s']:.0f}",
                        f"{100 * s['loss_share']:.2f} %" if "loss_share" in s else "-",
                        f"{100 * s['mfu']:.1f} %" if s.get("mfu") is not None else "n/a",
                        f"{s['gpu_peak_mb']:.0f}" if "gpu_peak_mb" in s else "-"))
    return out


def markdown(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def report(result: dict) -> str:
    head = (f"{result['device_name']} ({result['device']}, {result['threads']} threads, {result['precision']}), "
            f"torch {result['torch']}, {' '.join(result['overrides'])}; median of {result['steps']} interleaved "
            f"steps after {result['warmup']} warm-up; load average (1/5/15 min) "
            f"{'/'.join(f'{x:.2f}' for x in result['load_average']['start'])} at start, "
            f"{'/'.join(f'{x:.2f}' for x in result['load_average']['end'])} at end")
    parts = [head, "", markdown(("measurement", "value", "goal", "result"), goal_rows(result)), "",
             markdown(("comparison", "variant", "seq/step", "median s", "min-max s", "tokens/s", "loss share",
                       "MFU", "GPU peak MB"), step_rows(result)),
             "", f"peak CPU RSS: {result['peak_rss_mb']:.0f} MB"]
    e = result["evaluation"]
    parts.append("evaluation: " + ", ".join(
        f"{path} {p['sentences_per_s']:.0f} sent/s ({p['tokens_per_s']:.0f} tokens/s, {p['gflops']:.0f} GFLOP/s)"
        for path, p in e["paths"].items()))
    if result["data_prep"]:
        d = result["data_prep"]
        parts.append(f"GoEmotions prepare_data: {d['first_s']:.2f} s first call, {d['warm_s']:.2f} s warm "
                     f"({d['train']} training rows)")
    if result.get("grid"):
        from lcl_repro.bench.grid import grid_text

        parts.append(grid_text(result))
    return "\n".join(parts)

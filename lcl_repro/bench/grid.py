"""Device-hours of the LCL Table 1 grid (4 datasets x CE/SCL/LCL x 5 seeds, config epochs) on this
device and encoder, from the benchmark's own rates and the cost plan's model (lcl_repro/report/cost.py)."""
from __future__ import annotations

from lcl_repro.bench.common import compose_cfg

GRID = {"datasets": ["ed", "goemotions", "isear", "emoint"], "methods": ["ce", "scl", "lcl"], "seeds": 5}
PAPER_LCL_ED_T4_MINUTES_PER_EPOCH = 20  # Suresh & Ong 2021: "~20 min per epoch" on a T4 for ED


def grid_estimate(overrides: list[str], digest: dict, precision: str) -> dict | None:
    from lcl_repro.report.cost import data_stats, rates_from, run_cost

    rates = rates_from({"rates": digest}, "this benchmark", precision)
    if rates is None:
        return None
    base = [o for o in overrides if not o.startswith(("method=", "dataset="))]
    rows, total_s = [], 0.0
    for dataset in GRID["datasets"]:
        try:
            stats = data_stats(compose_cfg([f"dataset={dataset}", *base]))
        except Exception as err:  # a dataset absent on this machine only drops its rows
            rows.append({"dataset": dataset, "skipped": f"{type(err).__name__}: {err}"})
            continue
        for method in GRID["methods"]:
            m = compose_cfg([f"method={method}", f"dataset={dataset}", *base]).method
            cost = run_cost(m, stats, rates)
            total_s += GRID["seeds"] * cost.total_s
            rows.append({"dataset": dataset, "method": method, "train": stats.train, "epochs": m.epochs,
                         "mean_tokens": round(stats.train_tokens, 1), "minutes_per_epoch": cost.total_s / m.epochs / 60,
                         "hours_per_run": cost.total_s / 3600, "rate_measured": cost.measured})
    lcl_ed = next((r["minutes_per_epoch"] for r in rows if r.get("dataset") == "ed" and r.get("method") == "lcl"), None)
    return {"rows": rows, "seeds": GRID["seeds"], "device_hours": total_s / 3600, "precision": precision,
            "lcl_ed_minutes_per_epoch": lcl_ed, "paper_lcl_ed_t4_minutes_per_epoch": PAPER_LCL_ED_T4_MINUTES_PER_EPOCH}


def grid_text(result: dict) -> str:
    grid = result["grid"]
    unit = "GPU-hours" if result["device"].startswith("cuda") else "CPU-hours"
    lcl_ed = grid["lcl_ed_minutes_per_epoch"]
    return (f"LCL Table 1 grid ({len(GRID['datasets'])} datasets x CE/SCL/LCL x {grid['seeds']} seeds, config epochs) "
            f"on this device and encoder at {grid['precision']}: {grid['device_hours']:.1f} {unit}; LCL on ED "
            + (f"{lcl_ed:.1f} min/epoch" if lcl_ed is not None else "n/a")
            + f" (paper: ~{grid['paper_lcl_ed_t4_minutes_per_epoch']} min/epoch on a T4, ELECTRA-base)")

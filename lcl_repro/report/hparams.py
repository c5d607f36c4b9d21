"""Hyper-parameter sweep reports: the best setting by mean validation score over seeds (never by
test), a table of every setting, and the metric against each hyper-parameter (LaCon Figure 5).

    python run.py -m +sweep=lcl_appb dataset=emoint            # train the grid (skips finished runs)
    python -m lcl_repro.report sweep=lcl_appb dataset=emoint   # report it

Runs are read from `<output_root>/runs/<dataset>/<method>/<encoder>/`; a run belongs to the sweep
when each swept key's value in its `config.yaml` is one of the grid's values.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import OmegaConf

from lcl_repro.compose import CONF_DIR, with_seed
from lcl_repro.errors import ConfigError, UserError
from lcl_repro.report.cli_args import ReportArgs
from lcl_repro.track import record
from lcl_repro.track.files import read_json, write_text


def load_sweep(name: str) -> tuple[str, dict[str, list[Any] | None]]:
    """(method, {key: grid values or None when the grid is not a plain list})."""
    path = CONF_DIR / "sweep" / f"{name}.yaml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in (CONF_DIR / "sweep").glob("*.yaml")))
        raise ConfigError(f"sweep={name!r} is not a sweep; choose from: {names}")
    raw = OmegaConf.load(path)
    method = None
    for entry in raw.get("defaults", []):
        for key, value in (entry.items() if isinstance(entry, dict) or OmegaConf.is_dict(entry) else []):
            if str(key).endswith("/method"):
                method = str(value)
    params = OmegaConf.select(raw, "hydra.sweeper.params") or {}
    if method is None:
        raise ConfigError(f"{path}: its defaults list must select the method (- override /method: <name>)")
    grid = {str(k): parse_values(str(v)) for k, v in params.items() if str(k) != "seed"}
    return method, grid


def parse_values(text: str) -> list[Any] | None:
    if "(" in text:  # range(...), interval(...), choice(...): no fixed list to check against
        return None
    return [yaml_value(v.strip()) for v in text.split(",")]


def yaml_value(text: str) -> Any:
    return OmegaConf.create({"v": text}).v if not _number(text) else float(text)


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return str(a) == str(b)


def sweep_runs(output_root: Path, dataset: str, method: str, encoder: str,
               grid: dict[str, list[Any] | None]) -> pd.DataFrame:
    base = Path(output_root) / "runs" / dataset / method / encoder
    rows = []
    for done in sorted(base.rglob(record.DONE_FILE)) if base.is_dir() else []:
        try:
            record.read_done(done.parent)
        except record.Unfinished:  # not whole or of an older format: its rerun redoes it
            continue
        cfg = OmegaConf.load(done.parent / "config.yaml")
        values = {key: OmegaConf.select(cfg, key) for key in grid}
        if any(v is None or (grid[k] is not None and not any(same(v, g) for g in grid[k])) for k, v in values.items()):
            continue
        metrics = read_json(done.parent / "metrics.json")
        selection = metrics["selection_metric"]
        rows.append({**values, "seed": metrics["seed"], "validation": metrics["validation"].get(selection),
                     "test": metrics["test"].get(selection), "metric": selection, "run_dir": str(done.parent)})
    return pd.DataFrame(rows)


def settings_table(runs: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = runs.groupby(keys, dropna=False)
    table = grouped.agg(n=("seed", "count"), validation_mean=("validation", "mean"),
                        validation_sd=("validation", "std"), test_mean=("test", "mean"),
                        test_sd=("test", "std")).reset_index()
    return table.sort_values("validation_mean", ascending=False, kind="stable").reset_index(drop=True)


def plot(settings: pd.DataFrame, keys: list[str], folder: Path, title: str) -> list[Path]:
    """Validation score against each hyper-parameter, the others held at the best setting;
    the marginal mean over the other settings is drawn dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    best = settings.iloc[0]
    paths = []
    for key in keys:
        fig, ax = plt.subplots(figsize=(4.2, 3.2))
        if settings[key].nunique() == len(settings) > 1 and len(keys) > 1:
            # Sampled trials (Optuna): no two settings share a value, so no slice holds the others
            # fixed; every trial is drawn and the best one ringed.
            ax.scatter(settings[key], settings["validation_mean"], s=18, label="trials")
            ax.scatter([best[key]], [best["validation_mean"]], s=90, facecolors="none", edgecolors="red",
                       label="best")
        else:
            others = [k for k in keys if k != key]
            at_best = settings
            for k in others:
                at_best = at_best[at_best[k].apply(lambda v, b=best[k]: same(v, b))]
            at_best = at_best.sort_values(key)
            marginal = settings.groupby(key)["validation_mean"].mean().sort_index()
            ax.errorbar(at_best[key], at_best["validation_mean"], yerr=at_best["validation_sd"].fillna(0),
                        marker="o", capsize=2, label="others at best")
            ax.plot(marginal.index, marginal.values, "--", color="gray", label="mean over others")
        if pd.api.types.is_numeric_dtype(settings[key]) and settings[key].min() > 0 and \
                settings[key].max() / settings[key].min() >= 10:
            ax.set_xscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel(f"validation {settings.attrs.get('metric', '')} (mean over seeds)")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
        for ext in ("png", "pdf"):
            path = folder / f"hparam_{key.replace('.', '_')}.{ext}"
            fig.savefig(path, dpi=150, bbox_inches="tight")
            paths.append(path)
        plt.close(fig)
    return paths


def sweep_report(args: ReportArgs) -> str:
    if not args.dataset:
        raise UserError(f"name the dataset the sweep ran on: sweep={args.sweep} dataset=<name>")
    method, grid = load_sweep(args.sweep)
    runs = sweep_runs(Path(args.output_root), args.dataset, method, args.encoder, grid)
    if runs.empty:
        raise UserError(f"no finished runs of sweep {args.sweep} on {args.dataset} (method {method}, encoder "
                        f"{args.encoder}) under {args.output_root}/runs; run: "
                        f"python run.py -m +sweep={args.sweep} dataset={args.dataset} encoder={args.encoder}")
    keys = list(grid)
    settings = settings_table(runs, keys)
    settings.attrs["metric"] = runs["metric"].iloc[0]
    folder = Path(args.output_root) / "reports" / f"sweep_{args.sweep}" / args.dataset / args.encoder
    folder.mkdir(parents=True, exist_ok=True)
    title = f"sweep {args.sweep}: {method} on {args.dataset} ({args.encoder})"
    paths = plot(settings, keys, folder, title) if args.figures else []
    best = settings.iloc[0]
    lines = [f"# {title}", f"{len(runs)} runs in {len(settings)} settings; selection: mean validation "
             f"{settings.attrs['metric']} over seeds (test shown, never used to choose)", "",
             "best: " + ", ".join(f"{k}={best[k]}" for k in keys) +
             f"  validation {best['validation_mean']:.2f} (n={int(best['n'])}), test {best['test_mean']:.2f}", "",
             settings.to_markdown(index=False, floatfmt=".4g")]
    if paths:
        lines += ["", "figures: " + ", ".join(p.name for p in paths if p.suffix == ".png")]
    markdown = "\n".join(lines) + "\n"
    write_text(folder / "report.md", markdown)
    write_text(folder / "settings.csv", settings.to_csv(index=False))
    write_text(folder / "runs.csv", runs.to_csv(index=False))
    return markdown + f"\nreport written to {folder}/\n"


# --------------------------------------------------------------------------- a paper table's search stage
def search_results(table, scale: str, output_root: Path, extra: list[str], compose) -> pd.DataFrame:
    """One row per run of the table's search (`Protocol.search`, docs/protocols.md#searches): system,
    column, setting, seed and its validation score, or NaN while the run is not finished. Runs are
    found by fingerprint among the finished runs of their dataset / method / encoder, as the report does."""
    from lcl_repro.report.tables import cell_overrides, cells, search_label, search_points, search_table, seeds_for

    searched = search_table(table)
    points = {search_label(s, p): (s, p) for s in table.search.systems for p in search_points(table.search)}
    index: dict[Path, dict[str, Path]] = {}
    rows = []
    seeds = seeds_for(searched, scale)
    for cell in cells(searched, scale, runnable_only=True):
        system, point = points[cell.system]
        composed = compose([*cell_overrides(cell, seeds[0]), *extra])
        for seed in seeds:
            cfg = with_seed(composed, seed)
            base = Path(output_root) / "runs" / cfg.dataset.name / cfg.method.name / cfg.encoder.name
            if base not in index:
                index[base] = finished_index(base)
            folder = index[base].get(record.fingerprint(cfg))
            score = float("nan")
            if folder is not None:
                metrics = read_json(folder / "metrics.json")
                score = metrics["validation"].get(metrics["selection_metric"], float("nan"))
            rows.append({"system": system, "column": cell.column, "setting": ", ".join(point), "seed": seed,
                         "validation": score, "metric": cfg.dataset.selection_metric})
    return pd.DataFrame(rows)


def finished_index(base: Path) -> dict[str, Path]:
    out = {}
    for done in sorted(base.rglob(record.DONE_FILE)) if base.is_dir() else []:
        try:
            out[record.read_done(done.parent)["fingerprint"]] = done.parent
        except record.Unfinished:
            continue
    return out


def search_scores(results: pd.DataFrame, select: str, top_k: int) -> pd.DataFrame:
    """Per (system, column, setting): runs finished of expected, and the selection score: the mean validation
    score over seeds (`mean`) or over the best `top_k` seeds (`top_k_mean`, Gunel §4.1)."""
    def score(values: pd.Series) -> float:
        values = values.dropna().sort_values(ascending=False)
        return float(values.head(top_k).mean() if select == "top_k_mean" else values.mean())

    grouped = results.groupby(["system", "column", "setting"], sort=False)
    return grouped.agg(finished=("validation", "count"), expected=("seed", "count"),
                       score=("validation", score)).reset_index()


def search_choices(table, scale: str, output_root: Path, extra: list[str], compose
                   ) -> tuple[dict[tuple[str, str], tuple[str, ...]], pd.DataFrame]:
    """The chosen setting of each searched (system, column) whose every search run is finished (the best
    selection score; the first in grid order among equals), and the scores table."""
    if table.search is None:
        return {}, pd.DataFrame()
    scores = search_scores(search_results(table, scale, output_root, extra, compose), table.search.select,
                           table.search.top_k)
    choices = {}
    for (system, column), group in scores.groupby(["system", "column"], sort=False):
        if (group["finished"] == group["expected"]).all():
            best = group.loc[group["score"].idxmax()]
            choices[(system, column)] = tuple(best["setting"].split(", "))
    scores["chosen"] = [choices.get((r.system, r.column)) == tuple(r.setting.split(", ")) for r in scores.itertuples()]
    return choices, scores


def search_markdown(table, scores: pd.DataFrame, choices: dict) -> str:
    """The report's section on the search: the rule, the chosen setting per cell and system, every score."""
    search = table.search
    rule = (f"mean validation score of the best {search.top_k} of each setting's runs" if search.select == "top_k_mean"
            else "mean validation score over each setting's runs")
    lines = ["## Hyper-parameter search", "",
             f"protocol {table.applied_protocol}: {', '.join(search.systems)} over "
             + " x ".join(f"{k} {{{', '.join(map(str, v))}}}" for k, v in search.grid.items())
             + f"; selected by the {rule} (validation only; docs/protocols.md#searches).", ""]
    pending = sorted({(r.system, r.column) for r in scores.itertuples()} - set(choices))
    for (system, column), point in choices.items():
        lines.append(f"- chosen: {system} / {column}: {', '.join(point)}")
    for system, column in pending:
        lines.append(f"- search unfinished: {system} / {column} (its table runs wait for it)")
    return "\n".join([*lines, "", scores.to_markdown(index=False, floatfmt=".4g")]) + "\n"

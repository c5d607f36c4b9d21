"""Figures of a table, drawn from run folders only, each saved as PNG and PDF.

cells            per column on a fitted axis: every seed's score, our mean, the paper's mean ± SD
forest           (every table with claims) our Δ with its 95 % CI beside the paper's Δ, coloured by verdict
learning_curves  validation score per epoch, mean ± SD over seeds, one line per system
topk_entropy     LCL Figure 2: mean base-2 entropy of the renormalised top-k test probabilities
tsne             test [CLS] embeddings per system (seed of the first run), LaCon's label embeddings as anchors
imbalance        LaCon's imbalance study: minority / majority F1 against the imbalance ratio
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from lcl_repro.report.aggregate import reported, seed_scores  # noqa: E402
from lcl_repro.report.collect import CellRuns  # noqa: E402
from lcl_repro.report.tables import PaperTable  # noqa: E402

TSNE_MAX_POINTS = 1500
NAN = float("nan")


def save(fig: plt.Figure, folder: Path, stem: str) -> list[Path]:
    paths = []
    for ext in ("png", "pdf"):
        path = folder / f"{stem}.{ext}"
        # No creation date in the PDF: redrawing committed figures from the same runs changes no byte.
        fig.savefig(path, dpi=150, bbox_inches="tight", metadata={"CreationDate": None} if ext == "pdf" else None)
        paths.append(path)
    plt.close(fig)
    return paths


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def with_runs(collected: list[CellRuns]) -> list[CellRuns]:
    return [cr for cr in collected if cr.runs]


def arrays(run) -> dict[str, np.ndarray]:
    """A run's predictions.npz, or nothing: committed records keep it only where a figure needs it."""
    return run.predictions() if (run.folder / "predictions.npz").is_file() else {}


def has_embeddings(run) -> bool:
    """Whether the run saved test embeddings (`save_embeddings=true`), read without loading any array."""
    path = run.folder / "predictions.npz"
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as data:
        return "embedding" in data.files


def cells_data(table: PaperTable, collected: list[CellRuns]) -> list[dict[str, Any]]:
    """Every seed's score per cell, our mean, and the paper's mean ± SD: what `cells_<metric>` draws."""
    rows = []
    for metric in table.metrics:
        for cr in collected:
            system, column = cr.cell.system, cr.cell.column
            for seed, value in sorted(seed_scores(cr, table, metric).items()):
                rows.append(point(f"cells_{metric}", column, system, f"seed {seed}", value))
            paper, sd = reported(table, system, column, metric)
            if not np.isnan(paper):
                sd = 0.0 if np.isnan(sd) else sd
                rows.append(point(f"cells_{metric}", column, system, "paper mean ± SD", paper, paper - sd, paper + sd))
    return rows


def point(figure: str, panel: str, series: str, x: Any, y: float, low: float = NAN, high: float = NAN) -> dict:
    return {"figure": figure, "panel": panel, "series": series, "x": x, "y": y, "low": low, "high": high}


def cells_plot(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    """One panel per column, each on its own axis fitted to its scores (a 1-point gap between 66 and 67
    is visible): every seed as a dot, our mean as a bar across them, the paper's mean ± SD beside."""
    rows = cells_data(table, collected)
    paths = []
    for metric in table.metrics:
        mine = [r for r in rows if r["figure"] == f"cells_{metric}"]
        columns = list(dict.fromkeys(r["panel"] for r in mine))
        if not columns:
            continue
        fig, axes = plt.subplots(1, len(columns), figsize=(max(3.2, 2.6 * len(columns)), 3.4), squeeze=False)
        for ax, column in zip(axes[0], columns):
            here = [r for r in mine if r["panel"] == column]
            systems = list(dict.fromkeys(r["series"] for r in here))
            for i, system in enumerate(systems):
                seeds = [r["y"] for r in here if r["series"] == system and r["x"] != "paper mean ± SD"]
                jitter = np.linspace(-0.12, 0.12, len(seeds)) if len(seeds) > 1 else np.zeros(len(seeds))
                ax.scatter(i - 0.1 + jitter, seeds, s=12, color="tab:blue", alpha=0.8, zorder=3,
                           label="ours, one dot per seed" if i == 0 else None)
                if seeds:
                    ax.hlines(np.mean(seeds), i - 0.25, i + 0.05, color="tab:blue", lw=2)
                paper = [r for r in here if r["series"] == system and r["x"] == "paper mean ± SD"]
                for r in paper:
                    ax.errorbar(i + 0.2, r["y"], yerr=[[r["y"] - r["low"]], [r["high"] - r["y"]]], fmt="s",
                                color="black", ms=4, capsize=3, label="paper mean ± SD" if i == 0 else None)
            ax.set_xticks(range(len(systems)), systems, rotation=20 if len(systems) > 3 else 0, fontsize=8)
            ax.set_xlim(-0.6, len(systems) - 0.4)
            ax.margins(y=0.15)  # fitted to the data, not to zero
            ax.set_title(column, fontsize=8)
        axes[0][0].set_ylabel(metric)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.08))
        fig.suptitle(f"{table.name}: {metric} per seed\n{subtitle}", fontsize=9, y=1.04)
        fig.tight_layout()
        paths += save(fig, folder, f"cells_{metric}")
    return paths


VERDICT_COLOURS = {"reproduced": "tab:green", "same direction, not significant": "yellowgreen",
                   "opposite direction, not significant": "orange", "reversed": "tab:red",
                   "untestable": "tab:gray", "inconclusive": "tab:purple"}


def forest_data(comparison_rows: list[dict[str, Any]], figure: str = "forest") -> list[dict[str, Any]]:
    """Per claim with a test: our Δ with its 95 % CI (coloured by verdict) and the paper's Δ."""
    from lcl_repro.report.render import claim_text

    rows = []
    for r in comparison_rows:
        if np.isnan(r["mean_diff"]):
            continue
        label = f"{claim_text(r)} · {r['column']} · {r['metric']}"
        panel = r.get("table", "")
        rows.append(point(figure, panel, label, r["verdict_word"], r["mean_diff"], r["ci_low"], r["ci_high"]))
        if not np.isnan(r["paper_diff"]):
            rows.append(point(figure, panel, label, "paper", r["paper_diff"]))
    return rows


def draw_forest(rows: list[dict[str, Any]], title: str, folder: Path, stem: str) -> list[Path]:
    ours = [r for r in rows if r["x"] != "paper"]
    if not ours:
        return []
    labels = [f"{r['panel']}: {r['series']}" if r["panel"] else r["series"] for r in ours]
    fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.32 * len(ours)))
    ys = np.arange(len(ours))[::-1]
    for y, r in zip(ys, ours):
        colour = VERDICT_COLOURS.get(r["x"], "black")
        low = r["y"] - r["low"] if not np.isnan(r["low"]) else 0.0
        high = r["high"] - r["y"] if not np.isnan(r["high"]) else 0.0
        ax.errorbar(r["y"], y, xerr=[[low], [high]], fmt="o", color=colour, ms=5, capsize=3)
        paper = [p for p in rows if p["x"] == "paper" and p["series"] == r["series"] and p["panel"] == r["panel"]]
        for p in paper:
            ax.scatter(p["y"], y, marker="D", facecolors="none", edgecolors="black", s=28, zorder=3)
    ax.axvline(0, color="gray", lw=0.8, ls=":")
    ax.set_yticks(ys, labels, fontsize=7)
    ax.set_xlabel("Δ = a − b (ours: mean and 95 % CI; ◇ paper)")
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=w) for w, c in VERDICT_COLOURS.items()
               if any(r["x"] == w for r in ours)]
    handles.append(plt.Line2D([], [], marker="D", ls="", markerfacecolor="none", color="black", label="paper Δ"))
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title, fontsize=9)
    return save(fig, folder, stem)


def forest(table: PaperTable, comparison_rows: list[dict[str, Any]], folder: Path, subtitle: str) -> list[Path]:
    return draw_forest(forest_data(comparison_rows), f"{table.name}: the paper's claims, our differences\n{subtitle}",
                       folder, "forest")


def curve_values(run_metrics: dict[str, Any], key: str) -> list[float]:
    return [row[key] for row in run_metrics.get("curves", []) if row.get(key) is not None]


def curves_data(table: PaperTable, collected: list[CellRuns]) -> list[dict[str, Any]]:
    """Validation score per epoch, mean ± SD over a cell's runs (up to the shortest run's length)."""
    rows = []
    for column in figure_columns(table, collected):
        for cr in [c for c in with_runs(collected) if c.cell.column == column]:
            key = f"validation_{cr.runs[0].metrics.get('selection_metric', 'accuracy')}"
            series = [curve_values(run.metrics, key) for run in cr.runs]
            length = min(len(s) for s in series)
            if not length:
                continue
            values = np.array([s[:length] for s in series])
            mean, sd = values.mean(0), values.std(0, ddof=1) if len(values) > 1 else np.zeros(length)
            for epoch in range(length):
                rows.append(point(f"curves_{slug(column)}", key, f"{cr.cell.system} (n={len(values)})", epoch + 1,
                                  float(mean[epoch]), float(mean[epoch] - sd[epoch]), float(mean[epoch] + sd[epoch])))
    return rows


def learning_curves(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    rows = curves_data(table, collected)
    paths = []
    for column in figure_columns(table, collected):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        mine = [r for r in rows if r["figure"] == f"curves_{slug(column)}"]
        systems = list(dict.fromkeys(r["series"] for r in mine))
        longest = 1
        for i, system in enumerate(systems):
            line_rows = [r for r in mine if r["series"] == system]
            longest = max(longest, len(line_rows))
            mean = np.array([r["y"] for r in line_rows])
            sd = mean - np.array([r["low"] for r in line_rows])
            # systems side by side around each epoch, so their error bars do not hide each other
            epochs = np.array([r["x"] for r in line_rows], float) + 0.08 * (i - (len(systems) - 1) / 2)
            line = ax.errorbar(epochs, mean, yerr=sd, marker="o", ms=3, capsize=2, label=system)
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.15, color=line[0].get_color())
            ax.set_ylabel(line_rows[0]["panel"])
        ax.set_xlim(0.5, longest + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("epoch (evaluated)")
        ax.set_title(f"{table.name} {column}: learning curves\n{subtitle}", fontsize=9)
        ax.legend(fontsize=7)
        paths += save(fig, folder, f"curves_{slug(column)}")
    return paths


def topk_entropy_curve(probabilities: np.ndarray) -> np.ndarray:
    """Mean base-2 entropy of the top-k probabilities renormalised to sum to 1, for k = 2..C
    (LCL Figure 2: a confident model concentrates its mass on few classes)."""
    top = -np.sort(-probabilities, axis=1)
    out = []
    for k in range(2, probabilities.shape[1] + 1):
        p = top[:, :k] / top[:, :k].sum(1, keepdims=True)
        out.append(float(np.mean(-(p * np.log2(np.clip(p, 1e-12, None))).sum(1))))
    return np.array(out)


def topk_entropy(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    paths = []
    for column in figure_columns(table, collected):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        ks = None
        for cr in [c for c in with_runs(collected) if c.cell.column == column]:
            curves = [topk_entropy_curve(a["probabilities"]) for a in map(arrays, cr.runs) if "probabilities" in a]
            if not curves:
                continue
            values = np.array(curves)
            ks = np.arange(2, values.shape[1] + 2)
            ax.errorbar(ks, values.mean(0), yerr=values.std(0, ddof=1) if len(values) > 1 else None,
                        marker="o", ms=3, capsize=2, label=f"{cr.cell.system} (n={len(values)})")
        if ks is not None:  # the ceiling: an untrained model sits on it, a confident one far below
            ax.plot(ks, np.log2(ks), ":", color="gray", label="uniform: log2 k")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.set_xlabel("k (top-k classes)")
        ax.set_ylabel("mean entropy (bits)")
        ax.set_title(f"{table.name} {column}: top-k prediction entropy\n{subtitle}", fontsize=9)
        ax.legend(fontsize=7)
        paths += save(fig, folder, f"topk_entropy_{slug(column)}")
    return paths


def tsne(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    from sklearn.manifold import TSNE

    paths = []
    for column in tsne_columns(table, collected):
        chosen = [c for c in with_runs(collected) if c.cell.column == column]
        fig, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3.2), squeeze=False)
        with_anchors = False
        for ax, cr in zip(axes[0], chosen):
            run = cr.runs[0]
            saved = arrays(run)
            if "embedding" not in saved:
                ax.axis("off")
                ax.text(0.5, 0.5, f"{cr.cell.system}:\nno embeddings saved", ha="center", va="center", fontsize=8)
                continue
            points, labels = saved["embedding"][:TSNE_MAX_POINTS], saved["label"][:TSNE_MAX_POINTS]
            anchors = saved.get("anchors")
            stacked = points if anchors is None else np.vstack([points, anchors])
            # Every objective here compares directions (cosines), and LaCon's label embeddings are
            # shorter than the instances: unnormalised, t-SNE piles all anchors onto one spot.
            stacked = stacked / np.clip(np.linalg.norm(stacked, axis=1, keepdims=True), 1e-12, None)
            perplexity = float(min(30, max(2, (len(stacked) - 1) // 3)))
            xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=0).fit_transform(stacked)
            palette = plt.get_cmap("tab20")
            ax.scatter(xy[: len(points), 0], xy[: len(points), 1], color=palette(labels.astype(int) % 20), s=4)
            if anchors is not None:  # LaCon's label embeddings, in the colour of their class
                ax.scatter(xy[len(points):, 0], xy[len(points):, 1], color=palette(np.arange(len(anchors)) % 20),
                           marker="*", s=160, edgecolors="black", linewidths=0.8, zorder=3)
                with_anchors = True
            ax.set_title(f"{cr.cell.system} (seed {run.seed})", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        names = chosen[0].runs[0].metrics.get("data", {}).get("label_names", [])
        if 0 < len(names) <= 20:
            handles = [plt.Line2D([], [], marker="o", ls="", color=plt.get_cmap("tab20")(i), label=name)
                       for i, name in enumerate(names)]
            if with_anchors:
                handles.append(plt.Line2D([], [], marker="*", ls="", color="white", markeredgecolor="black",
                                          markersize=10, label="label embedding (LaCon)"))
            fig.legend(handles=handles, loc="lower center", ncol=min(8, len(names)), fontsize=7,
                       bbox_to_anchor=(0.5, -0.02 - 0.05 * (len(names) // 8)))
        fig.suptitle(f"{table.name} {column}: t-SNE of l2-normalised test embeddings\n{subtitle}", fontsize=9, y=1.08)
        paths += save(fig, folder, f"tsne_{slug(column)}")
    return paths


def imbalance_data(table: PaperTable, collected: list[CellRuns]) -> list[dict[str, Any]]:
    """Minority and majority F1 (mean ± SD over seeds) per system against rho, per dataset."""
    rows = []
    for cr in with_runs(collected):
        rho = ratio_from_overrides(cr.cell.overrides)
        for metric in ("f1_minority", "f1_majority"):
            values = list(seed_scores(cr, table, metric).values())
            mean, sd = float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
            rows.append(point(f"imbalance_{slug(cr.cell.dataset)}", cr.cell.dataset,
                              f"{cr.cell.system} {metric.split('_')[1]}", rho, mean, mean - sd, mean + sd))
    return rows


def imbalance(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    """Minority and majority F1 against rho; columns are grouped by dataset, rho read from the runs."""
    rows = imbalance_data(table, collected)
    paths = []
    for dataset in imbalance_datasets(collected):
        mine = [r for r in rows if r["panel"] == dataset]
        fig, ax = plt.subplots(figsize=(5, 3.4))
        labels = sorted(dict.fromkeys(r["series"] for r in mine))
        systems = list(dict.fromkeys(label.rsplit(" ", 1)[0] for label in dict.fromkeys(r["series"] for r in mine)))
        for label in labels:
            points = sorted((r["x"], r["y"], r["y"] - r["low"]) for r in mine if r["series"] == label)
            xs, ys, es = zip(*points)
            # one colour per system; majority dashed, minority solid
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, label=label,
                        color=plt.get_cmap("tab10")(systems.index(label.rsplit(" ", 1)[0]) % 10),
                        linestyle="--" if label.endswith("majority") else "-")
        ratios = sorted({r["x"] for r in mine})
        ax.set_xscale("log")
        ax.set_xticks(ratios, [f"{r:g}" for r in ratios])
        ax.minorticks_off()
        ax.set_xlabel("imbalance ratio ρ")
        ax.set_ylabel("F1 (%)")
        ax.set_title(f"{table.name} {dataset}: minority / majority F1\n{subtitle}", fontsize=9)
        ax.legend(fontsize=7)
        paths += save(fig, folder, f"imbalance_{slug(dataset)}")
    return paths


def ratio_from_overrides(overrides: tuple[str, ...]) -> float:
    for item in overrides:
        if item.startswith("dataset.sampling.imbalance_ratio="):
            return float(item.split("=", 1)[1])
    return 1.0


def figure_columns(table: PaperTable, collected: list[CellRuns]) -> list[str]:
    present = list(dict.fromkeys(cr.cell.column for cr in with_runs(collected)))
    return [c for c in present if table.figure_columns is None or c in table.figure_columns]


def tsne_columns(table: PaperTable, collected: list[CellRuns]) -> list[str]:
    """Figure columns where at least one system's first run saved embeddings: a t-SNE of nothing is not drawn."""
    return [column for column in figure_columns(table, collected)
            if any(has_embeddings(cr.runs[0]) for cr in with_runs(collected) if cr.cell.column == column)]


def not_drawn(table: PaperTable, collected: list[CellRuns]) -> list[str]:
    """One line per figure the table asks for that these runs cannot draw, so report.md says why it is absent."""
    if "tsne" not in table.figures:
        return []
    drawn = set(tsne_columns(table, collected))
    return [f"tsne_{slug(column)}: not drawn, no run of {column} saved test embeddings "
            "(rerun with save_embeddings=true to draw it)"
            for column in figure_columns(table, collected) if column not in drawn]


DRAW: dict[str, Callable[..., list[Path]]] = {
    "cells": cells_plot, "learning_curves": learning_curves, "topk_entropy": topk_entropy, "tsne": tsne,
    "imbalance": imbalance,
}


def imbalance_datasets(collected: list[CellRuns]) -> list[str]:
    return sorted({cr.cell.dataset for cr in with_runs(collected)})


# The file stem of every figure each kind draws: report.md lists these whether or not this call draws
# them (figures=false), so the report's text depends on the run records only.
STEMS: dict[str, Callable[[PaperTable, list[CellRuns]], list[str]]] = {
    "cells": lambda t, c: [f"cells_{metric}" for metric in t.metrics],
    "learning_curves": lambda t, c: [f"curves_{slug(col)}" for col in figure_columns(t, c)],
    "topk_entropy": lambda t, c: [f"topk_entropy_{slug(col)}" for col in figure_columns(t, c)],
    "tsne": lambda t, c: [f"tsne_{slug(col)}" for col in tsne_columns(t, c)],
    "imbalance": lambda t, c: [f"imbalance_{slug(d)}" for d in imbalance_datasets(c)],
}


# The figures whose numbers `figure_data.csv` holds (the committed check compares them; t-SNE coordinates
# and top-k entropies are drawn from predictions.npz and not tabulated).
DATA: dict[str, Callable[[PaperTable, list[CellRuns]], list[dict[str, Any]]]] = {
    "cells": cells_data, "learning_curves": curves_data, "imbalance": imbalance_data,
}


def has_forest(comparison_rows: list[dict[str, Any]]) -> bool:
    return any(not np.isnan(r["mean_diff"]) for r in comparison_rows)


def planned(table: PaperTable, collected: list[CellRuns], comparison_rows: list[dict[str, Any]] = ()) -> list[str]:
    """The PNG file names `draw_all` writes for these runs, without drawing anything."""
    if not with_runs(collected):
        return []
    forest_png = ["forest.png"] if has_forest(comparison_rows) else []
    return forest_png + [f"{stem}.png" for name in table.figures for stem in STEMS[name](table, collected)]


def figure_data(table: PaperTable, collected: list[CellRuns], comparison_rows: list[dict[str, Any]] = ()):
    """The numbers every drawn figure shows, one row per point (figure, panel, series, x, y, low, high):
    written as figure_data.csv beside report.md, so a figure's content is checked without its pixels."""
    import pandas as pd

    rows = forest_data(list(comparison_rows)) if with_runs(collected) else []
    for name in table.figures:
        if name in DATA and with_runs(collected):
            rows += DATA[name](table, collected)
    return pd.DataFrame(rows, columns=["figure", "panel", "series", "x", "y", "low", "high"])


def draw_all(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str,
             comparison_rows: list[dict[str, Any]] = ()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if not with_runs(collected):
        return []
    paths = forest(table, list(comparison_rows), folder, subtitle) if has_forest(comparison_rows) else []
    for name in table.figures:
        paths += DRAW[name](table, collected, folder, subtitle)
    return [p for p in paths if p.suffix == ".png"]

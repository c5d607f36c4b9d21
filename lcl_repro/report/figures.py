"""Figures of a table, drawn from run folders only, each saved as PNG and PDF.

bar              the table as grouped bars, ours mean ± SD with the paper's value as a marker
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


def bar(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    columns = list(dict.fromkeys(cr.cell.column for cr in collected))
    systems = list(dict.fromkeys(cr.cell.system for cr in collected))
    by_cell = {(cr.cell.system, cr.cell.column): cr for cr in collected}
    paths = []
    for metric in table.metrics:
        fig, ax = plt.subplots(figsize=(max(5, 1.2 * len(columns) * max(1, len(systems)) / 2), 3.6))
        width = 0.8 / max(1, len(systems))
        for i, system in enumerate(systems):
            xs, means, sds, paper = [], [], [], []
            for j, column in enumerate(columns):
                cr = by_cell.get((system, column))
                values = list(seed_scores(cr, table, metric).values()) if cr else []
                xs.append(j + (i - (len(systems) - 1) / 2) * width)
                means.append(np.mean(values) if values else np.nan)
                sds.append(np.std(values, ddof=1) if len(values) > 1 else 0.0)
                paper.append(reported(table, system, column, metric)[0])
            ax.bar(xs, means, width, yerr=sds, capsize=2, label=system)
            ax.scatter(xs, paper, marker="x", color="black", zorder=3, s=18,
                       label="paper" if i == 0 else None)
        ax.set_xticks(range(len(columns)), columns, rotation=20 if len(columns) > 4 else 0)
        ax.set_ylabel(metric)
        ax.set_title(f"{table.name}: {metric}\n{subtitle}", fontsize=9)
        ax.legend(fontsize=7, ncol=min(6, len(systems) + 1), loc="upper center", bbox_to_anchor=(0.5, -0.12))
        paths += save(fig, folder, f"bar_{metric}")
    return paths


def curve_values(run_metrics: dict[str, Any], key: str) -> list[float]:
    return [row[key] for row in run_metrics.get("curves", []) if row.get(key) is not None]


def learning_curves(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    paths = []
    for column in figure_columns(table, collected):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        systems = [c for c in with_runs(collected) if c.cell.column == column]
        longest = 1
        for i, cr in enumerate(systems):
            key = f"validation_{cr.runs[0].metrics.get('selection_metric', 'accuracy')}"
            series = [curve_values(run.metrics, key) for run in cr.runs]
            length = min(len(s) for s in series)
            if not length:
                continue
            longest = max(longest, length)
            values = np.array([s[:length] for s in series])
            # systems side by side around each epoch, so their error bars do not hide each other
            epochs = np.arange(1, length + 1) + 0.08 * (i - (len(systems) - 1) / 2)
            mean, sd = values.mean(0), values.std(0, ddof=1) if len(values) > 1 else np.zeros(length)
            line = ax.errorbar(epochs, mean, yerr=sd, marker="o", ms=3, capsize=2,
                               label=f"{cr.cell.system} (n={len(values)})")
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.15, color=line[0].get_color())
            ax.set_ylabel(key)
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


def imbalance(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    """Minority and majority F1 against rho; columns are grouped by dataset, rho read from the runs."""
    groups: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for cr in with_runs(collected):
        rho = ratio_from_overrides(cr.cell.overrides)
        for metric in ("f1_minority", "f1_majority"):
            values = list(seed_scores(cr, table, metric).values())
            key = (cr.cell.dataset, f"{cr.cell.system} {metric.split('_')[1]}")
            groups.setdefault(key, []).append((rho, float(np.mean(values)),
                                               float(np.std(values, ddof=1)) if len(values) > 1 else 0.0))
    paths = []
    for dataset in imbalance_datasets(collected):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        systems = list(dict.fromkeys(label.rsplit(" ", 1)[0] for d, label in groups if d == dataset))
        ratios = set()
        for (d, label), points in sorted(groups.items()):
            if d != dataset:
                continue
            points.sort()
            xs, ys, es = zip(*points)
            ratios.update(xs)
            # one colour per system; majority dashed, minority solid
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=3, capsize=2, label=label,
                        color=plt.get_cmap("tab10")(systems.index(label.rsplit(" ", 1)[0]) % 10),
                        linestyle="--" if label.endswith("majority") else "-")
        ax.set_xscale("log")
        ax.set_xticks(sorted(ratios), [f"{r:g}" for r in sorted(ratios)])
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
    "bar": bar, "learning_curves": learning_curves, "topk_entropy": topk_entropy, "tsne": tsne,
    "imbalance": imbalance,
}


def imbalance_datasets(collected: list[CellRuns]) -> list[str]:
    return sorted({cr.cell.dataset for cr in with_runs(collected)})


# The file stem of every figure each kind draws: report.md lists these whether or not this call draws
# them (figures=false), so the report's text depends on the run records only.
STEMS: dict[str, Callable[[PaperTable, list[CellRuns]], list[str]]] = {
    "bar": lambda t, c: [f"bar_{metric}" for metric in t.metrics],
    "learning_curves": lambda t, c: [f"curves_{slug(col)}" for col in figure_columns(t, c)],
    "topk_entropy": lambda t, c: [f"topk_entropy_{slug(col)}" for col in figure_columns(t, c)],
    "tsne": lambda t, c: [f"tsne_{slug(col)}" for col in tsne_columns(t, c)],
    "imbalance": lambda t, c: [f"imbalance_{slug(d)}" for d in imbalance_datasets(c)],
}


def planned(table: PaperTable, collected: list[CellRuns]) -> list[str]:
    """The PNG file names `draw_all` writes for these runs, without drawing anything."""
    if not with_runs(collected):
        return []
    return [f"{stem}.png" for name in table.figures for stem in STEMS[name](table, collected)]


def draw_all(table: PaperTable, collected: list[CellRuns], folder: Path, subtitle: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if not with_runs(collected):
        return []
    paths = []
    for name in table.figures:
        paths += DRAW[name](table, collected, folder, subtitle)
    return [p for p in paths if p.suffix == ".png"]

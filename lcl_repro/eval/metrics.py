"""Metrics by name, from scikit-learn and scipy. Percentages for classification scores, as the
papers report them.

scipy and scikit-learn are imported where they are used: together they cost ~0.8 s at import,
which every `import lcl_repro.train.loop` (and so data preparation) would otherwise pay."""
from __future__ import annotations

import numpy as np


def _classification(name: str, y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn import metrics as skm

    if name == "accuracy":
        return 100 * skm.accuracy_score(y, pred)
    if name == "f1_weighted":  # the LCL paper's "weighted macro F1" (its Eq. 8)
        return 100 * skm.f1_score(y, pred, average="weighted", zero_division=0)
    if name == "f1_macro":
        return 100 * skm.f1_score(y, pred, average="macro", zero_division=0)
    if name == "f1":  # binary F1 of the positive class (MRPC, QQP)
        return 100 * skm.f1_score(y, pred, average="binary", zero_division=0)
    if name == "mcc":
        return 100 * skm.matthews_corrcoef(y, pred)
    raise ValueError(f"unknown classification metric {name!r}")


def compute(names: list[str], labels: np.ndarray, scores: np.ndarray, task: str) -> dict[str, float]:
    """`scores` are [N, C] class scores (argmax = prediction) or [N, 1] regression outputs."""
    if task == "regression":
        from scipy import stats

        out = scores.reshape(-1)
        table = {"pearson": lambda: 100 * stats.pearsonr(out, labels).statistic,
                 "spearman": lambda: 100 * stats.spearmanr(out, labels).statistic,
                 "mse": lambda: float(np.mean((out - labels) ** 2))}
        return {n: float(table[n]()) if len(labels) > 1 else float("nan") for n in names}
    pred = scores.argmax(-1)
    return {n: float(_classification(n, labels, pred)) for n in names}


def per_class_f1(labels: np.ndarray, scores: np.ndarray, num_labels: int) -> list[float]:
    """F1 of each class (imbalance studies report minority / majority F1)."""
    from sklearn import metrics as skm

    f1 = skm.f1_score(labels, scores.argmax(-1), average=None, labels=list(range(num_labels)), zero_division=0)
    return [100 * float(v) for v in f1]

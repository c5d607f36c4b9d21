"""Did an arm learn anything? Checks per run and per cell, from the run records only (metrics.json,
predictions.npz, config.yaml); the thresholds and why they are what they are: docs/verdicts.md.

Per run, on the test split at the selected epoch:
  trivial   exact one-sided binomial test of the correct predictions against the majority-class share of
            the test labels (the score of always answering the most frequent class; 1/C on a balanced set)
  chance    Cohen's kappa > 0 and a chi-square test of independence between labels and predictions at
            p < ALPHA: the predictions carry information about the labels (a constant or random
            classifier has none, whatever the class balance)
  one class the most-predicted class takes at least SINGLE_CLASS_SHARE of the test predictions
  MCC, κ    sklearn's matthews_corrcoef and cohen_kappa_score
  fit       the last epoch's mean training CE over the entropy (nats) of the training label prior: 1 means
            the model learned the class frequencies and nothing else
  improving the selected (best-validation) epoch is the last one trained
A cell *learned* when at least half of its runs beat chance and, where the loss has a CE term, its median
fit is below FIT_RATIO.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
from omegaconf import OmegaConf
from scipy import stats
from sklearn.metrics import cohen_kappa_score, matthews_corrcoef

from lcl_repro.report.collect import CellRuns, Run

ALPHA = 0.05
SINGLE_CLASS_SHARE = 0.99
FIT_RATIO = 0.9
NAN = float("nan")


@dataclass
class RunCheck:
    seed: int
    n_test: int = 0
    p_trivial: float = NAN  # binomial, accuracy > majority share
    p_chance: float = NAN  # chi-square independence of labels and predictions
    top_class_share: float = NAN
    mcc: float = NAN
    kappa: float = NAN
    fit: float = NAN  # final train CE / H(prior)
    best_epoch: Optional[int] = None
    last_epoch: Optional[int] = None

    @property
    def beats_trivial(self) -> bool:
        return self.p_trivial < ALPHA

    @property
    def beats_chance(self) -> bool:
        return self.kappa > 0 and self.p_chance < ALPHA

    @property
    def single_class(self) -> bool:
        return self.top_class_share >= SINGLE_CLASS_SHARE

    @property
    def still_improving(self) -> bool:
        return self.best_epoch is not None and self.best_epoch == self.last_epoch


@dataclass
class ArmCheck:
    """The learning checks of one cell (a system on a column) over its runs."""

    runs: list[RunCheck] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.runs)

    @property
    def with_predictions(self) -> list[RunCheck]:
        return [r for r in self.runs if r.n_test]

    def count(self, what: str) -> int:
        return sum(bool(getattr(r, what)) for r in self.with_predictions)

    def mean(self, what: str) -> float:
        values = [getattr(r, what) for r in self.with_predictions if not math.isnan(getattr(r, what))]
        return float(np.mean(values)) if values else NAN

    @property
    def fit(self) -> float:
        values = [r.fit for r in self.runs if not math.isnan(r.fit)]
        return float(np.median(values)) if values else NAN

    @property
    def improving(self) -> int:
        return sum(r.still_improving for r in self.runs)

    @property
    def learned(self) -> Optional[bool]:
        """None when no run kept its predictions (the record cannot tell)."""
        measured = self.with_predictions
        if not measured:
            return None
        return 2 * self.count("beats_chance") >= len(measured) and not (self.fit >= FIT_RATIO)

    def reason(self) -> str:
        """Why the arm did not learn, in the checks' own numbers."""
        m = len(self.with_predictions)
        parts = [f"{self.count('beats_chance')}/{m} runs beat chance, MCC {fmt(self.mean('mcc'), 2)}"]
        if self.count("single_class"):
            parts.append(f"{self.count('single_class')}/{m} predict one class")
        if not math.isnan(self.fit):
            parts.append(f"final train CE {fmt(self.fit, 2)} × H(prior)")
        return ", ".join(parts)

    def row(self) -> dict[str, Any]:
        """The columns cells.csv and the report's learning-check table carry."""
        m = len(self.with_predictions)
        return {"checked": m, "beats_trivial": self.count("beats_trivial") if m else NAN,
                "beats_chance": self.count("beats_chance") if m else NAN,
                "single_class": self.count("single_class") if m else NAN,
                "mcc": self.mean("mcc"), "kappa": self.mean("kappa"), "fit": self.fit,
                "still_improving": self.improving if self.runs else NAN,
                "learned": "" if self.learned is None else ("yes" if self.learned else "no")}

    def summary(self) -> str:
        """One line for a verdict table: chance k/n, one-class k/n, MCC, fit, last-epoch k/n."""
        if not self.runs:
            return "–"
        m = len(self.with_predictions)
        fit = "" if math.isnan(self.fit) else f", fit {fmt(self.fit, 2)}"
        checks = (f"chance {self.count('beats_chance')}/{m}, one-class {self.count('single_class')}/{m}, "
                  f"MCC {fmt(self.mean('mcc'), 2)}{fit}, " if m else "no predictions, ")
        return checks + f"last-epoch best {self.improving}/{self.n}"


def fmt(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def check_cell(cr: CellRuns) -> ArmCheck:
    return ArmCheck([check_run(run) for run in cr.runs])


def check_run(run: Run) -> RunCheck:
    out = RunCheck(run.seed)
    curves = [row for row in run.metrics.get("curves", []) if row.get("stage", "train") == "train"]
    epochs = [row["epoch"] for row in curves if row.get("epoch") is not None]
    out.last_epoch = max(epochs) if epochs else None
    out.best_epoch = run.metrics.get("best_epoch")
    if not (run.folder / "predictions.npz").is_file():
        return out
    saved = run.predictions()
    if "label" not in saved or not ({"prediction", "probabilities"} & set(saved)):
        return out
    labels = np.asarray(saved["label"])
    predicted = np.asarray(saved["prediction"] if "prediction" in saved else saved["probabilities"].argmax(1))
    if labels.ndim != 1 or not len(labels):
        return out  # multi-label: none of these checks applies
    out.n_test = len(labels)
    classes, label_counts = np.unique(labels, return_counts=True)
    correct = int(np.sum(labels == predicted))
    out.p_trivial = float(stats.binomtest(correct, len(labels), label_counts.max() / len(labels),
                                          alternative="greater").pvalue)
    out.top_class_share = float(np.unique(predicted, return_counts=True)[1].max() / len(predicted))
    with warnings.catch_warnings():  # constant predictions: sklearn warns and returns 0, which is the answer
        warnings.simplefilter("ignore")
        out.mcc = float(matthews_corrcoef(labels, predicted))
        kappa = cohen_kappa_score(labels, predicted)
    out.kappa = 0.0 if math.isnan(kappa) else float(kappa)
    out.p_chance = independence_p(labels, predicted)
    out.fit = fit_ratio(run, curves, labels)
    return out


def independence_p(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Chi-square test of independence of the label x prediction table; 1 when a class is never
    predicted by all but one column (no association can be measured)."""
    table = np.array([[np.sum((labels == y) & (predicted == k)) for k in np.unique(predicted)]
                      for y in np.unique(labels)])
    if min(table.shape) < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def fit_ratio(run: Run, curves: list[dict[str, Any]], test_labels: np.ndarray) -> float:
    final = [row["train_ce"] for row in curves if row.get("train_ce") is not None]
    if not final:
        return NAN  # no CE term in this loss (LaCon): nothing to hold against the prior
    prior = train_prior(run, test_labels)
    entropy = float(-(prior * np.log(prior)).sum())
    return final[-1] / entropy if entropy > 0 else NAN


def train_prior(run: Run, test_labels: np.ndarray) -> np.ndarray:
    """Class frequencies of the training set: from the sampling settings where the run resampled it
    (imbalance: minority_size vs minority_size·ρ; few-shot: stratified, so uniform), else those of the test
    labels, which come from the same pool (docs/verdicts.md#learning-checks)."""
    names = run.metrics.get("data", {}).get("label_names") or []
    cfg = OmegaConf.load(run.folder / "config.yaml") if (run.folder / "config.yaml").is_file() else None
    sampling = OmegaConf.select(cfg, "dataset.sampling") if cfg is not None else None
    if sampling is not None and names:
        if sampling.get("imbalance_ratio"):
            minority = set(sampling.get("minority_classes") or [names[0]])
            size = float(sampling.get("minority_size") or 1)
            counts = np.array([size if n in minority else size * float(sampling.imbalance_ratio) for n in names])
            return counts / counts.sum()
        if sampling.get("few_shot_total") or sampling.get("few_shot_k"):
            return np.full(len(names), 1.0 / len(names))
    counts = np.unique(test_labels, return_counts=True)[1].astype(float)
    return counts / counts.sum()

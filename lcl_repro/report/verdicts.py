"""A verdict per claim, computed by a stated rule (docs/verdicts.md) from the claim's direction, the
test's p and its smallest attainable p, the learning checks of both arms, Holm's correction over the
table, and the settings the two arms' runs differ in.

Vocabulary (fixed; the words are what README and results/README.md print):
  reproduced                           the paper's direction, p < α
  same direction, not significant      the paper's direction, p ≥ α
  opposite direction, not significant  the other direction, p ≥ α
  reversed                             the other direction, p < α
  untestable                           the test cannot reach p < α at this n (or has no runs / no variance)
  inconclusive                         an arm did not learn (the reason says which check failed)
A claim of no difference (a=b) is "same direction, not significant" when the test finds none (absence of
evidence, not equivalence) and "reversed" when it finds one.
Qualifiers follow the word: "not significant after Holm", "confounded: <keys>", "still improving".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import OmegaConf

from lcl_repro.report.collect import CellRuns
from lcl_repro.report.learning import ALPHA, ArmCheck
from lcl_repro.report.tables import Comparison

REPRODUCED = "reproduced"
SAME = "same direction, not significant"
OPPOSITE = "opposite direction, not significant"
REVERSED = "reversed"
UNTESTABLE = "untestable"
INCONCLUSIVE = "inconclusive"
VOCABULARY = (REPRODUCED, SAME, OPPOSITE, REVERSED, UNTESTABLE, INCONCLUSIVE)
# Keys that differ between any two runs by design, never a setting of the comparison (output folders, run_tag
# and the like are outside a run's identity: never_changes_numbers).
RUN_KEYS = frozenset({"seed", "method.name"})


@dataclass
class Verdict:
    word: str
    reason: str = ""  # why untestable / inconclusive
    qualifiers: list[str] = field(default_factory=list)

    def text(self) -> str:
        head = f"{self.word} ({self.reason})" if self.reason else self.word
        return "; ".join([head, *self.qualifiers])


def claim_for(comp: Comparison, column: str) -> str:
    return comp.column_claims.get(column, comp.claim)


def direction_word(claim: str, diff: float, p: float, alpha: float = ALPHA) -> str:
    significant = p < alpha
    if claim == "a=b":
        return REVERSED if significant else SAME
    agrees = diff > 0 if claim == "a>b" else diff < 0
    if agrees:
        return REPRODUCED if significant else SAME
    return REVERSED if significant else OPPOSITE


def decide(claim: str, diff: float, p: float, p_min: float, arms: dict[str, ArmCheck], note: str = "",
           p_holm: float = float("nan"), confounds: Optional[list[str]] = None,
           alpha: float = ALPHA) -> Verdict:
    """The rule, in order: an arm that did not learn makes the claim inconclusive; a test that cannot
    reach α (or has no p) makes it untestable; else the direction and p decide."""
    failed = [f"{name} did not learn: {arm.reason()}" for name, arm in arms.items() if arm.learned is False]
    if failed:
        verdict = Verdict(INCONCLUSIVE, "; ".join(failed))
    elif p_min >= alpha:
        verdict = Verdict(UNTESTABLE, f"min attainable p {p_min:.4f} ≥ {alpha}")
    elif math.isnan(p):
        verdict = Verdict(UNTESTABLE, note or "no p-value")
    else:
        verdict = Verdict(direction_word(claim, diff, p, alpha))
    if verdict.word in (REPRODUCED, REVERSED) and not math.isnan(p_holm) and p_holm >= alpha:
        verdict.qualifiers.append(f"not significant after Holm (p {p_holm:.3f})")
    if confounds:
        verdict.qualifiers.append("confounded: " + ", ".join(confounds))
    improving = [f"{name} {arm.improving}/{arm.n}" for name, arm in arms.items() if arm.n and 2 * arm.improving > arm.n]
    if improving and verdict.word != INCONCLUSIVE:
        verdict.qualifiers.append("still improving (best epoch = last in " + ", ".join(improving) + " runs)")
    return verdict


# --------------------------------------------------------------------------- confounds
def flat_config(node: Any, prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_config(value, dotted + "."))
        else:
            out[dotted] = str(value)
    return out


def resolved_settings(cr: CellRuns) -> dict[str, set[str]]:
    """Every resolved-config key of a cell's runs with the values its runs had."""
    values: dict[str, set[str]] = {}
    for run in cr.runs:
        path = run.folder / "config.yaml"
        if not path.is_file():
            continue
        for key, value in flat_config(OmegaConf.to_container(OmegaConf.load(path))).items():
            values.setdefault(key, set()).add(value)
    return values


def never_changes_numbers(key: str) -> bool:
    """A key left out of a run's identity because it never changes its numbers (record.NON_IDENTITY_KEYS:
    save_embeddings, logger, ...; hardware.num_threads, ...): never a confound."""
    from lcl_repro.track.record import NON_IDENTITY_HARDWARE, NON_IDENTITY_KEYS

    top, _, rest = key.partition(".")
    return top in NON_IDENTITY_KEYS or (top == "hardware" and rest in NON_IDENTITY_HARDWARE)


def confounds(a: CellRuns, b: CellRuns, method_keys: list[str]) -> list[str]:
    """"key a-values vs b-values" for every key both arms' runs have that differs between them and is
    neither declared part of the method (`method_keys`) nor a per-run key. A key only one method has
    (LCL's alpha, SCL's lam) is that method's own and never a confound."""
    va, vb = resolved_settings(a), resolved_settings(b)
    out = []
    for key in sorted(set(va) & set(vb)):
        if key in RUN_KEYS or never_changes_numbers(key) or key in method_keys or va[key] == vb[key]:
            continue
        out.append(f"{key} {'/'.join(sorted(va[key]))} vs {'/'.join(sorted(vb[key]))}")
    return out

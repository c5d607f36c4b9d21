"""Registry: `method.name` -> the objective class that implements it."""
from __future__ import annotations

from lcl_repro.methods.base import LossOutput, Objective, Stage
from lcl_repro.methods.contrastive import CECL, SCL
from lcl_repro.methods.lacon import LaCon
from lcl_repro.methods.lcl import LCL
from lcl_repro.methods.supcl_seq import SupCLSeq

OBJECTIVES: dict[str, type[Objective]] = {
    "ce": Objective,
    "scl": SCL,
    "lcl": LCL,
    "lacon": LaCon,
    "lacon_fusion": LaCon,
    "supcl_seq": SupCLSeq,
    "ce_cl": CECL,
}


def build_objective(cfg, encoder_cfg, num_labels: int, task: str, vocab_size: int) -> Objective:
    return OBJECTIVES[cfg.name](cfg, encoder_cfg, num_labels, task, vocab_size)


__all__ = ["OBJECTIVES", "LossOutput", "Objective", "Stage", "build_objective"]

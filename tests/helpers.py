"""Helpers shared by test modules (test modules import from here or conftest, never from each other)."""
from __future__ import annotations

from lcl_repro.methods import build_objective
from lcl_repro.pipeline import prepare_data
from lcl_repro.train.seed import seed_everything
from tests.conftest import compose_config


def build(method, tiny_overrides, extra=()):
    """An objective on a 16-example EmoInt slice with the tiny encoder: (cfg, splits, facts, objective)."""
    cfg = compose_config([f"method={method}", "dataset=emoint", *tiny_overrides, "dataset.limit.train=16",
                          "method.lr=1e-3", "method.head_dropout=0.0", *extra])
    splits, facts, vocab = prepare_data(cfg, progress=False)
    seed_everything(0)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab)
    return cfg, splits, facts, objective

"""What is timed: the framework's own training step (through the trainer's stage set-up), a bare
PyTorch + transformers loop, and the batches both see."""
from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel

from lcl_repro.bench.common import compose_cfg, method_overrides
from lcl_repro.bench.timing import Variant
from lcl_repro.methods import build_objective
from lcl_repro.models.encoder import load_encoder
from lcl_repro.pipeline import prepare_data
from lcl_repro.train.hardware import autocast, grad_scaler
from lcl_repro.train.loop import LoopState, Trainer
from lcl_repro.train.seed import seed_everything


def encoders_of(module: nn.Module) -> list[nn.Module]:
    return [m for m in module.children() if isinstance(m, PreTrainedModel)]


def framework_variant(name: str, cfg, splits, vocab_size: int, device: torch.device, times_loss: bool = True,
                      fused_adamw: bool | None = None) -> Variant:
    """The code path Trainer.fit runs for every batch of the first stage: its set-up (optimizer,
    schedule, scaler) and Trainer.step. `fused_adamw`: the AdamW update (None: as `hardware.fused_adamw`)."""
    seed_everything(cfg.seed)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab_size).to(device)
    trainer = Trainer(objective, splits, cfg, Path(tempfile.gettempdir()), device, None, False)
    stage = objective.stages()[0]
    collator, optimizer, scheduler, scaler = trainer.setup_stage(stage, fused_adamw)
    update_times: list[float] = []
    update = optimizer.step  # the scheduler's step counter already wraps it; time what a step's update costs

    @functools.wraps(update)  # keeps the scheduler's mark on it: no "optimizer.step() has been overridden" warning
    def timed_update(*args, **kwargs):
        start = time.perf_counter()
        out = update(*args, **kwargs)
        update_times.append(time.perf_counter() - start)
        return out

    optimizer.step = timed_update
    state = LoopState()
    objective.train()

    def step(batch: dict) -> None:
        trainer.step(stage, batch, optimizer, scheduler, scaler, state, 0)

    return Variant(name, step, encoders_of(objective), objective, times_loss=times_loss and cfg.method.name != "ce",
                   collator=collator, originals=stage.batch_size, rows=splits.train, update_times=update_times)


def bare_variant(cfg, num_labels: int, vocab_size: int, device: torch.device) -> Variant:
    """What a user writes with plain PyTorch + transformers: AutoModel (via load_encoder, a thin
    wrapper of from_pretrained/from_config), the same head shape, torch's AdamW with its defaults
    for the device, the same clipping; autocast and a scaler only where the precision asks."""
    seed_everything(cfg.seed)
    encoder = load_encoder(cfg.encoder, vocab_size).to(device)
    d, p = encoder.config.hidden_size, cfg.method.head_dropout
    head = nn.Sequential(nn.Linear(d, d), nn.Dropout(p), nn.ReLU(), nn.Linear(d, num_labels), nn.Dropout(p)).to(device)
    params = [*encoder.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=cfg.method.lr, eps=cfg.method.adam_eps,
                                  weight_decay=cfg.method.weight_decay)
    precision = cfg.hardware.precision
    scaler = grad_scaler(device, precision)
    encoder.train(), head.train()

    def step(batch: dict) -> None:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        with autocast(device, precision):
            logits = head(encoder(**inputs).last_hidden_state[:, 0])
        loss = F.cross_entropy(logits.float(), batch["labels"])
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(params, cfg.method.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    return Variant("bare", step, [encoder])


def method_variant(method: str, overrides: list[str], hidden: int, splits, vocab: int, device: torch.device,
                   name: str | None = None, times_loss: bool = True,
                   fused_adamw: bool | None = None) -> tuple[Variant, object]:
    """The method's framework variant and the splits its batches come from (WordNet views for
    `views: 2`)."""
    extra = method_overrides(method, hidden)
    cfg = compose_cfg([f"method={method}", *overrides, *extra])
    m_splits = splits if cfg.method.views == 1 else prepare_data(cfg, progress=False)[0]
    variant = framework_variant(name or method, cfg, m_splits, vocab, device, times_loss, fused_adamw)
    if method == "supcl_seq" and getattr(variant.objective.encoder, "pooler", None) is None:
        # ELECTRA has no pooler: time SupCL-Seq on [CLS] instead (same cost, minus one dense layer).
        cfg = compose_cfg([f"method={method}", *overrides, *extra, "method.pooling=cls"])
        variant = framework_variant(name or method, cfg, m_splits, vocab, device, times_loss, fused_adamw)
    return variant, m_splits


def batches_for(variant: Variant, rounds: int, device: torch.device) -> list[dict]:
    """`rounds` consecutive slices of the variant's training rows, a stage batch each, collated by
    its stage's collator and moved to the device before any timing."""
    rows, b = variant.rows, variant.originals
    return [{k: v.to(device) for k, v in variant.collator([rows[(r * b + j) % len(rows)] for j in range(b)]).items()}
            for r in range(rounds)]


def repeated(times: int) -> Callable[[dict], dict]:
    """The batch stacked `times` times: CE then processes as many sequences as a method that runs
    `times` dropout passes over it."""
    return lambda b: {k: torch.cat([v] * times) for k, v in b.items()}

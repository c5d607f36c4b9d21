"""The training loop: plain PyTorch, one file, read top to bottom.

For every stage of the objective: AdamW (decoupled weight decay, none on bias/LayerNorm), linear
schedule, autocast + grad scaler for fp16, gradient clipping per network, evaluation of validation
and test after every epoch (or every `method.eval_every` steps), best-epoch selection on validation,
an atomic checkpoint at every epoch end that followed an evaluation. Rerunning an interrupted run
resumes from that checkpoint.

The budget of an evaluated stage (docs/protocols.md#budgets-and-early-stopping): `method.epochs`
epochs, or `method.max_steps` optimiser steps; with `method.patience` the stage stops after that many
evaluations without a strictly better validation selection metric, and `epochs` / `max_steps` is the
maximum. The linear schedule always spans the maximum. Test metrics are read at the selected
evaluation either way.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from lcl_repro.data.features import Collator, train_batches
from lcl_repro.errors import ConfigError, NonFiniteLossError
from lcl_repro.eval import metrics
from lcl_repro.eval.predict import Predictions, predict
from lcl_repro.methods.base import Objective, Stage
from lcl_repro.track.files import atomic_write, write_json
from lcl_repro.train import checkpoint
from lcl_repro.train.hardware import autocast, grad_scaler
from lcl_repro.train.seed import rng_state, set_rng_state


@dataclass
class Splits:
    """Tokenised rows of each split plus what evaluation needs to know about them."""

    train: list[dict]
    validation: list[dict]
    test: list[dict]
    test_uids: list[str]
    task: str
    num_labels: int
    metric_names: list[str]
    selection_metric: str
    pad_id: int
    train_uids: list[str] = field(default_factory=list)  # names the rows of a failing batch


@dataclass
class LoopState:
    stage: int = 0
    epoch: int = 0  # next epoch to run within `stage`
    step: int = 0  # optimisation steps taken over all stages
    best: dict = field(default_factory=dict)  # {"epoch", "validation": {...}, "test": {...}}
    curves: list[dict] = field(default_factory=list)  # one row per evaluation (per finished epoch by default)
    stage_step: int = 0  # optimisation steps taken in `stage`
    stale: int = 0  # evaluations since the best one (early stopping)
    pending: dict = field(default_factory=dict)  # train-loss sums since the last curve row (step budgets)


@dataclass(frozen=True)
class Budget:
    """How long an evaluated stage trains (docs/protocols.md#budgets-and-early-stopping)."""

    epochs: int  # epochs to run at most
    schedule_steps: int  # the optimisation steps the linear schedule spans
    max_steps: int | None = None  # stop after this many steps (step budgets)
    eval_every: int | None = None  # evaluate every k steps; None: at each epoch end
    patience: int | None = None  # stop after this many evaluations without improvement

    @classmethod
    def of(cls, stage: Stage, rows: int, method, drop_last: bool) -> "Budget":
        # The epoch schedule counts the dropped last batch too (LCL authors' code).
        per_epoch = math.ceil(rows / stage.batch_size)
        if not stage.evaluate:  # a stage without evaluation (SupCL-Seq's contrastive stage) keeps its epochs
            return cls(stage.epochs, per_epoch * stage.epochs)
        patience = method.get("patience")
        max_steps = method.get("max_steps")
        if max_steps is None:
            return cls(stage.epochs, per_epoch * stage.epochs, patience=patience)
        taken = rows // stage.batch_size if drop_last else per_epoch
        if taken < 1:
            raise ConfigError(f"method.max_steps={max_steps}: the training split ({rows} rows) holds no full batch "
                              f"of {stage.batch_size} with method.drop_last=true")
        return cls(math.ceil(max_steps / taken), max_steps, max_steps, method.get("eval_every"), patience)


def check_trains(objective: Objective, splits: Splits, drop_last: bool) -> None:
    """A run must train: refuse, before anything is written, a stage whose epoch would take no
    optimizer step (a training split smaller than one batch with drop_last), instead of recording
    an untrained model as finished."""
    rows = len(splits.train)
    for stage in objective.stages():
        if rows == 0 or (drop_last and rows < stage.batch_size):
            raise ConfigError(f"the training split has {rows} example(s), fewer than one batch of {stage.batch_size} "
                              f"(stage {stage.name}) with method.drop_last={str(drop_last).lower()}: no optimizer step "
                              f"would be taken; lower method.batch_size, set method.drop_last=false or train on more data")


def no_decay(name: str) -> bool:
    return "bias" in name or "LayerNorm.weight" in name or "layer_norm.weight" in name


def make_optimizer(objective: Objective, stage: Stage, cfg, fused: bool = False) -> torch.optim.AdamW:
    trainable = {id(p) for m in stage.modules for p in m.parameters()}
    named = [(n, p) for n, p in objective.named_parameters() if id(p) in trainable]
    groups = [{"params": [p for n, p in named if not no_decay(n)], "weight_decay": cfg.weight_decay},
              {"params": [p for n, p in named if no_decay(n)], "weight_decay": 0.0}]
    # foreach: torch picks it on CUDA but not on CPU, where the per-tensor loop costs more; the
    # update is bitwise identical (tests/test_performance.py). fused=True (one kernel) is about 3x
    # faster on CPU but rounds differently (~1e-7 of a weight per step): never a silent default, only
    # the identity-bearing option `hardware.fused_adamw` turns it on (docs/performance.md#fused-adamw).
    kind = {"fused": True} if fused else {"foreach": True}
    return torch.optim.AdamW(groups, lr=stage.lr, betas=tuple(cfg.adam_betas), eps=cfg.adam_eps, **kind)


def freeze_all_but(objective: Objective, modules: list[torch.nn.Module]) -> None:
    objective.requires_grad_(False)
    for m in modules:
        m.requires_grad_(True)


def improved(value: float, best: dict, metric: str) -> bool:
    # Strictly greater, as in the LCL authors' code: ties keep the earlier epoch.
    return not best or value > best["validation"][metric]


class Trainer:
    def __init__(self, objective: Objective, splits: Splits, cfg, run_dir: Path, device: torch.device,
                 tracker, progress: bool, identity: dict | None = None):
        self.objective, self.splits, self.cfg, self.run_dir = objective, splits, cfg, Path(run_dir)
        self.identity = identity or {}  # stored in each checkpoint: resume only into the same run
        self.device, self.tracker, self.progress = device, tracker, progress
        self.precision = cfg.hardware.precision
        regression = splits.task == "regression"
        self.eval_collator = Collator(splits.pad_id, 1, regression)
        self.regression = regression

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, rows: list[dict], desc: str) -> tuple[Predictions, dict[str, float]]:
        preds = predict(self.objective, rows, self.eval_collator, self.cfg.hardware.eval_batch_size,
                        self.device, self.precision, desc, self.progress)
        return preds, metrics.compute(self.splits.metric_names, preds.labels, preds.scores, self.splits.task)

    def save_predictions(self, preds: Predictions, epoch: int) -> None:
        arrays = {"uid": np.array(self.splits.test_uids), "label": preds.labels, "epoch": np.array(epoch),
                  "scores": preds.scores.astype(np.float32)}
        if not self.regression:
            arrays["prediction"] = preds.scores.argmax(-1)
            arrays["probabilities"] = preds.probabilities().astype(np.float32)
        if self.cfg.save_embeddings:
            arrays["embedding"] = preds.embeddings.astype(np.float32)
            anchors = getattr(self.objective, "label_embeddings", None)
            if anchors is not None:  # LaCon: label embeddings live in the embeddings' space (t-SNE anchors)
                arrays["anchors"] = anchors.detach().float().cpu().numpy()
        atomic_write(self.run_dir / "predictions.npz", lambda tmp: np.savez_compressed(open(tmp, "wb"), **arrays))

    # ------------------------------------------------------------------ one optimisation step
    def step(self, stage: Stage, batch: dict, optimizer, scheduler, scaler, state: LoopState, epoch: int) -> dict:
        with autocast(self.device, self.precision):
            out = stage.loss(batch)
        if not torch.isfinite(out.loss):
            self.diagnose(stage, batch, out, state, epoch)
        scaler.scale(out.loss).backward()
        scaler.unscale_(optimizer)
        for group in self.objective.clip_groups():
            params = [p for p in group if p.grad is not None]
            if params:
                torch.nn.utils.clip_grad_norm_(params, self.cfg.method.max_grad_norm)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": out.loss.item(), **{k: v.item() for k, v in out.terms.items()}}

    def diagnose(self, stage, batch, out, state, epoch) -> None:
        rows = list(dict.fromkeys(batch["index"].tolist()))  # views repeat a row: each named once
        uids = [self.splits.train_uids[i] for i in rows] if self.splits.train_uids else []
        # 1-based like the progress lines; values as text so NaN reads "nan", not JSON null.
        info = {"stage": stage.name, "epoch": epoch + 1, "step": state.step + 1, "batch_indices": rows,
                "batch_uids": uids, "loss": str(out.loss.item()), "terms": {k: str(v.item()) for k, v in out.terms.items()}}
        write_json(self.run_dir / "nonfinite_loss.json", info)
        raise NonFiniteLossError(f"non-finite training loss ({out.loss.item()}) at step {state.step + 1} (stage "
                                 f"{stage.name}, epoch {epoch + 1}); no record written; diagnostic in "
                                 f"{self.run_dir / 'nonfinite_loss.json'} (a learning rate far too high is the usual cause)")

    # ------------------------------------------------------------------ stage set-up
    def budget(self, stage: Stage) -> Budget:
        return Budget.of(stage, len(self.splits.train), self.cfg.method, self.cfg.method.drop_last)

    def setup_stage(self, stage: Stage, fused_adamw: bool | None = None) -> tuple[Collator, torch.optim.Optimizer,
                                                                                   object, torch.amp.GradScaler]:
        """Freeze all but the stage's modules; its collator, optimizer, schedule and scaler. `fit` and
        the benchmark (lcl_repro/bench) both start a stage here, so what is timed is what trains;
        `fused_adamw` None follows `hardware.fused_adamw`, the benchmark sets it (see make_optimizer)."""
        if fused_adamw is None:
            fused_adamw = bool(self.cfg.hardware.get("fused_adamw", False))
        freeze_all_but(self.objective, stage.modules)
        collator = Collator(self.splits.pad_id, stage.views, self.regression)
        total = self.budget(stage).schedule_steps
        warmup = stage.warmup_steps or round(stage.warmup_ratio * total)
        optimizer = make_optimizer(self.objective, stage, self.cfg.method, fused_adamw)
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
        return collator, optimizer, scheduler, grad_scaler(self.device, self.precision)

    # ------------------------------------------------------------------ the loop
    def fit(self) -> LoopState:
        state = LoopState()
        saved = checkpoint.load(self.run_dir, self.device)
        if saved is not None:
            state = LoopState(**saved["loop"])
            self.objective.load_state_dict(saved["model"])
        rows = self.splits.train
        for si, stage in enumerate(self.objective.stages()):
            if si < state.stage:
                continue
            budget = self.budget(stage)
            collator, optimizer, scheduler, scaler = self.setup_stage(stage)
            drop_last = self.cfg.method.drop_last
            if saved is not None and si == state.stage:
                optimizer.load_state_dict(saved["optimizer"])
                scheduler.load_state_dict(saved["scheduler"])
                scaler.load_state_dict(saved["scaler"])
                set_rng_state(saved["rng"])
                saved = None
            for epoch in range(state.epoch, budget.epochs):
                evaluations = len(state.curves)
                row = self.train_epoch(stage, rows, collator, optimizer, scheduler, scaler, state, epoch, drop_last,
                                       budget, si)
                if row is not None:  # the epoch is the unit of evaluation
                    if stage.evaluate:
                        row.update(self.evaluate_epoch(state, si, epoch))
                    self.add_row(state, row)
                state.epoch = epoch + 1
                done = epoch + 1 == budget.epochs or self.should_stop(state, budget)
                if done:
                    state.stage, state.epoch, state.stage_step, state.stale, state.pending = si + 1, 0, 0, 0, {}
                if done or len(state.curves) > evaluations:  # an epoch that only trained is replayed on resume
                    checkpoint.save(self.run_dir, {
                        "loop": vars(state), "model": self.objective.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "rng": rng_state(),
                        "wandb_id": self.tracker.run_id or "", "identity": self.identity})
                if done:
                    break
        return state

    @staticmethod
    def should_stop(state: LoopState, budget: Budget) -> bool:
        if budget.max_steps is not None and state.stage_step >= budget.max_steps:
            return True
        return budget.patience is not None and state.stale >= budget.patience

    def add_row(self, state: LoopState, row: dict) -> None:
        state.curves.append(row)
        self.tracker.log_epoch(row, state.step)
        self.report(row)

    def train_epoch(self, stage, rows, collator, optimizer, scheduler, scaler, state, epoch, drop_last,
                    budget: Budget | None = None, si: int = 0) -> dict | None:
        """One epoch. Under an epoch budget, returns its curve row (train-loss means; the caller adds the
        evaluation). Under a step budget, evaluates where the budget says, adds those rows itself, stops
        at the step limit or when patience runs out, and returns None."""
        budget = budget or Budget(stage.epochs, 0)
        by_steps = budget.max_steps is not None
        self.objective.train()
        sums: dict[str, float] = dict(state.pending.get("sums", {})) if by_steps else {}
        n = state.pending.get("n", 0) if by_steps else 0
        seconds = state.pending.get("seconds", 0.0) if by_steps else 0.0
        taken = 0
        started = time.perf_counter()
        batches = list(train_batches(rows, stage.batch_size, self.cfg.seed, epoch + 1000 * state.stage, drop_last))
        total = f"/{budget.max_steps} steps" if by_steps else f"/{stage.epochs}"
        bar = tqdm(batches, desc=f"{stage.name} epoch {epoch + 1}{total}", disable=not self.progress, leave=False)
        for idx in bar:
            batch = {k: v.to(self.device) for k, v in collator([rows[i] for i in idx]).items()}
            values = self.step(stage, batch, optimizer, scheduler, scaler, state, epoch)
            state.step += 1
            state.stage_step += 1
            n += 1
            taken += 1
            for k, v in values.items():
                sums[k] = sums.get(k, 0.0) + v
            lr = scheduler.get_last_lr()[0]
            bar.set_postfix(loss=f"{values['loss']:.4f}")
            if not by_steps and not self.progress and n % max(1, len(batches) // 10) == 0:
                # Without a terminal (batch jobs, CI): a plain line every 10 % of the epoch.
                rate = n / (time.perf_counter() - started)
                print(f"  [{stage.name} epoch {epoch + 1}] step {n}/{len(batches)} loss={values['loss']:.4f} "
                      f"lr={lr:.2e} {rate:.2f} it/s", flush=True)
            self.tracker.log_step({**{f"train/{k}": v for k, v in values.items()}, "train/lr": lr}, state.step)
            if by_steps:
                last = state.stage_step >= budget.max_steps
                due = state.stage_step % budget.eval_every == 0 if budget.eval_every else taken == len(batches)
                if due or last:
                    row = {"stage": stage.name, "epoch": epoch + 1, "step": state.stage_step, "steps": n,
                           "seconds": round(seconds + time.perf_counter() - started, 3),
                           **{f"train_{k}": v / n for k, v in sums.items()}}
                    if stage.evaluate:
                        row.update(self.evaluate_epoch(state, si, epoch))
                    self.add_row(state, row)
                    self.objective.train()
                    sums, n, seconds, started = {}, 0, 0.0, time.perf_counter()
                if last or self.should_stop(state, budget):
                    break
        if by_steps:
            state.pending = {"sums": sums, "n": n, "seconds": seconds + time.perf_counter() - started}
            return None
        if drop_last and len(rows) % stage.batch_size:
            scheduler.step()  # the skipped partial batch still advances the schedule (authors' code)
        row = {"stage": stage.name, "epoch": epoch + 1, "steps": n,
               "seconds": round(time.perf_counter() - started, 3)}
        row.update({f"train_{k}": v / max(n, 1) for k, v in sums.items()})
        return row

    def evaluate_epoch(self, state: LoopState, si: int, epoch: int) -> dict:
        val_preds, val = self.evaluate(self.splits.validation, "validation")
        test_preds, test = self.evaluate(self.splits.test, "test")
        metric = self.splits.selection_metric
        if self.cfg.method.selection == "last_epoch" or improved(val[metric], state.best, metric):
            state.stale = 0
            state.best = {"stage": si, "epoch": epoch + 1, "validation": val, "test": test}
            if self.cfg.method.get("max_steps") is not None:
                state.best["step"] = state.stage_step
            if not self.regression:
                state.best["test_per_class_f1"] = metrics.per_class_f1(test_preds.labels, test_preds.scores,
                                                                       self.splits.num_labels)
            self.save_predictions(test_preds, epoch + 1)
        else:
            state.stale += 1
        return {**{f"validation_{k}": v for k, v in val.items()}, **{f"test_{k}": v for k, v in test.items()}}

    def report(self, row: dict) -> None:
        shown = {k: v for k, v in row.items() if k.startswith(("train_loss", "validation_", "test_"))}
        text = " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in shown.items())
        where = f"epoch {row['epoch']}" + (f" step {row['step']}" if "step" in row else "")
        print(f"[{row['stage']} {where}] {text}", flush=True)

"""Experiment trackers. The run folder is the source of truth; W&B is a viewer that must never stop
training: any W&B failure is a warning and logging falls back to offline, then to nothing."""
from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path

from omegaconf import OmegaConf

from lcl_repro.track.files import write_text
from lcl_repro.track.secrets import is_secret_name, redacted_argv


class NullTracker:
    run_id: str | None = None

    def log_step(self, values: dict, step: int) -> None: ...

    def log_epoch(self, values: dict, step: int) -> None: ...

    def log_summary(self, values: dict) -> None: ...

    def finish(self, failed: bool = False) -> None: ...


def flat_config(cfg) -> dict:
    """Resolved config flattened to dotted keys (W&B shows nested dicts as one blob), secrets removed."""
    out: dict = {}

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif not is_secret_name(prefix):
            out[prefix] = node

    walk("", OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    return out


WANDB_ENV_MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
                   "disabled": "disabled"}


def wandb_mode(requested: str) -> str:
    """`auto`: what the environment asks for (WANDB_MODE, WANDB_DISABLED), else online when a key is
    configured. The mode we pass to wandb.init overrides its environment, so auto must read it here."""
    if requested != "auto":
        return requested
    env = WANDB_ENV_MODES.get(os.environ.get("WANDB_MODE", "").strip().lower())
    if env:
        return env
    if os.environ.get("WANDB_DISABLED", "").strip().lower() in ("true", "1", "yes"):
        return "disabled"
    if os.environ.get("WANDB_API_KEY") or (Path.home() / ".netrc").exists() and "api.wandb.ai" in (Path.home() / ".netrc").read_text():
        return "online"
    return "offline"


class WandbTracker(NullTracker):
    """One W&B run per training run, grouped by dataset/method/encoder so seeds aggregate; the id is
    stored in the run folder so a resumed run continues the same W&B run."""

    def __init__(self, cfg, run_dir: Path):
        import wandb

        self.wandb, self.every = wandb, cfg.logger.log_every
        id_file = Path(run_dir) / "wandb_id"
        run_id = id_file.read_text().strip() if id_file.exists() else uuid.uuid4().hex[:12]
        write_text(id_file, run_id)
        kwargs = dict(project=cfg.logger.project, entity=cfg.logger.entity, id=run_id, resume="allow",
                      group=cfg.logger.group or f"{cfg.dataset.name}/{cfg.method.name}/{cfg.encoder.name}", job_type=cfg.method.name,
                      name=f"{cfg.dataset.name}-{cfg.method.name}-{cfg.encoder.name}-seed{cfg.seed}",
                      tags=list(cfg.logger.tags), config=flat_config(cfg),
                      dir=str(Path(cfg.output_root).resolve()), reinit="finish_previous")
        mode = wandb_mode(cfg.logger.mode)
        try:
            with redacted_argv():  # W&B stores the command line in the run's metadata
                self.run = wandb.init(mode=mode, **kwargs)
        except Exception as err:  # network, auth, quota: never fatal
            warnings.warn(f"W&B {mode} init failed ({err}); logging offline instead")
            with redacted_argv():
                self.run = wandb.init(mode="offline", **kwargs)
        self.run_id = run_id

    def _log(self, values: dict, step: int) -> None:
        try:
            self.run.log(values, step=step)
        except Exception as err:
            warnings.warn(f"W&B log failed ({err}); continuing without it")

    def log_step(self, values: dict, step: int) -> None:
        if step % self.every == 0:
            self._log(values, step)

    def log_epoch(self, values: dict, step: int) -> None:
        self._log({f"epoch/{k}": v for k, v in values.items() if isinstance(v, (int, float))}, step)

    def log_summary(self, values: dict) -> None:
        try:
            self.run.summary.update(values)
        except Exception as err:
            warnings.warn(f"W&B summary failed ({err})")

    def finish(self, failed: bool = False) -> None:
        try:
            self.run.finish(exit_code=1 if failed else 0)
        except Exception as err:
            warnings.warn(f"W&B finish failed ({err})")


def make_tracker(cfg, run_dir: Path) -> NullTracker:
    if cfg.logger.name == "none" or cfg.logger.mode == "disabled":
        return NullTracker()
    try:
        return WandbTracker(cfg, run_dir)
    except Exception as err:
        warnings.warn(f"W&B unavailable ({err}); training without a tracker")
        return NullTracker()

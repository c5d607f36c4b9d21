"""W&B: offline logging works without a key, never stops training, runs do not leak into each other,
and no secret reaches a record."""
from __future__ import annotations

import json

import pytest

from lcl_repro import pipeline
from lcl_repro.track import logger as tracking
from lcl_repro.track import record
from tests.conftest import compose_config, needs_data

pytestmark = needs_data


def cfg_for(tiny_overrides, *extra):
    return compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "method.epochs=1", *extra])


@pytest.mark.slow
def test_offline_wandb_run_per_training_run(tiny_overrides, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    ids = []
    for seed in (0, 1):
        cfg = cfg_for(tiny_overrides, "logger=wandb", "logger.mode=offline", f"seed={seed}")
        pipeline.run(cfg)
        ids.append((record.run_dir(cfg) / "wandb_id").read_text())
    assert ids[0] != ids[1]  # one W&B run per job: nothing leaks between runs of one process
    offline = list((record.run_dir(cfg).parents[4] / "wandb").glob("offline-run-*"))
    assert len(offline) == 2 and all(any(ids[i] in p.name for p in offline) for i in (0, 1))


@pytest.mark.slow
def test_wandb_failure_never_stops_training(tiny_overrides, monkeypatch):
    import wandb

    def broken_init(*args, **kwargs):
        raise RuntimeError("network down")

    monkeypatch.setattr(wandb, "init", broken_init)
    with pytest.warns(UserWarning, match="W&B"):
        result = pipeline.run(cfg_for(tiny_overrides, "logger=wandb", "logger.mode=online"))
    assert result["test"]["accuracy"] >= 0


def test_flat_config_drops_secrets(tiny_overrides):
    cfg = cfg_for(tiny_overrides, "logger=wandb", "+logger_api_key=abc123")
    flat = tracking.flat_config(cfg)
    assert "method.lr" in flat and not any("abc123" == v for v in flat.values())


@pytest.mark.slow
def test_record_holds_no_secret(tiny_overrides, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "secret-key-123")
    cfg = cfg_for(tiny_overrides)
    pipeline.run(cfg)
    folder = record.run_dir(cfg)
    for name in ("config.yaml", "metrics.json", "environment.json"):
        assert "secret-key-123" not in (folder / name).read_text()
    assert json.loads((folder / "environment.json").read_text())["packages"]["wandb"]

"""End-to-end runs on real data slices: every method trains, records are complete and honest,
finished runs are skipped, interrupted runs resume to the same numbers, reruns are deterministic."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
import yaml

from lcl_repro import pipeline
from lcl_repro.track import record
from lcl_repro.train import checkpoint
from lcl_repro.train.hardware import cpu_supports_bf16
from tests.conftest import compose_config, needs_data

pytestmark = needs_data
METHODS = ["ce", "scl", "lcl", "lacon", "lacon_fusion", "supcl_seq", "ce_cl"]
SMALL = {"supcl_seq": ["method.batch_size=8", "method.probe_batch_size=8", "method.probe_epochs=1",
                       "method.probe_warmup_steps=0"],
         "lacon": ["method.heads=4"], "lacon_fusion": ["method.heads=4"]}


def run_method(method, tiny_overrides, extra=()):
    cfg = compose_config([f"method={method}", "dataset=emoint", *tiny_overrides, *SMALL.get(method, []), *extra])
    return cfg, pipeline.run(cfg)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.slow
def test_every_method_runs_and_records(method, tiny_overrides):
    cfg, result = run_method(method, tiny_overrides)
    folder = record.run_dir(cfg)
    assert result["run_dir"] == str(folder)
    for name in ("config.yaml", "metrics.json", "environment.json", "predictions.npz", "DONE"):
        assert (folder / name).is_file(), name
    assert not (folder / "checkpoint").exists()  # pruned after a finished run
    stored = json.loads((folder / "metrics.json").read_text())
    assert stored["test"] == result["test"] and set(stored["test"]) == {"accuracy", "f1_weighted", "f1_macro"}
    assert 0 <= stored["test"]["accuracy"] <= 100
    evaluated = [row for row in stored["curves"] if "validation_accuracy" in row]
    assert len(evaluated) == (1 if method == "supcl_seq" else 2)
    best = max(evaluated, key=lambda r: r["validation_accuracy"])
    if method != "supcl_seq":  # SupCL-Seq keeps the final probe epoch (released notebook)
        assert stored["test"]["accuracy"] == best["test_accuracy"]
    # The record shows the method's own settings, resolved.
    saved = yaml.safe_load((folder / "config.yaml").read_text())
    assert saved["method"]["name"] == method and saved["encoder"]["name"] == "tiny"
    preds = np.load(folder / "predictions.npz", allow_pickle=False)
    assert preds["probabilities"].shape == (24, 4) and np.allclose(preds["probabilities"].sum(1), 1, atol=1e-5)
    assert preds["embedding"].shape[0] == 24 and len(set(preds["uid"])) == 24
    assert np.isclose(100 * (preds["prediction"] == preds["label"]).mean(), stored["test"]["accuracy"])
    env = json.loads((folder / "environment.json").read_text())
    assert env["packages"]["torch"] == torch.__version__ and env["device"] == "cpu"


@pytest.mark.slow
def test_finished_run_is_skipped_and_overwrite_reruns(tiny_overrides, capsys):
    cfg, first = run_method("ce", tiny_overrides)
    done_mtime = os.path.getmtime(record.run_dir(cfg) / "DONE")
    again = pipeline.run(cfg)
    assert "skip: finished run" in capsys.readouterr().out and again["test"] == first["test"]
    assert os.path.getmtime(record.run_dir(cfg) / "DONE") == done_mtime
    cfg2 = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "overwrite=true"])
    assert pipeline.run(cfg2)["test"] == first["test"]  # deterministic on CPU


@pytest.mark.slow
def test_different_settings_in_same_folder_is_an_error(tiny_overrides):
    from lcl_repro.errors import UserError

    run_method("ce", tiny_overrides)
    cfg = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "method.lr=1e-4"])
    with pytest.raises(UserError, match="different settings"):
        pipeline.run(cfg)  # same folder (no CLI overrides given), different fingerprint
    assert "method.lr=0.0001" in str(record.run_dir(cfg, ["method.lr=0.0001"]))


def strip_timing(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "timing"}


@pytest.mark.slow
def test_resume_from_checkpoint_gives_identical_metrics(tiny_overrides, monkeypatch):
    cfg, full = run_method("lcl", tiny_overrides, ["keep_checkpoints=true", "run_tag=full"])
    # Interrupt a second run after its first epoch: the checkpoint survives, no record is written.
    cfg_b = compose_config(["method=lcl", "dataset=emoint", *tiny_overrides, "run_tag=resumed"])
    original = checkpoint.save
    calls = {"n": 0}

    def save_then_die(run_dir, state):
        original(run_dir, state)
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(cfg_b)
    folder = record.run_dir(cfg_b)
    assert (folder / "checkpoint" / "last.pt").exists() and not (folder / "DONE").exists()
    assert not (folder / "metrics.json").exists()
    resumed = pipeline.run(cfg_b)
    assert strip_timing(resumed) | {"run_dir": "", "fingerprint": ""} == strip_timing(full) | {"run_dir": "", "fingerprint": ""}


@pytest.mark.slow
def test_checkpoint_loads_with_weights_only(tiny_overrides):
    cfg, _ = run_method("ce", tiny_overrides, ["keep_checkpoints=true"])
    state = torch.load(checkpoint.path(record.run_dir(cfg)), weights_only=True)
    assert state["loop"]["stage"] == 1 and len(state["loop"]["curves"]) == 2


@pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no bf16 instructions")
@pytest.mark.slow
def test_mixed_precision_code_paths_on_cpu(tiny_overrides):
    """The autocast path of hardware=bf16 / cpu_bf16, exercised on CPU."""
    cfg, result = run_method("lcl", tiny_overrides, ["hardware=cpu", "hardware.precision=bf16", "method.epochs=1"])
    assert all(np.isfinite(v) for v in result["test"].values())
    assert all(np.isfinite(row["train_loss"]) and row["train_loss"] > 0 for row in result["curves"])


def test_fp16_on_a_cpu_is_refused_before_any_work(tiny_overrides):
    """fp16 autocast (and its grad scaler) is a CUDA path: on a CPU the run stops with the way out."""
    from lcl_repro.errors import ConfigError

    cfg = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "hardware=cpu", "hardware.precision=fp16"])
    with pytest.raises(ConfigError, match="needs CUDA; on a CPU use hardware=cpu or hardware=cpu_bf16"):
        pipeline.run(cfg)
    assert not record.run_dir(cfg).exists()


@pytest.mark.slow
def test_token_cache_is_keyed_by_data_tokenizer_and_length(tiny_overrides):
    from lcl_repro.pipeline import prepare_data

    cfg = compose_config(["method=ce", "dataset=emoint", *tiny_overrides])
    _, facts_a, _ = prepare_data(cfg, progress=False)
    _, facts_b, _ = prepare_data(cfg, progress=False)
    assert facts_a["feature_cache"] == facts_b["feature_cache"]
    cache = sorted(p.name for p in (record.Path(cfg.cache_dir) / "features").iterdir())
    assert len(cache) == 1
    shorter = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "dataset.max_length=16"])
    other_limit = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "dataset.limit.train=40"])
    keys = {prepare_data(c, progress=False)[1]["feature_cache"] for c in (shorter, other_limit)}
    assert len(keys | {facts_a["feature_cache"]}) == 3


def test_hub_encoder_offline_fails_fast_with_a_hint(tiny_overrides, monkeypatch):
    """Offline, a hub encoder fails before any work: no connection is tried (retries against an
    unreachable hub are what made it slow), nothing is tokenized and no run folder is left."""
    import socket

    from lcl_repro.errors import EncoderError

    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError("the test refuses network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    cfg = compose_config(["method=ce", "dataset=emoint", *[o for o in tiny_overrides if o != "encoder=tiny"],
                          "encoder=electra_base"])
    with pytest.raises(EncoderError, match="encoder=minilm"):
        pipeline.run(cfg)
    assert attempts == []
    assert not (record.Path(cfg.cache_dir) / "features").exists() and not record.run_dir(cfg).exists()

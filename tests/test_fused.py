"""`hardware.fused_adamw`: the fused AdamW update as an option that is part of a run's identity.

Off (the default), every run keeps the fingerprint and folder it had before the option existed
(tests/test_identity_pins.py pins them); on, a run gets a fingerprint and a folder of its own,
whether the option came from the command line or from a hardware profile, and trains with
`torch.optim.AdamW(fused=True)`.
"""
from __future__ import annotations

import json

import pytest
import torch
from omegaconf import open_dict

from lcl_repro import pipeline
from lcl_repro.track.record import fingerprint, identity, read_done, run_dir
from tests.conftest import compose_config, needs_data

BASE = ["method=ce", "dataset=emoint"]


@pytest.mark.parametrize("hardware", ["cpu", "cpu_bf16", "t4_fp16"])
def test_off_keeps_every_fingerprint_and_folder(hardware):
    default = compose_config([*BASE, f"hardware={hardware}"])
    off = compose_config([*BASE, f"hardware={hardware}", "hardware.fused_adamw=false"])
    assert default.hardware.fused_adamw is False
    assert "fused_adamw" not in identity(default)["hardware"]
    assert fingerprint(off) == fingerprint(default)
    assert run_dir(off) == run_dir(default)


def test_on_is_another_run_in_another_folder():
    off = compose_config([*BASE, "hardware=cpu_bf16"])
    overrides = ["hardware=cpu_bf16", "hardware.fused_adamw=true"]
    on = compose_config([*BASE, *overrides])
    assert identity(on)["hardware"]["fused_adamw"] is True
    assert fingerprint(on) != fingerprint(off)
    folder = run_dir(on, overrides)
    assert folder.parent.name == "hardware.fused_adamw=true,hardware.precision=bf16"
    assert run_dir(off, ["hardware=cpu_bf16"]).parent.name == "hardware.precision=bf16"
    # A profile that turns it on (no override on the command line) lands in the same folder.
    profile = compose_config([*BASE, "hardware=cpu_bf16"])
    with open_dict(profile):
        profile.hardware.fused_adamw = True
    assert run_dir(profile) == folder and fingerprint(profile) == fingerprint(on)
    # The shipped profile is that run, under a shorter name.
    shipped = compose_config([*BASE, "hardware=cpu_bf16_fused"])
    assert shipped.hardware.precision == "bf16" and shipped.hardware.fused_adamw is True
    assert fingerprint(shipped) == fingerprint(on)
    assert run_dir(shipped, ["hardware=cpu_bf16_fused"]) == folder


@needs_data
def test_a_run_with_the_option_trains_with_the_fused_update(tiny_overrides, monkeypatch):
    """End to end: the option reaches the optimizer, the run finishes in its own folder with its own
    fingerprint, and its numbers are finite and close to the default update's (it rounds differently)."""
    made = []
    original = torch.optim.AdamW

    def recording_adamw(*args, **kwargs):
        made.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", recording_adamw)
    results, folders = {}, {}
    for setting in ("false", "true"):
        overrides = [f"hardware.fused_adamw={setting}"]
        cfg = compose_config([*BASE, *tiny_overrides, "method.lr=1e-3", *overrides])
        results[setting] = pipeline.run(cfg, overrides)
        folders[setting] = run_dir(cfg, overrides)
    assert [kw.get("fused") for kw in made] == [None, True]
    assert [kw.get("foreach") for kw in made] == [True, None]
    assert folders["false"].parent.name == "tiny"  # the default update: the folder runs always had
    assert folders["true"].parent.name == "hardware.fused_adamw=true"
    done = {k: read_done(v) for k, v in folders.items()}
    assert done["true"]["fingerprint"] != done["false"]["fingerprint"]
    stored = json.loads((folders["true"] / "metrics.json").read_text())
    assert stored["test"] == results["true"]["test"]
    for name, value in results["true"]["test"].items():
        assert value == pytest.approx(results["false"]["test"][name], abs=0.05), name


def test_parity_script_compares_fused_runs_with_the_default_update(tmp_path):
    """scripts/parity.py --compare fused_adamw: bf16 runs with the fused update (a multirun spells the
    value True) against bf16 runs under another root; a mean difference beyond 0.5 points fails."""
    import subprocess
    import sys

    from tests.conftest import REPO

    def run(root, variant, seed, accuracy):
        folder = root / "runs" / "emoint" / "ce" / "minilm" / variant / f"seed{seed}"
        folder.mkdir(parents=True)
        metrics = {"test": {"accuracy": accuracy, "f1_weighted": accuracy}, "curves": [{"train_loss": 1.0}],
                   "timing": {"epoch_seconds": [60.0]}}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        (folder / "DONE").write_text("{}")

    for seed, (base, fused) in enumerate([(80.0, 80.2), (81.0, 80.9), (82.0, 82.3)]):
        run(tmp_path / "base", "hardware.precision=bf16,method.epochs=3", seed, base)
        run(tmp_path / "new", "hardware.fused_adamw=True,hardware.precision=bf16,method.epochs=3", seed, fused)
    command = [sys.executable, str(REPO / "scripts" / "parity.py"), "--compare", "fused_adamw", "--methods", "ce",
               "--root", str(tmp_path / "new"), "--baseline-root", str(tmp_path / "base")]
    ok = subprocess.run(command, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ce: mean fused − bf16 over 3 seed(s): accuracy +0.13, f1_weighted +0.13 -> within ±0.5" in ok.stdout
    strict = subprocess.run([*command, "--tolerance", "0.1"], capture_output=True, text=True)
    assert strict.returncode == 1 and "OUTSIDE ±0.1" in strict.stdout

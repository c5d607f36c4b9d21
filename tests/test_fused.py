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

"""Speed-ups keep results identical, and the benchmark (lcl_repro/bench) measures what it says."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

from lcl_repro import pipeline
from lcl_repro.bench import device as bench_device
from lcl_repro.bench import report as bench_report
from lcl_repro.bench.run import run_benchmark
from lcl_repro.methods import build_objective
from lcl_repro.pipeline import prepare_data
from lcl_repro.train.hardware import cpu_supports_bf16
from lcl_repro.train.loop import LoopState, Trainer
from lcl_repro.train.seed import seed_everything
from tests.conftest import REPO, compose_config, needs_data

SINGLE_TENSOR_ADAMW = torch.optim.AdamW


def single_tensor_adamw(*args, **kwargs):
    """The optimizer before the change: torch's CPU default, one tensor at a time."""
    return SINGLE_TENSOR_ADAMW(*args, **{**kwargs, "foreach": False})


def train_steps(method: str, tiny_overrides, steps: int = 6) -> list[torch.Tensor]:
    cfg = compose_config([f"method={method}", "dataset=emoint", *tiny_overrides, "method.lr=1e-3"])
    splits, _, vocab = prepare_data(cfg, progress=False)
    seed_everything(0)
    objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab)
    trainer = Trainer(objective, splits, cfg, "/tmp", torch.device("cpu"), None, False)
    stage = objective.stages()[0]
    collator, optimizer, scheduler, scaler = trainer.setup_stage(stage)
    objective.train()
    for i in range(steps):
        batch = collator(splits.train[8 * i:8 * i + 8])
        trainer.step(stage, batch, optimizer, scheduler, scaler, LoopState(), 0)
    return [p.detach().clone() for p in objective.parameters()]


@needs_data
@pytest.mark.parametrize("method", ["ce", "lcl"])  # lcl: two networks, two clip groups, both param groups
@pytest.mark.slow
def test_foreach_adamw_gives_bitwise_the_same_weights(method, tiny_overrides, monkeypatch):
    new = train_steps(method, tiny_overrides)
    monkeypatch.setattr(torch.optim, "AdamW", single_tensor_adamw)
    old = train_steps(method, tiny_overrides)
    assert len(new) == len(old)
    assert all(torch.equal(a, b) for a, b in zip(new, old))
    assert any(not torch.equal(a, b) for a, b in zip(new, train_steps(method, tiny_overrides, steps=5)))


@needs_data
@pytest.mark.slow
def test_foreach_adamw_gives_the_same_run_metrics(tiny_overrides, monkeypatch):
    cfg = compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "run_tag=new"])
    new = pipeline.run(cfg)
    monkeypatch.setattr(torch.optim, "AdamW", single_tensor_adamw)
    old = pipeline.run(compose_config(["method=ce", "dataset=emoint", *tiny_overrides, "run_tag=old"]))
    assert new["curves"] == old["curves"] and new["test"] == old["test"]
    assert new["curves"][0]["train_loss"] > 0


@pytest.mark.slow
def test_data_preparation_imports_neither_sklearn_nor_the_modelling_stack():
    """Lazy imports keep a warm-cache `prepare_data` under 2 s; importing what it needs must not
    pull scikit-learn, scipy or transformers' model classes (about 1.5 s together)."""
    code = ("import sys, lcl_repro.pipeline, lcl_repro.data, lcl_repro.data.features, lcl_repro.models.encoder, "
            "lcl_repro.train.loop; from transformers import AutoTokenizer; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'transformers.modeling_utils') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().replace("'", '"')) == []


# --------------------------------------------------------------------------- the benchmark itself
def test_peak_flops_and_mfu():
    bench = bench_device
    assert bench.peak_flops("NVIDIA H100 80GB HBM3", "bf16") == 989e12
    assert bench.peak_flops("NVIDIA H100 PCIe", "fp16") == 756e12
    assert bench.peak_flops("NVIDIA H200", "fp32") == 67e12
    assert bench.peak_flops("NVIDIA A100-SXM4-80GB", "bf16") == 312e12
    assert bench.peak_flops("Tesla T4", "fp16") == 65e12
    assert bench.peak_flops("Tesla T4", "bf16") is None  # no bf16 tensor cores
    assert bench.peak_flops("AMD EPYC", "fp32") is None
    assert bench.mfu(6e12, 2.0, 10e12) == pytest.approx(0.3)
    assert bench.mfu(6e12, 2.0, None) is None


def test_non_embedding_params_skip_lookup_tables():
    bench = bench_device
    model = torch.nn.Sequential(torch.nn.Embedding(100, 8), torch.nn.Linear(8, 4))
    assert bench.non_embedding_params(model) == 8 * 4 + 4


needs_bf16 = pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no bf16 instructions")


@needs_data
@pytest.mark.parametrize("precision", ["fp32", pytest.param("bf16", marks=needs_bf16)])  # bf16: the bare loop's autocast too
@pytest.mark.slow
def test_benchmark_runs_and_reports_every_goal(precision, tiny_overrides, tmp_path):
    result = run_benchmark([*tiny_overrides, f"hardware.precision={precision}"], ["scl", "ce_cl"], steps=2,
                           warmup=1, eval_sentences=8, eval_repeats=1, with_data_prep=False, with_grid=False)
    ce = result["groups"]["ce_vs_bare"]["variants"]
    assert ce["ce"]["step_s"]["n"] == ce["bare"]["step_s"]["n"] == 2
    assert ce["ce"]["sequences_per_step"] == 8
    assert result["groups"]["ce_cl"]["variants"]["ce"]["sequences_per_step"] == 16  # the batch twice
    assert result["groups"]["scl"]["variants"]["scl"]["loss_share"] > 0  # timings: only their presence is stable
    # FLOPs: 6 x non-embedding params x tokens; CE+CL runs its encoder twice over the batch.
    ce_cl = result["groups"]["ce_cl"]["variants"]
    assert ce_cl["ce_cl"]["flops_per_step"] == ce_cl["ce"]["flops_per_step"] > 0
    assert ce_cl["ce_cl"]["encoder_passes"] == 2 and ce_cl["ce"]["encoder_passes"] == 1
    assert ce_cl["ce"]["mfu"] is None  # no GPU: n/a
    assert result["evaluation"]["sentences"] == 8 and result["evaluation"]["speedup"] > 0
    assert set(result["ratios"]) == {"ce_vs_bare", "scl", "ce_cl"}
    assert set(result["rates"]["train"][precision]) == {"ce", "scl", "ce_cl"}  # what the cost plan reads
    rows = bench_report.goal_rows(result)
    assert [r[-1] in ("PASS", "MISS", "-") for r in rows] == [True] * len(rows)
    assert "CE step: framework / bare PyTorch loop" in bench_report.report(result)


@needs_data
@needs_bf16
@pytest.mark.slow
def test_benchmark_times_bf16_against_fp32_from_the_same_weights(tiny_overrides):
    """One bf16/fp32 pair per method, on the same batches; evaluation at both precisions against
    the fp32 one-sentence reference, with the goal on the bf16 path."""
    result = run_benchmark(tiny_overrides, [], steps=2, warmup=1, eval_sentences=8, eval_repeats=1,
                           with_data_prep=False, with_grid=False, precision_methods=["ce", "lcl"])
    pair = result["groups"]["precision_lcl"]["variants"]
    assert set(pair) == {"fp32", "bf16", "bf16+fused_adamw"}  # hardware.fused_adamw=true beside them
    assert pair["fp32"]["sequences_per_step"] == pair["bf16"]["sequences_per_step"] == 16
    assert pair["bf16"]["encoder_passes"] == 2  # two encoders
    assert set(result["ratios"]) == {"ce_vs_bare", "precision_ce", "precision_lcl", "precision_ce:bf16+fused_adamw",
                                     "precision_lcl:bf16+fused_adamw"}
    # the cost plan's rates: each precision, and bf16 with the fused update (hardware.fused_adamw=true) for CE and LCL
    assert set(result["rates"]["train"]) == {"fp32", "bf16", "bf16+fused_adamw"}
    assert set(result["rates"]["train"]["bf16+fused_adamw"]) == {"ce", "lcl"}
    assert set(result["rates"]["eval"]) == {"fp32", "bf16"}
    assert result["rates"]["train_padded"].keys() == result["rates"]["train"].keys()  # padded tokens: the plan's unit
    assert set(result["evaluation"]["paths"]) == {"batched_fp32", "single_fp32", "batched_bf16", "single_bf16"}
    rows = {r[0]: r for r in bench_report.goal_rows(result)}
    assert rows["CE step: bf16 / fp32, 8 seq/step"][2] == "<= 0.55"
    assert rows["CE step: bf16 + fused AdamW (hardware.fused_adamw=true) / fp32"][2:] == ("-", "-")
    assert rows["LCL step: bf16 / fp32, 16 seq/step"][2] == "<= 0.55"
    assert rows["evaluation: batched bf16 / one fp32 sentence per pass (8 sent.)"][2] == ">= 5x"
    assert rows["evaluation: batched fp32 / one fp32 sentence per pass (8 sent.)"][2] == "-"


# --------------------------------------------------------------------------- SST trees without nltk
SST_LINES = ["(3 (2 a) (2 b))", "(3 junk (2 a) (2 b))", "(3 (2 a) b)", "(3 (2 a) (2 b)) (2 c)",
             "(3 (2 a) (2 b)) junk", "(3 (2 a) (2 b) (2 c))", "(3 (2 (2 a)))", "( 3 (2 a) (2 b))", "(2 a)",
             "(3 (2 a) (2 b)", "(3 (2 a) (2 b)))", "(4 (2 -LRB-) (3 (2 it) (2 's)))"]


def nltk_root_and_leaves(raw: str):
    from nltk import Tree

    try:
        tree = Tree.fromstring(raw)
    except ValueError:
        return "ValueError"
    return tree.label(), tree.leaves()


def fast_root_and_leaves(raw: str):
    from lcl_repro.data.formats.sst import sst_root_and_leaves

    try:
        return sst_root_and_leaves(raw)
    except ValueError:
        return "ValueError"


@pytest.mark.parametrize("raw", SST_LINES)
def test_sst_reader_reads_trees_exactly_as_nltk(raw):
    assert fast_root_and_leaves(raw) == nltk_root_and_leaves(raw)


@needs_data
def test_sst_reader_equals_nltk_on_every_line_of_sst():
    from tests.conftest import DATA

    files = [DATA / "sst" / "trees" / f"{name}.txt" for name in ("train", "dev", "test")]
    per_file = {f.stem: [line for line in f.read_text(encoding="utf-8").splitlines() if line.strip()] for f in files}
    # Every tree is compared: each file holds the sentence count its row in docs/datasets.md gives.
    documented = {name: int(count.replace(",", "")) for name, count in re.findall(
        r"^\| `sst/trees/(\w+)\.txt` \| ([\d,]+) \|", (REPO / "docs" / "datasets.md").read_text(encoding="utf-8"), re.M)}
    assert {name: len(rows) for name, rows in per_file.items()} == documented
    lines = [line for rows in per_file.values() for line in rows]
    assert [fast_root_and_leaves(x) for x in lines] == [nltk_root_and_leaves(x) for x in lines]


@needs_data
@pytest.mark.slow
def test_benchmark_runs_an_electra_shaped_encoder_without_a_pooler(tiny_overrides):
    """The GPU benchmark's encoder=electra_base_random path, at tiny size on CPU: ELECTRA has no
    pooler, so SupCL-Seq is timed on [CLS]; MFU is n/a without a GPU's peak."""
    overrides = [*tiny_overrides, "encoder.model_id=electra"]
    result = run_benchmark(overrides, ["supcl_seq"], steps=1, warmup=1, eval_sentences=8, eval_repeats=1,
                           with_data_prep=False, with_grid=False)
    supcl = result["groups"]["supcl_seq"]
    assert supcl["dropout_views"] == 3 and supcl["variants"]["supcl_seq"]["sequences_per_step"] == 8
    # Three dropout passes over the batch: three times CE's encoder FLOPs on the same sequences.
    assert supcl["variants"]["supcl_seq"]["flops_per_step"] == 3 * supcl["variants"]["ce"]["flops_per_step"]
    assert supcl["variants"]["ce"]["mfu"] is None


@needs_data
@pytest.mark.slow
def test_retaining_freed_memory_leaves_every_number_unchanged(tmp_path):
    """hardware.retain_freed_memory (glibc mallopt: no mmap, no trimming) only changes where memory
    comes from. Each setting runs in its own process, since mallopt is process-wide; LCL exercises
    two networks and WordNet views."""
    from tests.conftest import DATA

    probe = "from lcl_repro.train.host import retain_freed_memory; print(retain_freed_memory())"
    applied = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert applied.stdout.strip() == str(sys.platform.startswith("linux"))  # glibc took both settings
    metrics = {}
    for setting in ("true", "false"):
        root = tmp_path / setting
        command = [sys.executable, str(REPO / "run.py"), "method=lcl", "dataset=emoint", "encoder=tiny",
                   "dataset.limit.train=40", "dataset.limit.validation=16", "dataset.limit.test=16",
                   "method.epochs=2", "method.batch_size=8", "method.lr=1e-3", "progress=false",
                   f"hardware.retain_freed_memory={setting}", f"data_dir={DATA}", f"output_root={root}",
                   f"cache_dir={tmp_path / 'cache'}"]
        subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True, timeout=300)
        (found,) = root.rglob("metrics.json")
        metrics[setting] = json.loads(found.read_text())
    on, off = metrics["true"], metrics["false"]
    assert on["curves"] == off["curves"] and on["test"] == off["test"] and on["validation"] == off["validation"]
    assert on["curves"][-1]["train_loss"] > 0


@needs_data
def test_fused_adamw_is_only_a_candidate_and_rounds_differently(tiny_overrides):
    """The trainer's default is the foreach update; fused=True (what the benchmark times beside
    bf16) is not bitwise equal to it, which is why it can only ever be an explicit option."""
    cfg = compose_config(["method=ce", "dataset=emoint", *tiny_overrides])
    splits, _, vocab = prepare_data(cfg, progress=False)
    weights = []
    for fused in (False, True):
        seed_everything(0)
        objective = build_objective(cfg.method, cfg.encoder, splits.num_labels, splits.task, vocab)
        trainer = Trainer(objective, splits, cfg, "/tmp", torch.device("cpu"), None, False)
        stage = objective.stages()[0]
        collator, optimizer, scheduler, scaler = trainer.setup_stage(stage, fused_adamw=fused)
        assert optimizer.defaults["fused"] is (True if fused else None) and optimizer.defaults["foreach"] is (None if fused else True)
        objective.train()
        for i in range(3):
            trainer.step(stage, collator(splits.train[8 * i:8 * i + 8]), optimizer, scheduler, scaler, LoopState(), 0)
        weights.append([p.detach().clone() for p in objective.parameters()])
    assert not all(torch.equal(a, b) for a, b in zip(*weights))
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*weights))

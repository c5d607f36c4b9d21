"""Each objective on a real data slice: its loss falls when it overfits one batch, and the pieces
that make the method what it is (two networks, dropout views, label anchors) behave as specified."""
from __future__ import annotations

import pytest
import torch

from lcl_repro.data.features import Collator
from lcl_repro.models.encoder import set_dropout
from lcl_repro.pipeline import prepare_data
from lcl_repro.train.loop import Trainer, LoopState, freeze_all_but, make_optimizer
from tests.conftest import compose_config, needs_data
from tests.helpers import build

pytestmark = needs_data


def overfit(cfg, splits, objective, stage_index=0, steps=60):
    stage = objective.stages()[stage_index]
    stage.lr = 1e-3
    freeze_all_but(objective, stage.modules)
    opt = make_optimizer(objective, stage, cfg.method)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    trainer = Trainer(objective, splits, cfg, "/tmp", torch.device("cpu"), None, False)
    batch = Collator(splits.pad_id, stage.views)(splits.train[:8])
    objective.train()
    losses = [trainer.step(stage, batch, opt, sched, scaler, LoopState(), 0)["loss"] for _ in range(steps)]
    return losses


@pytest.mark.parametrize("method,extra", [
    ("ce", []), ("scl", []), ("scl", ["method.views=2", "method.augmentation=wordnet"]), ("lcl", []),
    ("lacon", ["method.heads=4"]), ("lacon_fusion", ["method.heads=4"]), ("ce_cl", []),
    # tau 0.5: a random tiny encoder starts with near-identical pooled vectors (loss = log(M-1)),
    # which tau 0.05 cannot pull apart within 60 steps.
    ("supcl_seq", ["method.dropout_views=[0.0,0.1]", "method.temperature=0.5"]),
])
@pytest.mark.slow
def test_loss_falls_on_an_overfit_batch(method, extra, tiny_overrides):
    cfg, splits, _, objective = build(method, tiny_overrides, extra)
    losses = overfit(cfg, splits, objective)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0] - 0.2 * abs(losses[0]), losses
    if method == "supcl_seq":  # stage 2: the linear probe on the frozen encoder learns too
        probe = overfit(cfg, splits, objective, stage_index=1)
        assert probe[-1] < probe[0] - 0.2 * abs(probe[0]), probe


@pytest.mark.slow  # LCL augments with WordNet: loading it alone takes ~3 s
def test_lcl_has_two_networks_clipped_separately(tiny_overrides):
    cfg, splits, facts, objective = build("lcl", tiny_overrides)
    primary, weighting = objective.clip_groups()
    assert {id(p) for p in primary}.isdisjoint({id(p) for p in weighting})
    assert len(primary) + len(weighting) == len(list(objective.parameters()))
    # Two-view batches: every original sits next to its WordNet copy with the same label.
    batch = Collator(splits.pad_id, views=2)(splits.train[:4])
    assert batch["input_ids"].shape[0] == 8 and torch.equal(batch["labels"][0::2], batch["labels"][1::2])
    assert facts["augmentation"]["text"]["changed_share"] > 0.5  # most tweets got at least one synonym


@pytest.mark.slow  # WordNet, as above
def test_lcl_on_a_sentence_pair_task_augments_both_sentences(tiny_overrides):
    cfg = compose_config(["method=lcl", "dataset=glue_rte", *tiny_overrides, "dataset.limit.train=16"])
    splits, facts, _ = prepare_data(cfg, progress=False)
    assert set(facts["augmentation"]) == {"text", "text_pair"}
    assert facts["augmentation"]["text_pair"]["changed_share"] > 0.5
    batch = Collator(splits.pad_id, views=2)(splits.train[:4])
    assert (batch["token_type_ids"] == 1).any()  # the pair is encoded as two segments in both views


@pytest.mark.slow  # WordNet, as above
def test_lcl_weighting_network_gets_contrastive_gradient_unless_detached(tiny_overrides):
    for detach in (False, True):
        cfg, splits, _, objective = build("lcl", tiny_overrides, [f"method.detach_weights={detach}", "method.alpha=0.0"])
        objective.train()
        batch = Collator(splits.pad_id, views=2)(splits.train[:4])
        objective.training_loss(batch).loss.backward()
        grad = sum(p.grad.abs().sum() for p in objective.weighting_head.parameters() if p.grad is not None)
        assert (grad == 0) if detach else (grad > 0)  # alpha=0: only L_LCL can reach the weighting net


def dropout_trace(objective, batch, steps=2):
    """The encoder's dropout p at each forward pass of each step."""
    seen: list[float] = []
    original = objective.features

    def spy(b, encoder=None):
        seen.append(objective.encoder.embeddings.dropout.p)
        return original(b, encoder)

    objective.features = spy
    trace = []
    for _ in range(steps):
        seen.clear()
        objective.contrastive_loss(batch)
        trace.append(list(seen))
    return trace


@pytest.mark.parametrize("views,bug,expected", [
    ([0.0, 0.1, 0.2], False, [[0.0, 0.1, 0.2], [0.0, 0.1, 0.2]]),
    ([0.0, 0.1, 0.2], True, [[0.1, 0.0, 0.0, 0.2], [0.1, 0.0, 0.0, 0.2]]),  # released-code schedule, docs/objectives.md#supcl-seq-views
    ([0.0, 0.05, 0.1, 0.2], True, [[0.1, 0.0, 0.05, 0.05, 0.2]] * 2),
    ([0.0, 0.1], True, [[0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]),  # dropout never restored
])
def test_supcl_seq_view_schedule(views, bug, expected, tiny_overrides):
    _, splits, _, objective = build("supcl_seq", tiny_overrides,
                                    [f"method.dropout_views={views}", f"method.bug_compatible={bug}"])
    objective.train()
    batch = Collator(splits.pad_id)(splits.train[:4])
    assert dropout_trace(objective, batch) == expected


def test_dropout_zero_in_train_mode_equals_eval_mode(tiny_overrides):
    """set_dropout reaches every dropout the encoder uses, attention probabilities included."""
    _, splits, _, objective = build("supcl_seq", tiny_overrides)
    batch = Collator(splits.pad_id)(splits.train[:4])
    objective.eval()
    reference = objective.features(batch)
    objective.train()
    set_dropout(objective.encoder, 0.0)
    assert torch.allclose(objective.features(batch), reference, atol=1e-6)
    set_dropout(objective.encoder, 0.5)
    assert not torch.allclose(objective.features(batch), reference, atol=1e-3)


def test_lacon_predicts_by_cosine_to_label_embeddings(tiny_overrides):
    _, splits, _, objective = build("lacon", tiny_overrides, ["method.heads=4"])
    batch = Collator(splits.pad_id)(splits.train[:6])
    scores, h = objective.predict(batch)
    cos = torch.nn.functional.cosine_similarity(h[:, None, :], objective.label_embeddings[None].float(), dim=-1)
    assert torch.allclose(scores * objective.cfg.temperature, cos, atol=1e-5)
    assert scores.shape == (6, 4)

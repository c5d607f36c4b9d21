"""SupCL-Seq with `method.supervised=false` (the self-supervised, SimCSE-style baseline of SupCL-Seq
Table 3): every example is its own class, so an anchor's only positives are its own dropout views."""
from __future__ import annotations

import torch

from lcl_repro.data.features import Collator
from lcl_repro.losses import supcon_loss
from lcl_repro.models.encoder import set_dropout
from tests.conftest import needs_data
from tests.helpers import build

pytestmark = needs_data

VIEWS = [0.1, 0.2]


def loss_and_reference(tiny_overrides, supervised: bool):
    _, splits, _, objective = build("supcl_seq", tiny_overrides,
                                    [f"method.dropout_views={VIEWS}", f"method.supervised={supervised}"])
    objective.train()
    batch = Collator(splits.pad_id)(splits.train[:6])
    torch.manual_seed(0)
    loss = objective.contrastive_loss(batch).loss
    torch.manual_seed(0)  # the same dropout masks, drawn in the same order
    feats = []
    for p in VIEWS:
        set_dropout(objective.encoder, p)
        feats.append(objective.features(batch))
    feats = torch.cat(feats, dim=0)  # view-major, as the objective stacks them
    return loss, feats, batch["labels"], objective.cfg.temperature


def test_self_supervised_loss_uses_each_original_as_its_own_class(tiny_overrides):
    loss, feats, labels, tau = loss_and_reference(tiny_overrides, supervised=False)
    own_ids = torch.arange(len(labels)).repeat(len(VIEWS))  # a view shares its original's id
    assert torch.allclose(loss, supcon_loss(feats, own_ids, tau), atol=1e-6)
    assert len(set(labels.tolist())) < len(labels)  # the batch has same-label pairs ...
    assert not torch.allclose(loss, supcon_loss(feats, labels.repeat(len(VIEWS)), tau), atol=1e-4)  # ... not positives here


def test_supervised_default_keeps_label_positives(tiny_overrides):
    loss, feats, labels, tau = loss_and_reference(tiny_overrides, supervised=True)
    assert torch.allclose(loss, supcon_loss(feats, labels.repeat(len(VIEWS)), tau), atol=1e-6)

"""Run identities are pinned: refactoring the config code must not change a single fingerprint.

Finished runs (committed results, long sweeps) are found by the fingerprint in their `DONE` file;
a fingerprint that moves orphans them. The hex strings below were computed before the config
registries were introduced and must stay as they are. A legitimate identity change (a new key that
changes numbers) updates them in the same commit and says why.
"""
from __future__ import annotations

import json

import pytest

from lcl_repro.track.record import fingerprint, identity
from tests.conftest import compose_config

PINS = [
    (["method=ce", "dataset=emoint"], "45d0c66d0f93d328"),
    (["method=lcl", "dataset=isear"], "d60145488a1800a4"),
    (["method=scl", "dataset=ed", "method.views=2", "method.augmentation=wordnet", "method.drop_last=true"],
     "0f1b61bd2a744e58"),
    (["method=lacon", "dataset=glue_rte"], "1a13310e97a64d8e"),
    (["method=lacon_fusion", "dataset=sst5", "method.heads=1", "method.label_centred_denominator=infonce"],
     "41733a653c4fd700"),
    (["method=supcl_seq", "dataset=glue_cola"], "47a829f42204c334"),
    (["method=supcl_seq", "dataset=glue_stsb", "method.selection=last_epoch"], "cebf2988d21fe1cc"),
    (["method=scl", "dataset=glue_sst2", "dataset.split_protocol=half_dev", "dataset.sampling.few_shot_total=20",
      "seed=3"], "bca4e010d9d0e793"),
    (["method=lacon", "dataset=glue_mrpc", "dataset.sampling.few_shot_k=20",
      "dataset.sampling.few_shot_validation=true"], "6c8e9b9eefcafabf"),
    (["method=ce", "dataset=emoint", "hardware=cpu_bf16"], "993036a3863f946f"),
    (["method=lcl", "dataset=sst2", "scale=smoke"], "f5fa54596648fb9f"),
    (["method=ce_cl", "dataset=goemotions", "method.head=linear", "method.pooling=mean", "logger=wandb"],
     "eaa146b1b4c355ed"),
    (["method=ce", "dataset=ed", "dataset.format=original", "dataset.text_field=first_utterance"],
     "f7643a86e39e3622"),
    (["method=ce", "dataset=emoint", "dataset.skip_first_line=false", "encoder=tiny", "hardware=t4_fp16"],
     "3e20c471dcad0df5"),
    (["method=lcl", "dataset=ed_4hard_a", "method.weight_inside_log=true"], "a54785b9d0370c29"),
]

# Every config option of the groups that shape a run, alone on the defaults (and every per-(method,
# dataset) file): moving a key between schemas or YAML files shows up here, option by option.
OPTION_PINS = {
    "dataset=ed": "3ab1bc8af6754885",
    "dataset=ed_16": "7cbf5e34b165e326",
    "dataset=ed_4easy": "e7f8c0c5463020ae",
    "dataset=ed_4hard_a": "4498d50bebc0c942",
    "dataset=ed_4hard_b": "05d6b98b2da7f6f8",
    "dataset=ed_4hard_c": "7560209d17291c29",
    "dataset=ed_4hard_d": "949c0423998e00e9",
    "dataset=ed_8": "0e81b7617017bdb1",
    "dataset=emoint": "45d0c66d0f93d328",
    "dataset=glue_cola": "4b5a61c1686151fa",
    "dataset=glue_mnli": "5737f7f86cc53f20",
    "dataset=glue_mrpc": "87d5df6729fcf7ca",
    "dataset=glue_qnli": "fe8902ea457d6491",
    "dataset=glue_qqp": "2af41d51ed831189",
    "dataset=glue_rte": "32f16db094068f3a",
    "dataset=glue_sst2": "43980146e052004a",
    "dataset=glue_stsb": "bfc43903c219ab6c",
    "dataset=glue_wnli": "2683035b0399cfd4",
    "dataset=goemotions": "38eef02a347f7a20",
    "dataset=isear": "1ce0b934e6438e82",
    "dataset=sst2": "3b1e5be40855f8a6",
    "dataset=sst5": "086e8023ef675782",
    "method=ce": "45d0c66d0f93d328",
    "method=ce_cl": "59f6489d77f046a5",
    "method=lacon": "27cf36a3aa6da877",
    "method=lacon_fusion": "9582007a3d4ea06e",
    "method=lcl": "0c01e880fe57ece4",
    "method=scl": "de04155d9ffd3a14",
    "method=supcl_seq": "ad9429eef40d0832",
    "hardware=auto": "45d0c66d0f93d328",
    "hardware=bf16": "993036a3863f946f",
    "hardware=cpu": "45d0c66d0f93d328",
    "hardware=cpu_bf16": "993036a3863f946f",
    "hardware=gpu": "45d0c66d0f93d328",
    "hardware=t4_fp16": "d03d0bbb2ccf460c",
    "encoder=bert_base": "1b7081ec52dc30fe",
    "encoder=electra_base": "865949e7f7beba56",
    "encoder=electra_base_random": "218296c1894c70fb",
    "encoder=minilm": "45d0c66d0f93d328",
    "encoder=roberta_base": "25b3e0926e520f35",
    "encoder=roberta_large": "fc96fc441898257e",
    "encoder=tiny": "3fab99def859dd0b",
    "method=lcl dataset=goemotions": "af82d5959965a231",
    "method=lcl dataset=isear": "d60145488a1800a4",
    "method=lcl dataset=sst5": "8595933a6395b532",
    "method=supcl_seq dataset=glue_cola": "47a829f42204c334",
    "method=supcl_seq dataset=glue_mnli": "b439ff10b013dced",
    "method=supcl_seq dataset=glue_mrpc": "fb10ba4f6b5cf3ec",
    "method=supcl_seq dataset=glue_qnli": "6cd6568d4e14f07f",
    "method=supcl_seq dataset=glue_qqp": "b9dfc479f4aae4e7",
    "method=supcl_seq dataset=glue_rte": "8c18cd000b3d9fc7",
    "method=supcl_seq dataset=glue_sst2": "a0ad8d788727583d",
    "method=supcl_seq dataset=glue_stsb": "cebf2988d21fe1cc",
    "method=supcl_seq dataset=glue_wnli": "e74b01551566d0ec",
}


@pytest.mark.parametrize("overrides,expected", PINS, ids=[" ".join(o) for o, _ in PINS])
def test_fingerprint_is_pinned(overrides, expected):
    cfg = compose_config(overrides)
    # The identity in the message shows which key or value moved when a pin breaks.
    assert fingerprint(cfg) == expected, json.dumps(identity(cfg), sort_keys=True, default=str)


def test_pins_are_distinct():
    assert len({fp for _, fp in PINS}) == len(PINS)


@pytest.mark.parametrize("option", sorted(OPTION_PINS))
def test_every_option_fingerprint_is_pinned(option):
    cfg = compose_config(option.split())
    assert fingerprint(cfg) == OPTION_PINS[option], json.dumps(identity(cfg), sort_keys=True, default=str)

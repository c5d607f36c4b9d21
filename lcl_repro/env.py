"""Process-level environment set-up that must happen before transformers/datasets are imported."""
from __future__ import annotations

import os
import socket
import threading

HUB_HOST = "huggingface.co"


def hub_reachable(timeout: float = 2.0) -> bool:
    """True when a TCP connection to the hub opens within `timeout` seconds.

    DNS lookups ignore socket timeouts, so the probe runs in a daemon thread we stop waiting for.
    """
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((HUB_HOST, 443), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def configure_offline_mode() -> bool:
    """Set the HF offline switches when no hub is reachable, so hub look-ups fail at once instead of
    retrying for 20-50 s. Respects values the user already set. Returns True when offline."""
    if "HF_HUB_OFFLINE" not in os.environ and not hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return os.environ.get("HF_HUB_OFFLINE") == "1"

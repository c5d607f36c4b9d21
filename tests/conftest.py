"""Shared fixtures: the real config composed as run.py composes it (lcl_repro/compose.py), shrunk for speed."""
from __future__ import annotations

import os
import signal

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# A shell starts a background command (`make test &`, `nohup ... &`) with SIGINT ignored, and an ignored
# signal stays ignored in every process it starts: the tests that press Ctrl-C on a run or a sweep would
# see nothing happen and leave it training. A handled signal is reset to the default in a child, so
# handling it here gives every subprocess a terminal's Ctrl-C, however pytest was started.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from lcl_repro.compose import CONF_DIR as CONF  # noqa: E402
from lcl_repro.compose import compose  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The real datasets: `data/` (made by `make data`), $LCL_SHARED_DATA, or the optional local copy
    at the Makefile's default SHARED_DATA location beside the repository (docs/datasets.md#getting-the-files)."""
    for candidate in (os.environ.get("LCL_SHARED_DATA"), REPO / "data", REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "emoint").is_dir():
            return Path(candidate).resolve()
    return None


DATA = shared_data_dir()
needs_data = pytest.mark.skipif(DATA is None, reason="real datasets absent (no data/ or local copy); run `make data`")
compose_config = compose  # the config run.py would train with, for a list of overrides


def synthetic_data(folder: Path, *datasets: str) -> Path:
    """A data folder holding an empty stand-in for every file the readers of `datasets` open: enough
    for code that only asks whether a dataset is here (the report, the sweep), never for reading it."""
    from lcl_repro.data.formats import FORMATS

    for dataset in datasets:
        cfg = compose([f"dataset={dataset}"]).dataset
        for path in FORMATS[cfg.reader].files(cfg, folder / cfg.path):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
    return folder


@pytest.fixture
def tiny_overrides(tmp_path) -> list[str]:
    """A real-data run small enough for seconds on CPU: tiny random encoder, 48/24/24 examples."""
    return [f"data_dir={DATA}", f"output_root={tmp_path / 'outputs'}", f"cache_dir={tmp_path / 'cache'}",
            "encoder=tiny", "dataset.limit.train=48", "dataset.limit.validation=24", "dataset.limit.test=24",
            "method.epochs=2", "method.batch_size=8", "progress=false",
            # mallopt is process-wide: in-process runs must not change the pytest process's allocator
            "hardware.retain_freed_memory=false"]

"""From texts to model inputs: cached tokenisation, dynamic padding, two-view training batches and
length-sorted evaluation batches."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import datasets
import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from lcl_repro.data.base import SPLITS, TextDataset
from lcl_repro.track.files import default_mode, raise_if_disk_full, write_json

TOKEN_COLUMNS = ("input_ids", "attention_mask", "token_type_ids")
FEATURES_VERSION = 1  # bump when the cached layout changes
CHECKSUM_FILE = "checksums.json"  # sha256 of every file of a cache folder, written with it


def content_hash(data: TextDataset, extra: dict) -> str:
    """Hash of everything the token cache depends on: every split's ids, texts and labels (so a
    changed file or sampling setting can never hit a stale cache), the tokenizer and max length."""
    h = hashlib.sha256(json.dumps({"v": FEATURES_VERSION, **extra}, sort_keys=True, default=str).encode())
    for split in SPLITS:
        table = data.splits[split].data
        for column in sorted(table.column_names):
            for chunk in table.column(column).chunks:
                for buf in chunk.buffers():
                    if buf is not None:
                        h.update(memoryview(buf))
    return h.hexdigest()[:20]


def tokenizer_identity(tokenizer: PreTrainedTokenizerBase) -> dict:
    return {"class": type(tokenizer).__name__, "name": tokenizer.name_or_path, "vocab": len(tokenizer),
            "lower": getattr(tokenizer, "do_lower_case", None)}


def tokenize(data: TextDataset, tokenizer: PreTrainedTokenizerBase, max_length: int, cache_dir: Path,
             augmented: dict[str, list[str]] | None = None) -> tuple[datasets.DatasetDict, str]:
    """Token ids for every split (plus `aug_*` columns on train for the augmented view, whose
    `augmented` texts map each text column to its views), cached on disk under a key from the data
    content, tokenizer and max length. Returns (splits, cache key)."""
    key = content_hash(data, {"tok": tokenizer_identity(tokenizer), "max_length": max_length,
                              "aug": hashlib.sha256(json.dumps(augmented, sort_keys=True).encode()).hexdigest() if augmented else None})
    path = Path(cache_dir) / "features" / f"{data.name}-{key}"
    if path.exists():
        damage = cache_damage(path)
        if damage is None:
            try:
                return datasets.load_from_disk(str(path)), key
            except Exception as err:  # whatever Arrow raises on a file its checksum vouched for
                damage = f"cannot be read ({type(err).__name__})"
        print(f"rebuild: {path}: {damage}; the cache is rebuilt from the data", file=sys.stderr, flush=True)
        discard(path)

    def encode(batch: dict, prefix: str = "") -> dict:
        source = "aug_" if prefix else ""
        enc = tokenizer(batch[source + "text"], batch.get(source + "text_pair"), truncation=True,
                        max_length=max_length)
        out = {prefix + k: enc[k] for k in TOKEN_COLUMNS if k in enc}
        out[prefix + "length"] = [len(ids) for ids in enc["input_ids"]]
        return out

    splits = {}
    for split in SPLITS:
        ds = data.splits[split]
        if split == "train" and augmented is not None:
            for column, views in augmented.items():
                ds = ds.add_column("aug_" + column, views)
            ds = ds.map(lambda b: encode(b, "aug_"), batched=True, desc="tokenise train (augmented)")
        splits[split] = ds.map(encode, batched=True, desc=f"tokenise {split}")
    result = datasets.DatasetDict(splits)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        os.chmod(tmp, default_mode(directory=True))
        result.save_to_disk(str(tmp))
        write_json(tmp / CHECKSUM_FILE, {"format": 1, "files": folder_checksums(tmp)})
        tmp.rename(path)  # atomic: a half-written cache is never picked up
    except BaseException as err:  # Ctrl-C and SIGTERM too: no half-written folder stays behind
        shutil.rmtree(tmp, ignore_errors=True)
        if not isinstance(err, OSError):
            raise
        if not path.exists():  # else another process finished the same cache first
            raise_if_disk_full(err, path, result_bytes(result))
            raise
    return datasets.load_from_disk(str(path)), key


def folder_checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file under a cache folder but the checksum file itself, by relative path."""
    out = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and path.name != CHECKSUM_FILE:
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            out[path.relative_to(folder).as_posix()] = digest.hexdigest()
    return out


def cache_damage(folder: Path) -> str | None:
    """Why a feature cache folder cannot be used (None: it matches the checksums written with it)."""
    try:
        stored = json.loads((Path(folder) / CHECKSUM_FILE).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {CHECKSUM_FILE} (damaged, or written before caches carried checksums)"
    now = folder_checksums(folder)
    changed = sorted(name for name in stored.keys() | now.keys() if stored.get(name) != now.get(name))
    if changed:
        return f"{changed[0]} does not match the checksum written with it" + \
            (f" ({len(changed)} files differ)" if len(changed) > 1 else "")
    return None


def discard(folder: Path) -> None:
    """Remove a damaged cache folder: renamed away first, so no reader ever sees it half-deleted."""
    trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".damaged", dir=folder.parent))
    try:
        folder.rename(trash / "cache")
    except OSError:  # another process rebuilt or discarded it meanwhile
        pass
    shutil.rmtree(trash, ignore_errors=True)


def result_bytes(result: datasets.DatasetDict) -> int:
    return sum(ds.data.nbytes for ds in result.values())


class Collator:
    """Pads a list of examples to the longest sequence in the batch.

    With `views=2` each example contributes two rows, original then augmented copy, interleaved as
    in the LCL authors' collate function: [x1, x1', x2, x2', ...], labels duplicated.
    """

    def __init__(self, pad_id: int, views: int = 1, regression: bool = False):
        self.pad_id, self.views, self.regression = pad_id, views, regression

    def rows(self, examples: list[dict]) -> tuple[list[dict], list]:
        if self.views == 1:
            return examples, [e["label"] for e in examples]
        rows, labels = [], []
        for e in examples:
            rows.append(e)
            rows.append({k: e["aug_" + k] for k in TOKEN_COLUMNS if "aug_" + k in e})
            labels += [e["label"], e["label"]]
        return rows, labels

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        rows, labels = self.rows(examples)
        width = max(len(r["input_ids"]) for r in rows)
        batch = {}
        for col in TOKEN_COLUMNS:
            if col not in rows[0]:
                continue
            pad = self.pad_id if col == "input_ids" else 0
            out = np.full((len(rows), width), pad, dtype=np.int64)
            for i, r in enumerate(rows):
                out[i, : len(r[col])] = r[col]
            batch[col] = torch.from_numpy(out)
        batch["labels"] = torch.tensor(labels, dtype=torch.float32 if self.regression else torch.long)
        batch["index"] = torch.tensor([e["_index"] for e in examples]).repeat_interleave(self.views)
        return batch


def train_batches(ds: datasets.Dataset, batch_size: int, seed: int, epoch: int,
                  drop_last: bool) -> Iterator[list[int]]:
    """Shuffled index batches. The order depends only on (seed, epoch), so a resumed run sees the
    same batches as an uninterrupted one."""
    gen = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(len(ds), generator=gen).tolist()
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        if drop_last and len(chunk) < batch_size:
            return
        yield chunk


def eval_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Batches of similar length (longest first) so dynamic padding wastes little."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def as_rows(ds: datasets.Dataset, views: int = 1) -> list[dict]:
    """The columns a batch needs, as plain Python rows held in memory (fast random access)."""
    wanted = [c for c in ds.column_names if c in TOKEN_COLUMNS or c == "label"
              or (views == 2 and c.startswith("aug_") and c[4:] in TOKEN_COLUMNS)]
    rows = ds.select_columns(wanted).to_list()
    for i, row in enumerate(rows):
        row["_index"] = i
    return rows

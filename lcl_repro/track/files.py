"""Atomic file writes: a reader (or a crash) never sees a half-written record."""
from __future__ import annotations

import errno
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

from lcl_repro.errors import NoSpaceLeft


def default_mode(directory: bool = False) -> int:
    """Permissions a plain open() would give (mkstemp/mkdtemp create private 0600/0700 entries)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def atomic_write(path: Path, write: Callable[[Path], None], size_hint: int = 0) -> None:
    """Call `write(tmp_path)` on a temporary file in the same folder, fsync it, then rename it over
    `path` (rename is atomic on POSIX within one filesystem). A full disk raises `NoSpaceLeft` naming
    `path` and the space needed (`size_hint` bytes, or at least what was written when it filled)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise_if_disk_full(err, path, size_hint)
        raise
    os.close(fd)
    try:
        os.chmod(tmp, default_mode())
        write(Path(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        written = Path(tmp).stat().st_size if Path(tmp).exists() else 0
        try:
            raise_if_disk_full(err, path, max(size_hint, written))
        finally:
            Path(tmp).unlink(missing_ok=True)
        raise


def megabytes(n: int) -> str:
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB" if n >= 2**10 else f"{n} bytes"


def raise_if_disk_full(err: BaseException, path: Path, needed: int) -> None:
    """Raise `NoSpaceLeft` when `err` is a full disk: ENOSPC (or EDQUOT) anywhere in its chain, or a
    write failure that carries no errno (torch.save's "unexpected pos", Arrow's) while the folder has
    less room than the write needed. Called before the partial file is removed, while the disk is full."""
    seen: BaseException | None = err
    full = False
    while seen is not None and not full:
        full = isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT)
        seen = seen.__cause__ or seen.__context__
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if not full and isinstance(err, (OSError, RuntimeError)):
        full = free < max(needed, 1 << 20)
    if full:
        raise NoSpaceLeft(f"no space left on the device of {folder} while writing {path} (needs at least "
                          f"{megabytes(needed)}, {megabytes(free)} free); free some space, or move output_root / "
                          f"cache_dir elsewhere, then rerun the same command to resume") from err


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return _jsonable(value.item())
    return value


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def remove_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files `atomic_write` leaves when a process is killed mid-write (SIGKILL
    skips its clean-up). Only call on a folder no other process is writing. Returns what was removed."""
    stale = sorted(Path(folder).glob(".*.tmp")) if Path(folder).is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale

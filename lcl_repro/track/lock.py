"""One writer per run folder: `with hold(folder): ...` takes an exclusive `flock` on `<folder>/.lock`.

A second process asking for the same folder gets `AlreadyRunning` (exit 2, one line) at once instead
of waiting: two identical commands are almost always a mistake, and the first one's record is the
one wanted. The kernel drops the lock when its process dies (kill -9, a lost node's process is gone
with it), so a crash never leaves a folder locked; only the file stays, and the next run reuses it.
flock is advisory and local: processes on other machines sharing an NFS folder are not excluded.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import socket
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from lcl_repro.errors import UserError
from lcl_repro.track.files import raise_if_disk_full

LOCK_NAME = ".lock"


class AlreadyRunning(UserError):
    """Another process holds the run folder's lock (`folder`; `holder`: its pid, host and start)."""

    def __init__(self, folder: Path, holder: str):
        super().__init__(f"{folder} is already running in another process{holder}; wait for it to finish, or stop "
                         "it and rerun this command to resume")
        self.folder, self.holder = Path(folder), holder


def held(folder: Path) -> bool:
    """Whether another process holds the lock of `folder` now (takes and drops it when free)."""
    try:
        fd = os.open(Path(folder) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        return ""
    return f" ({text})" if text else ""


def _missing_dirs(folder: Path) -> list[Path]:
    """`folder` and those of its ancestors that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing


@contextmanager
def hold(folder: Path) -> Iterator[Path]:
    """Create `folder` if needed and hold its lock for the block. On leaving, the lock file is
    removed, and so are the folders this call created if they are still empty (a run that stopped on
    bad data before writing anything leaves no trace)."""
    folder = Path(folder)
    created = _missing_dirs(folder)
    path = folder / LOCK_NAME
    while True:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:  # a releasing holder removed the empty folder it had created
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(folder, _holder(path)) from None
        except BaseException:
            os.close(fd)
            raise
        # A holder that was releasing may have unlinked the file we opened: then our lock guards a
        # name nobody else sees, and a third process could lock a fresh file. Retry until the file
        # we lock is the one at the path.
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            break
        os.close(fd)
    try:
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                         f"{datetime.now().astimezone().isoformat(timespec='seconds')}\n".encode())
        except OSError as err:  # a full disk takes an empty file but not its first line
            raise_if_disk_full(err, path, 100)
            raise
        yield path
    finally:
        try:
            path.unlink(missing_ok=True)  # while still locked, so nobody can lock the name in between
            for empty in created:
                try:
                    empty.rmdir()
                except OSError:
                    break  # not empty (the run wrote something) or shared with another run
        finally:
            os.close(fd)


def clear(folder: Path) -> None:
    """Remove everything in a run folder but its lock (overwrite=true): removing the folder itself
    would drop the lock file a waiting process could then re-create and lock beside ours."""
    for entry in Path(folder).iterdir():
        if entry.name == LOCK_NAME:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()

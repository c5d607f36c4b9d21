"""User-facing errors. Anything raised as `UserError` is printed as one clear message and the
process exits with status 2; nothing half-written is left behind (records are written atomically)."""
from __future__ import annotations

import signal
import sys

EXIT_USER_ERROR = 2
# Faults of the machine, each with its own status (sysexits.h's EX_IOERR / EX_TEMPFAIL; 128 + signal).
EXIT_NO_SPACE = 74
EXIT_BUSY = 75  # a multirun skipped jobs another process is training: rerun later to count them
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT)
EXIT_TERMINATED = 143  # SIGTERM
FETCH_DATA_HINT = "run `make data` (links a local copy of the datasets when present, else downloads the originals)"


class UserError(Exception):
    """Bad input the user can fix: wrong config value, missing or malformed file, unloadable encoder."""


class ConfigError(UserError):
    """A config value is out of range or combines badly with another."""


class DataError(UserError):
    """A dataset file is missing, malformed, or yields an unusable split."""


class EncoderError(UserError):
    """An encoder or tokenizer cannot be loaded (e.g. a hub id while offline)."""


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or inf. The run stops before the bad step is applied, writes
    `nonfinite_loss.json` (stage, epoch, step, batch rows and uids, loss terms) into its run folder and
    no metrics.json/DONE; the command line prints one line and exits with status 2, like bad input
    (the usual cause is a setting: a learning rate far too high)."""


class NoSpaceLeft(UserError):
    """The disk filled while writing a record, checkpoint or cache: one line naming the file and the
    space needed; exit status 74. The file being written is removed; what was finished stays."""

    exit_code = EXIT_NO_SPACE


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every `finally` (run locks, temporaries) runs before exit 143."""


def raise_terminated(signum, frame) -> None:
    raise Terminated()


def stop_on_sigterm() -> None:
    """SIGTERM (`kill`, a job scheduler, the end of a session) stops like Ctrl-C, exit 143."""
    signal.signal(signal.SIGTERM, raise_terminated)


def interrupted(err: KeyboardInterrupt) -> int:
    """One line for Ctrl-C or SIGTERM (every lock and temporary file is gone by now); its exit status."""
    what = "terminated (SIGTERM)" if isinstance(err, Terminated) else "interrupted (Ctrl-C)"
    print(f"{what}: rerun the same command to resume (finished runs are skipped, an unfinished one resumes from "
          f"its last epoch checkpoint)", file=sys.stderr, flush=True)
    return EXIT_TERMINATED if isinstance(err, Terminated) else EXIT_INTERRUPTED


def stopped(code: int) -> KeyboardInterrupt:
    """The interruption a child's exit status reports, to stop its parent the same way."""
    return Terminated() if code == EXIT_TERMINATED else KeyboardInterrupt()

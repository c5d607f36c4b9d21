"""Config composition, in one place: where `conf/` is, the schemas Hydra checks every option
against, composing a config exactly as `run.py` does, and the wrapper that turns bad input into one
line on stderr and exit status 2.

It joins the layers below it: the shared schemas (lcl_repro/config.py) and the registries of methods
and dataset formats, whose entries bring their own schemas; `lcl_repro/validation.py` sits above it.

Every entry point (`run.py`, `python -m lcl_repro.data`, the report, the sweep, the benchmark) and
the tests compose through here, so a config composed anywhere is the one a run trains with and has
the same fingerprint. Composition problems (an unknown option, a misspelt key, a wrong type) come out
as `ConfigError` with one readable line, like every other user error.
"""
from __future__ import annotations

import dataclasses
import difflib
import functools
import re
import sys
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, Union

from lcl_repro.config import Config, EncoderConfig, HardwareConfig, LoggerConfig
from lcl_repro.data.formats import FORMATS
from lcl_repro.errors import EXIT_USER_ERROR, ConfigError, NonFiniteLossError, UserError
from lcl_repro.methods import METHODS

if TYPE_CHECKING:
    from omegaconf import DictConfig

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
CONFIG_NAME = "config"
HYDRA_VERSION_BASE = "1.3"


@cache
def register_schemas() -> None:
    """Store every schema in Hydra's ConfigStore once per process: the shared ones, each registered
    method's and each registered dataset format's (each YAML option names its schema first in its
    defaults list, so Hydra checks the option while composing)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="encoder", name="base_encoder", node=EncoderConfig)
    cs.store(group="hardware", name="base_hardware", node=HardwareConfig)
    cs.store(group="logger", name="base_logger", node=LoggerConfig)
    for name, data_format in FORMATS.items():
        cs.store(group="dataset", name=f"base_{name}", node=data_format.schema)
    for name, method in METHODS.items():
        cs.store(group="method", name=f"base_{name}", node=method.schema)


@contextmanager
def hydra_initialised() -> Iterator[None]:
    """Hydra's global state pointed at `conf/`, for callers that need its config loader as well as
    `compose` (the CLI's sweep check); `compose` inside this block reuses it."""
    from hydra import initialize_config_dir

    register_schemas()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base=HYDRA_VERSION_BASE):
        yield


def config_loader():
    """The loader of the active Hydra (inside `hydra_initialised`): Hydra's override parser needs it
    to expand sweeps over config groups."""
    from hydra.core.global_hydra import GlobalHydra

    return GlobalHydra.instance().config_loader()


def compose(overrides: Sequence[str] = (), *, return_hydra_config: bool = False) -> DictConfig:
    """The config `python run.py <overrides>` trains with (raises `ConfigError`, one line)."""
    from hydra import compose as hydra_compose
    from hydra.core.global_hydra import GlobalHydra

    try:
        if GlobalHydra.instance().is_initialized():
            return hydra_compose(CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config)
        with hydra_initialised():
            return hydra_compose(CONFIG_NAME, overrides=list(overrides), return_hydra_config=return_hydra_config)
    except composition_errors() as err:
        raise ConfigError(explain_composition_error(err)) from err


def with_seed(cfg: DictConfig, seed: int) -> DictConfig:
    """`cfg` as `compose` gives it with `seed=<seed>` in place of its own: the seed is a plain value that
    no config group or default depends on, so the sweep check, the plan and the report compose once per
    setting and set the seed per run (about 0.15 s saved per seed; tests/test_config.py checks the
    two agree on the fingerprint, the run folder and the sampled data's settings)."""
    import copy

    out = copy.deepcopy(cfg)
    out.seed = int(seed)
    return out


def parse_overrides(args: Sequence[str], loader=None) -> list:
    """Hydra's own parse of command-line overrides (sweeps, ranges, intervals); `ConfigError` on bad syntax."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        return OverridesParser.create(config_loader=loader).parse_overrides(list(args))
    except composition_errors() as err:
        raise ConfigError(explain_composition_error(err)) from err


def hydra_main(task: Callable[[Any], Any]) -> Callable[[], Any]:
    """`task` as Hydra's application on `conf/config.yaml` (what `run.py` runs)."""
    import hydra

    register_schemas()
    return hydra.main(config_path=str(CONF_DIR), config_name=CONFIG_NAME, version_base=HYDRA_VERSION_BASE)(task)


# --------------------------------------------------------------------------- user errors: one line, exit 2
def composition_errors() -> tuple[type[Exception], ...]:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    return HydraException, OmegaConfBaseException


USER_ERRORS = (UserError, NonFiniteLossError)  # a non-finite loss: its usual cause is a setting


def report_user_error(err: BaseException, where: str = "") -> int:
    """Print `error: <one line><where>` on stderr; returns the exit status of bad input (a fault of
    the machine, such as a full disk, has its own: lcl_repro/errors.py)."""
    print(f"error: {one_line(str(err))}{where}", file=sys.stderr, flush=True)
    return getattr(err, "exit_code", EXIT_USER_ERROR)


@contextmanager
def exit_on_user_error(context: Union[str, Callable[[], str]] = "") -> Iterator[None]:
    """Bad input ends the process with one line on stderr and status 2; anything else is a bug and
    keeps its traceback. `context` (or what it returns when the error happens) says which job failed."""
    try:
        yield
    except USER_ERRORS as err:
        sys.exit(report_user_error(err, context() if callable(context) else context))


def entry_point(main: Callable[..., int]) -> Callable[..., int]:
    """A `main(argv) -> exit status` whose bad input returns status 2 after one line on stderr
    (returned, not raised, so tests can call it)."""
    @functools.wraps(main)
    def wrapped(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as err:
            return report_user_error(err)
    return wrapped


def one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def tidy_hydra_message(text: str) -> str:
    """Hydra's message without the search-path dump and the internal schema entries."""
    text = text.split("Config search path")[0]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("base_")]
    head = [ln for ln in lines if ln.endswith(":") or " " in ln]
    options = [ln for ln in lines if ln not in head]
    return " ".join(head) + (" " + ", ".join(options) if options else "")


def unknown_key_message(key: str, schema) -> str:
    """`method.temprature` -> "unknown config key method.temprature (did you mean method.temperature?)"."""
    known = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else []
    parent, _, leaf = key.rpartition(".")
    close = difflib.get_close_matches(leaf, known, n=1)
    if close:
        return f"unknown config key {key} (did you mean {parent + '.' if parent else ''}{close[0]}?)"
    where = f"{parent} ({schema.__name__})" if parent and known else "this level"
    return f"unknown config key {key}" + (f"; keys of {where}: {', '.join(known)}" if known else "")


def explain_composition_error(err: Exception) -> str:
    """One line from Hydra's composition errors, which keep the useful part in the cause."""
    text, cause = str(err), err.__cause__
    unknown = re.match(r"Could not override '([^']+)'", text)
    if unknown:  # Hydra would suggest `+key=...`, which silently adds an unused key: never the fix for a typo
        return unknown_key_message(unknown[1], getattr(cause, "object_type", None))
    if text.startswith("Error merging override ") and cause is not None:
        return f"{text.removeprefix('Error merging override ')}: {str(cause).splitlines()[0]}"
    from omegaconf.errors import OmegaConfBaseException

    if isinstance(err, OmegaConfBaseException):  # its first line says it all; then full_key, object_type
        return text.splitlines()[0]
    return one_line(tidy_hydra_message(text))

"""`key=value` arguments shared by `python -m lcl_repro.report` and `python -m lcl_repro.report.sweep`."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Optional

from omegaconf import OmegaConf

from lcl_repro.errors import ConfigError


@dataclass
class ReportArgs:
    paper: Optional[str] = None  # a table: conf/paper/<name>.yaml
    sweep: Optional[str] = None  # a hyper-parameter sweep: conf/sweep/<name>.yaml (report only)
    scale: str = "cpu"  # smoke | cpu | paper
    protocol: Optional[str] = None  # a table's named protocol (conf/paper/<name>.yaml `protocols:`); null = its default
    dataset: Optional[str] = None  # sweep reports: the dataset the sweep ran on
    encoder: str = "minilm"  # sweep reports: the encoder the sweep ran with
    output_root: str = "outputs"  # where the run folders are (results/ holds the committed ones)
    report_root: Optional[str] = None  # where reports/<table>/<scale>/ is written; null = output_root
    data_dir: str = "data"
    logger: str = "none"  # none | wandb: group the sweep's runs per table, upload the report
    extra: list[str] = field(default_factory=list)  # more run.py overrides for every run, e.g. [hardware=gpu]
    dry_run: bool = False  # sweep: print the Hydra commands, run nothing
    wait_busy: bool = False  # sweep: wait for a run another process is training, instead of leaving it to it
    jobs: int = 1  # sweep: runs at once, each at hardware.num_threads = cores // jobs (lcl_repro/report/jobs.py)
    yes: bool = False  # sweep: start (or dry-run) more than 200 runs without asking (lcl_repro/cli.py LARGE_GRID)
    plan: bool = False  # sweep: print runs to do / finished per cell and the estimated wall time, run nothing
    figures: bool = True  # false: draw nothing (report.md still names the figure files a full report has)
    strict: bool = False  # report: exit 1 when a cell whose data is here lacks runs (CI)


def parse_dotlist(schema: type, argv: list[str]):
    """`key=value` arguments checked against a dataclass `schema` (unknown keys and wrong types are
    one-line ConfigErrors naming the keys)."""
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise ConfigError(f"arguments are key=value (e.g. paper=lcl_table1 scale=smoke); got {' '.join(bad)}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(schema), OmegaConf.from_dotlist(argv))
    except Exception as err:  # unknown key or wrong type: omegaconf names it
        keys = ", ".join(schema.__dataclass_fields__)
        raise ConfigError(f"{str(err).splitlines()[0]} (keys: {keys})") from err
    return OmegaConf.to_object(merged)


def parse_args(argv: list[str] | None = None) -> ReportArgs:
    return parse_dotlist(ReportArgs, sys.argv[1:] if argv is None else argv)

"""The repository's own wiring: the Makefile's table targets are exactly the paper configs, and test
modules share helpers through conftest.py or tests/helpers.py, never by importing one another."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAPER_CONFIGS = sorted(p.stem for p in (REPO / "conf" / "paper").glob("*.yaml"))


def make_variable(name: str) -> list[str]:
    """A `NAME := ...` list of the Makefile, backslash continuations joined."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    (value,) = re.findall(rf"^{name}\s*:=(.*)$", text, flags=re.M)
    return value.split()


def test_make_table_targets_are_the_paper_configs():
    tables = make_variable("TABLES")
    assert len(tables) == len(set(tables)), "a table is listed twice in the Makefile's TABLES"
    assert sorted(tables) == PAPER_CONFIGS  # a conf/paper/<name>.yaml without a target, or a target without one
    helped = set(re.findall(r"^([a-z0-9-]+):\s*## ", (REPO / "Makefile").read_text(), flags=re.M))
    targets = {name.replace("_", "-") for name in PAPER_CONFIGS}
    assert targets <= helped, f"no `make help` line for {sorted(targets - helped)}"
    table_like = {t for t in helped if re.match(r"(lcl|scl|lacon|supclseq)-", t)}
    assert table_like <= targets, f"help lines for tables without a config: {sorted(table_like - targets)}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_every_table_target_runs_its_own_config_and_is_phony():
    targets = [name.replace("_", "-") for name in PAPER_CONFIGS]
    # Under `make test` the parent make's flags (jobserver, -s, -k) would reach this one through the environment.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "-n", "--no-print-directory", *targets], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    swept = re.findall(r"-m lcl_repro\.report\.sweep paper=(\w+) ", done.stdout)
    reported = re.findall(r"-m lcl_repro\.report paper=(\w+) ", done.stdout)
    assert swept == reported == PAPER_CONFIGS
    # A file named like a target (say `lcl-table1`) must not make that table "up to date".
    database = subprocess.run(["make", "-pn", "help"], cwd=REPO, capture_output=True, text=True, timeout=60,
                              env=env).stdout
    phony = {t for line in database.splitlines() if line.startswith(".PHONY:") for t in line.split()[1:]}
    assert set(targets) <= phony, sorted(set(targets) - phony)


def imports_of_test_modules(path: Path) -> set[str]:
    """Every `tests.test_x` / `.test_x` a file imports, whichever import spelling it uses."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
            names.update(f"{base}.{alias.name}".replace("..", ".") for alias in node.names)
    return {name for name in names if re.search(r"(^|\.)test_\w+$", name)}


def test_no_test_module_imports_another():
    offenders = {p.name: sorted(found) for p in sorted((REPO / "tests").glob("test_*.py"))
                 if (found := imports_of_test_modules(p))}
    assert offenders == {}, "share helpers through tests/conftest.py or tests/helpers.py"


def test_the_import_check_sees_each_spelling(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text("from tests.test_methods import build\nimport tests.test_data\nfrom . import test_cli\n"
                      "from tests.helpers import build as b\nfrom tests.conftest import DATA\nimport pytest\n")
    assert imports_of_test_modules(module) == {"tests.test_methods", "tests.test_data", ".test_cli"}

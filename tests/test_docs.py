"""The repository stands alone: its code, configs, tests and docs cite only the papers and `docs/`.

- no file under lcl_repro/, conf/, scripts/, tests/, docs/ (nor README.md, Makefile, pyproject.toml)
  cites notes or paths that live outside the repository;
- every `docs/<page>.md#<anchor>` reference, and every relative link in the Markdown pages, resolves to
  a file inside the repository and, where it names one, to a heading of that file;
- the checksums in docs/datasets.md are the ones scripts/fetch_data.py verifies (and, when the real
  files are present, the files' own);
- every command in a `bash` block of README.md and docs/*.md runs something that exists: a Make target
  of the Makefile, a module or script of the repository, config options under conf/; and (slow) every
  `python run.py` there composes and validates, each job of a multirun included;
- README.md stays the five-minute overview: at most 250 lines, the two set-up commands first, the
  verdict markers that the results report fills.

Fast: reads text files only (and hashes the real data files when they are present), except the test
marked slow, which composes each documented run."""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCOPE = ("lcl_repro/", "conf/", "scripts/", "tests/", "docs/", "README.md", "Makefile", "pyproject.toml")
SKIP = ("tests/fixtures/", "tests/test_docs.py")  # data fixtures; this file spells out the patterns

# What may not be cited: private notes and folders beside the repository, by name or by path.
OUTSIDE = {
    "a notes file outside the repository": re.compile(r"methods\.md"),
    "the README of a data folder outside the repository": re.compile(r"data README"),
    "a path beside the repository": re.compile(r"\.\./shared\b|\bshared/(?:data|research|papers)\b"),
    "a research-notes folder": re.compile(r"(?<![\w./-])research/"),
    "an absolute path of one machine": re.compile(r"(?<![\w.])/work/"),
}

# (file, text of the line): the only lines allowed to match. Each is functional, not a citation.
ALLOWED = {
    # `make data` links this optional local copy of the datasets when it exists (docs/datasets.md#getting-the-files).
    ("Makefile", "SHARED_DATA ?= ../shared/data"),
    # A test that asserts the absence of such a citation names it.
    ("tests/test_paper_configs.py", '"methods.md" not in'),
}

DOC_REF = re.compile(r"docs/([\w.-]+\.md)(?:#([\w-]+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def tracked_files() -> list[Path]:
    """Files git tracks (or would track: new, not ignored) in the checked scope."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *SCOPE],
                         cwd=REPO, capture_output=True, text=True, check=True).stdout
    files = []
    for name in sorted(set(out.splitlines())):
        path = REPO / name
        if name.startswith(SKIP) or not path.is_file():
            continue
        files.append(path)
    return files


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None  # binary


FILES = {path.relative_to(REPO).as_posix(): text for path in tracked_files() if (text := text_of(path)) is not None}


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading: rendered text, lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match and not fenced:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_scope_is_read():
    assert "README.md" in FILES and "lcl_repro/losses/lcl.py" in FILES and "conf/config.yaml" in FILES
    assert any(name.startswith("docs/") for name in FILES), "docs/ is missing"


def test_nothing_cites_material_outside_the_repository():
    found = []
    for name, text in FILES.items():
        for number, line in enumerate(text.splitlines(), 1):
            for what, pattern in OUTSIDE.items():
                if pattern.search(line) and not any(name == f and snippet in line for f, snippet in ALLOWED):
                    found.append(f"{name}:{number}: cites {what}: {line.strip()[:120]}")
    assert not found, ("references outside the repository (cite the paper, or docs/<page>.md#<anchor>):\n"
                       + "\n".join(found))


def test_allowed_exceptions_still_exist():
    """An exception that no longer matches anything is dead weight: remove it from ALLOWED."""
    for name, snippet in ALLOWED:
        assert name in FILES and snippet in FILES[name], f"ALLOWED entry no longer needed: {name}: {snippet}"


def test_docs_references_resolve():
    cache: dict[Path, set[str]] = {}
    broken = []
    for name, text in FILES.items():
        for number, line in enumerate(text.splitlines(), 1):
            for match in DOC_REF.finditer(line):
                page, anchor = match.groups()
                target = REPO / "docs" / page
                if not target.is_file():
                    broken.append(f"{name}:{number}: docs/{page} does not exist")
                elif anchor and anchor not in cache.setdefault(target, anchors(target)):
                    broken.append(f"{name}:{number}: docs/{page} has no heading #{anchor}")
    assert not broken, "\n".join(broken)


def test_markdown_links_stay_inside_the_repository():
    cache: dict[Path, set[str]] = {}
    broken = []
    for name, text in FILES.items():
        if not name.endswith(".md"):
            continue
        source = REPO / name
        for number, line in enumerate(text.splitlines(), 1):
            for match in MD_LINK.finditer(line):
                link = match.group(1)
                if re.match(r"[a-z]+:", link):  # http(s), mailto: public addresses
                    continue
                path, _, anchor = link.partition("#")
                target = (source.parent / path).resolve() if path else source
                if not target.is_relative_to(REPO):
                    broken.append(f"{name}:{number}: {link} points outside the repository")
                elif not target.exists():
                    broken.append(f"{name}:{number}: {link}: no such file")
                elif anchor and target.suffix == ".md" and anchor not in cache.setdefault(target, anchors(target)):
                    broken.append(f"{name}:{number}: {link}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


# --------------------------------------------------------------------------- checksums
def documented_checksums() -> dict[str, str]:
    """`| `path` | rows | `sha256` |` rows of docs/datasets.md: path (under data/) -> sha256."""
    table = re.compile(r"^\| `([^`]+)` \|[^|]*\| `([0-9a-f]{64})` \|$")
    rows = [table.match(line) for line in (REPO / "docs" / "datasets.md").read_text(encoding="utf-8").splitlines()]
    return {m.group(1): m.group(2) for m in rows if m}


@functools.lru_cache(maxsize=1)
def fetch_checks() -> list:
    """Every file check of scripts/fetch_data.py (building the source lists downloads nothing)."""
    spec = importlib.util.spec_from_file_location("_fetch_data_under_test", REPO / "scripts" / "fetch_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    checks = [check for build in module.DATASETS.values() for source in build() for check in source.checks]
    return checks + list(module.MRPC_SPLIT)


def test_datasets_doc_lists_the_fetchers_checksums():
    documented = documented_checksums()
    assert len(documented) >= 50, "docs/datasets.md lost its checksum tables"
    doc_text = (REPO / "docs" / "datasets.md").read_text(encoding="utf-8")
    for check in fetch_checks():
        if check.git_blob:
            assert check.git_blob in doc_text, f"{check.path}: git blob {check.git_blob} not in docs/datasets.md"
        elif check.sha256:
            assert documented.get(check.path) == check.sha256, f"{check.path}: docs/datasets.md and fetch_data.py differ"


def test_datasets_doc_checksums_match_the_files_present():
    """Every documented file that is present has that content (GLUE archive files the fetcher only
    compares are skipped: a fresh download may legitimately differ from the documented copy)."""
    from tests.conftest import DATA

    if DATA is None:
        pytest.skip("real datasets absent (no data/ or local copy); run `make data`")
    lenient = {check.path for check in fetch_checks() if not check.strict}
    compared, wrong = 0, []
    for path, sha in documented_checksums().items():
        file = DATA / path
        if path in lenient or not file.is_file():
            continue
        compared += 1
        if hashlib.sha256(file.read_bytes()).hexdigest() != sha:
            wrong.append(path)
    assert compared, f"no documented file found under {DATA}"
    assert not wrong, f"content differs from docs/datasets.md: {wrong}"


# --------------------------------------------------------------------------- commands in the pages
PAGES = ["README.md", *sorted(f"docs/{p.name}" for p in (REPO / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"\.\.\.|<[^>]*>|…")  # `...`, `<table>`: a pattern, not a command
MAKE_TARGETS = set(re.findall(r"^([A-Za-z0-9_.-]+):", (REPO / "Makefile").read_text(), flags=re.M))


def documented_commands() -> list[tuple[str, int, list[str]]]:
    """(page, line, words) of each command in a ```bash block of README.md and docs/*.md, comments
    and `VAR=value` prefixes dropped; commands with a placeholder are left out."""
    found = []
    for page in PAGES:
        fenced = False
        for number, line in enumerate((REPO / page).read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = line.strip() == "```bash" if not fenced else False
                continue
            if not fenced or PLACEHOLDER.search(line):
                continue
            words = shlex.split(line, comments=True)
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words.pop(0)
            if words:
                found.append((page, number, words))
    return found


COMMANDS = documented_commands()


def run_overrides(words: list[str]) -> list[str] | None:
    """The arguments of `python run.py ...`, or None for another command."""
    if words[:2] in (["python", "run.py"], [".venv/bin/python", "run.py"]):
        return words[2:]
    return None


def test_the_pages_hold_commands():
    pages = {page for page, _, _ in COMMANDS}
    assert {"README.md", "docs/usage.md", "docs/tables.md", "docs/cluster.md"} <= pages
    assert sum(run_overrides(words) is not None for _, _, words in COMMANDS) >= 8


def test_every_documented_command_names_what_exists():
    broken = []
    for page, number, words in COMMANDS:
        where = f"{page}:{number}: {' '.join(words)}"
        if words[0] == "make":
            targets = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
            broken += [f"{where}: no Make target {t!r}" for t in targets if t not in MAKE_TARGETS]
        elif words[0].endswith("python") and len(words) > 1:
            if words[1] == "-m":
                module = REPO / words[2].replace(".", "/")
                if not (module.with_suffix(".py").is_file() or (module / "__main__.py").is_file()):
                    broken.append(f"{where}: no module {words[2]} to run")
            elif not (REPO / words[1]).is_file():
                broken.append(f"{where}: no file {words[1]}")
        for word in words:  # group=option[,option]: each option is a file under conf/<group>/
            key, _, value = word.lstrip("+").partition("=")
            folder = REPO / "conf" / key
            if value and "." not in key and folder.is_dir():
                broken += [f"{where}: no conf/{key}/{option}.yaml" for option in value.split(",")
                           if not (folder / f"{option}.yaml").is_file()]
    assert not broken, "\n".join(broken)


@pytest.mark.slow
def test_every_documented_run_composes_and_validates():
    """Each `python run.py` of the pages passes the checks `run.py` makes before any work, every job of a
    multirun included (a launcher of `hydra/launcher=` is not started)."""
    from lcl_repro.cli import expand_ranges, preflight

    failed = []
    for page, number, words in COMMANDS:
        args = run_overrides(words)
        if args is None:
            continue
        try:
            preflight(expand_ranges(args))
        except SystemExit as stop:
            failed.append(f"{page}:{number}: {' '.join(words)}: exit {stop.code}")
    assert not failed, "\n".join(failed)


def test_readme_is_the_five_minute_overview():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move depth into docs/"
    first_block = text.split("```bash", 1)[1].split("```", 1)[0]
    assert [w.split()[:2] for w in first_block.splitlines() if w.startswith("make")] == [["make", "demo"],
                                                                                        ["make", "test"]]
    assert text.count("<!-- verdicts:begin -->") == text.count("<!-- verdicts:end -->") == 1
    assert text.index("<!-- verdicts:begin -->") < text.index("<!-- verdicts:end -->")


def test_every_docs_page_is_in_the_index():
    index = (REPO / "docs" / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in (REPO / "docs").glob("*.md") if p.name != "README.md" and f"]({p.name}" not in index]
    assert not missing, f"docs/README.md does not list {missing}"

"""The faults one layer out from the run records (issue 24): nothing that exists is destroyed before its
replacement is ready, no damaged cache is used, no untrained run is recorded as finished, the
machine's faults are one line with their own exit status, and a sweep leaves a run another process
is training to it and goes on. docs/faults.md lists the messages and exit statuses."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lcl_repro import pipeline
from lcl_repro.errors import EXIT_BUSY, EXIT_NO_SPACE, ConfigError, DataError, NoSpaceLeft
from lcl_repro.track import lock, record
from lcl_repro.track.files import atomic_write
from tests.conftest import DATA, REPO, compose_config, needs_data

BAD = REPO / "tests" / "fixtures" / "bad"
TINY = ["encoder=tiny", "dataset.limit.train=48", "dataset.limit.validation=24", "dataset.limit.test=24",
        "method.epochs=1", "method.batch_size=8", "progress=false", "hardware.num_threads=1"]


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "run.py"), *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, **kwargs)


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --------------------------------------------------------------------------- 1. overwrite=true destroys nothing early
@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("bad,error", [
    (["data_dir=/nonexistent/data"], DataError),
    ([f"data_dir={BAD / 'unknown_label'}"], DataError),
    (["dataset.sampling.few_shot_k=1"], ConfigError),  # 4 examples, batch 8, drop_last: would never train
], ids=["no_data_dir", "unknown_label", "zero_steps"])
def test_failed_overwrite_keeps_the_finished_run(tiny_overrides, bad, error):
    cfg = compose_config(["method=ce", *tiny_overrides, "method.epochs=1", "method.drop_last=true"])
    pipeline.run(cfg)
    folder = record.run_dir(cfg)
    before = {name: (folder / name).read_bytes() for name in files_under(folder)}
    with pytest.raises(error):
        pipeline.run(compose_config(["method=ce", *tiny_overrides, "method.epochs=1", "method.drop_last=true",
                                     "overwrite=true", *bad]), [])
    assert {name: (folder / name).read_bytes() for name in files_under(folder)} == before
    assert record.finished(folder, cfg) is not None


# --------------------------------------------------------------------------- 2. caches are verified
@needs_data
@pytest.mark.slow
def test_damaged_or_edited_feature_cache_is_rebuilt_never_used(tiny_overrides, capsys):
    cfg = compose_config(["method=ce", *tiny_overrides])
    splits, facts, _ = pipeline.prepare_data(cfg, progress=False)
    cache = Path(cfg.cache_dir) / "features" / f"emoint-{facts['feature_cache']}"
    arrow = next((cache / "test").glob("*.arrow"))
    data = bytearray(arrow.read_bytes())
    data[len(data) // 2] ^= 1  # one edited byte: a token id, a label or a length
    arrow.write_bytes(bytes(data))
    again, _, _ = pipeline.prepare_data(cfg, progress=False)
    err = capsys.readouterr().err
    assert f"rebuild: {cache}: test/{arrow.name} does not match the checksum written with it" in err
    assert again.test == splits.test and again.train == splits.train
    next((cache / "train").glob("*.arrow")).write_bytes(b"truncated")  # Arrow itself would raise on this
    again, _, _ = pipeline.prepare_data(cfg, progress=False)
    assert f"rebuild: {cache}: train/" in capsys.readouterr().err
    assert again.train == splits.train
    pipeline.prepare_data(cfg, progress=False)
    assert "rebuild" not in capsys.readouterr().err  # the rebuilt cache is used as it is


def test_edited_augmentation_views_are_recomputed_never_used(tmp_path, capsys):
    from lcl_repro.data.augment import augment_texts

    def synonyms(word: str) -> list[str]:
        return [word.upper()]

    texts = ["the cat sat on the mat", "a dog ran far away", "birds sing in spring"]
    kwargs = dict(seed=0, p=0.5, cache_dir=tmp_path, cache_key="t", synonyms=synonyms)
    views = augment_texts(texts, **kwargs)
    [path] = tmp_path.glob("*.json")
    stored = json.loads(path.read_text())
    stored["texts"][1] = "an edited view"
    path.write_text(json.dumps(stored))
    assert augment_texts(texts, **kwargs) == views
    assert f"rebuild: {path}: its views do not match the checksum written with them" in capsys.readouterr().err
    path.write_text(path.read_text()[:40])  # truncated
    assert augment_texts(texts, **kwargs) == views
    assert f"rebuild: {path}: it cannot be read" in capsys.readouterr().err
    assert augment_texts(texts, **kwargs) == views
    assert "rebuild" not in capsys.readouterr().err


# --------------------------------------------------------------------------- 3. a run must train
@needs_data
@pytest.mark.slow
def test_zero_optimizer_steps_is_an_error_before_anything_is_written(tiny_overrides):
    # LCL's batch of 10 with drop_last on a 2-shot EmoInt split (4 classes x 2 = 8 rows); CE with
    # LCL's batch settings takes the same path without loading WordNet
    cfg = compose_config(["method=ce", *tiny_overrides, "dataset.sampling.few_shot_k=2", "method.batch_size=10",
                          "method.drop_last=true"])
    with pytest.raises(ConfigError) as err:
        pipeline.run(cfg)
    assert str(err.value).startswith("the training split has 8 example(s), fewer than one batch of 10 (stage train) "
                                     "with method.drop_last=true: no optimizer step would be taken")
    assert not Path(cfg.output_root).exists()


# --------------------------------------------------------------------------- 4. faults of the machine
def test_full_disk_in_an_atomic_write_names_the_file_and_the_space(tmp_path):
    def write(tmp: Path) -> None:
        tmp.write_bytes(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(NoSpaceLeft) as err:
        atomic_write(tmp_path / "metrics.json", write, size_hint=5 << 20)
    assert err.value.exit_code == EXIT_NO_SPACE == 74
    assert f"while writing {tmp_path / 'metrics.json'} (needs at least 5.0 MB, " in str(err.value)
    assert list(tmp_path.iterdir()) == []  # the partial file is gone


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB filesystem (tmpfs): needs root and mount, else the test is skipped."""
    where = tmp_path / "small"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield where
    subprocess.run(["umount", str(where)], capture_output=True)


@needs_data
@pytest.mark.slow
def test_full_disk_is_one_line_with_exit_74_and_no_partial_file(small_disk, tmp_path):
    """The checkpoint of the tiny encoder (11 MB) does not fit a 4 MB disk: torch.save's own error
    ("unexpected pos") becomes one line naming the file and the space it needs."""
    done = run_cli(*TINY, f"data_dir={DATA}", f"output_root={small_disk}", f"cache_dir={tmp_path / 'cache'}")
    assert done.returncode == EXIT_NO_SPACE, done.stderr[-3000:]
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: no space left on the device of ") and "checkpoint/last.pt (needs at least 11" in line
    assert not [p for p in small_disk.rglob("*") if p.name.endswith(".tmp") or p.name == lock.LOCK_NAME]
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as fh:  # a disk full to the last block takes an empty lock file, not its first line
        try:
            while True:
                fh.write(b"x" * 4096)
        except OSError:
            pass
    done = run_cli(*TINY, f"data_dir={DATA}", f"output_root={small_disk}", f"cache_dir={tmp_path / 'cache'}")
    assert done.returncode == EXIT_NO_SPACE, done.stderr[-3000:]
    [line] = done.stderr.strip().splitlines()
    assert "while writing " in line and f"/seed0/{lock.LOCK_NAME} (needs at least 100 bytes, 0 bytes free)" in line


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("sig,code,what", [(signal.SIGINT, 130, "interrupted (Ctrl-C)"),
                                           (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_interrupted_multirun_is_one_line_removes_its_lock_and_resumes(tmp_path, sig, code, what):
    args = [sys.executable, str(REPO / "run.py"), *TINY, "method.epochs=30", "seed=0..1", f"data_dir={DATA}",
            f"output_root={tmp_path}"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:  # interrupt it mid-training
        if line.startswith("[train epoch 3]"):
            proc.send_signal(sig)
            break
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-3000:]
    assert err.strip().splitlines() == [f"{what}: rerun the same command to resume (finished runs are skipped, an "
                                        "unfinished one resumes from its last epoch checkpoint)"]
    assert not list(tmp_path.rglob(lock.LOCK_NAME)) and not list(tmp_path.rglob(".*.tmp"))
    assert list(tmp_path.rglob("checkpoint/last.pt"))  # kept for the resume


# --------------------------------------------------------------------------- 5. sweeps share an output root
@needs_data
@pytest.mark.slow
def test_multirun_leaves_a_run_another_process_trains_and_goes_on(tmp_path):
    cfg = compose_config([*TINY, f"data_dir={DATA}", f"output_root={tmp_path}", "seed=0"])
    overrides = [o for o in TINY if o.split("=")[0] not in ("progress", "hardware.num_threads")]
    busy = record.run_dir(cfg, overrides)
    with lock.hold(busy):  # another process's run: flock excludes every other open file
        done = run_cli(*TINY, "seed=0..1", f"data_dir={DATA}", f"output_root={tmp_path}")
    assert done.returncode == EXIT_BUSY, done.stderr[-3000:]
    assert f"busy, not run: {busy} is being trained by another process (pid {os.getpid()} on " in done.stdout
    assert (busy.parent / "seed1" / "DONE").exists()  # the sweep went on
    assert done.stderr.strip().splitlines()[-1].startswith(f"not run: 1 job(s) trained by another process, left to "
                                                           f"it: {busy}: being trained by another process (pid")
    assert not (busy / "DONE").exists()


@needs_data
@pytest.mark.slow
def test_sweep_waits_for_a_busy_run_when_asked_and_lists_what_it_left(tmp_path, capsys):
    from lcl_repro.report.sweep import launch

    command = ["-m", *TINY, "seed=0,1", f"data_dir={DATA}", f"output_root={tmp_path}"]
    cfg = compose_config([*TINY, f"data_dir={DATA}", f"output_root={tmp_path}", "seed=1"])
    busy = record.run_dir(cfg, [o for o in TINY if o.split("=")[0] not in ("progress", "hardware.num_threads")])
    with lock.hold(busy):
        assert launch([command]) == EXIT_BUSY
    assert f"not run: 1 run(s) being trained by another process, left to it" in capsys.readouterr().err
    assert not (busy / "DONE").exists() and (busy.parent / "seed0" / "DONE").exists()

    holding, waiting = threading.Event(), threading.Event()

    def other_process() -> None:  # holds the run until the sweep waits for it, then finishes
        with lock.hold(busy):
            holding.set()
            waiting.wait(timeout=120)
            time.sleep(1)

    thread = threading.Thread(target=other_process)
    thread.start()
    holding.wait()
    import lcl_repro.report.sweep as sweep

    original = sweep.wait_for

    def wait_for(folders):
        waiting.set()
        original(folders, poll_s=0.2)

    sweep.wait_for = wait_for
    try:
        assert launch([command], wait_busy=True) == 0
    finally:
        sweep.wait_for = original
        thread.join()
    out = capsys.readouterr()
    assert f"waiting for {busy} (trained by another process)" in out.out and "not run" not in out.err
    assert (busy / "DONE").exists()


# --------------------------------------------------------------------------- 6. plans, dry runs and reports say what they leave out
TABLE = {"name": "faults_test", "title": "t", "source": "s", "encoder": "minilm", "seeds": 2,
         "systems": {"CE": {"method": "ce"}}, "columns": {"EmoInt": {"dataset": "emoint"}}}


def test_unusable_benchmark_files_are_left_out_and_named(tmp_path):
    from lcl_repro.report.cost import find_rates

    def bench(name: str, rate, age: int) -> Path:
        digest = {"device": "cpu", "device_name": "AMD EPYC", "encoder": "minilm", "threads": 2,
                  "train": {"fp32": {"ce": rate}}, "eval": {"fp32": 500.0}}
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"rates": digest}))
        os.utime(path, (time.time() - age, time.time() - age))
        return path

    good = bench("good", 100.0, age=100)  # the oldest: every newer one is unusable
    for name, rate in (("zero", 0), ("string", "fast"), ("negative", -50.0), ("nan", float("nan"))):
        bench(name, rate, age=10)
    (tmp_path / "broken.json").write_text("{not json")
    left: list[str] = []
    rates = find_rates(tmp_path, "cpu", "fp32", "minilm", "AMD EPYC", left)
    assert rates.source == str(good) and rates.train == {"ce": 100.0}
    assert sorted(left) == sorted([
        f"{tmp_path / 'broken.json'}: not a readable benchmark file (JSONDecodeError)",
        f"{tmp_path / 'zero.json'}: rates.train.fp32.ce = 0 is not a positive number of tokens per second",
        f"{tmp_path / 'string.json'}: rates.train.fp32.ce = 'fast' is not a positive number of tokens per second",
        f"{tmp_path / 'negative.json'}: rates.train.fp32.ce = -50.0 is not a positive number of tokens per second",
        f"{tmp_path / 'nan.json'}: rates.train.fp32.ce = nan is not a positive number of tokens per second"])


def test_plan_prints_the_benchmark_files_it_left_out(tmp_path):
    from lcl_repro.report.cost import DataStats
    from lcl_repro.report.plan import make_plan
    from lcl_repro.report.tables import table_from
    from omegaconf import OmegaConf

    (tmp_path / "bench").mkdir()
    digest = {"device": "cuda", "device_name": "NVIDIA H100", "encoder": "minilm", "threads": 8,
              "train": {"fp32": {"ce": 0}}, "eval": {"fp32": 500.0}}
    (tmp_path / "bench" / "h100.json").write_text(json.dumps({"rates": digest}))
    text = make_plan(table_from(OmegaConf.create(TABLE), Path("faults_test.yaml")), "cpu",
                     [f"output_root={tmp_path}", "data_dir=data", "hardware=gpu"], "data", tmp_path / "bench",
                     compose_config, measure=False, stats=lambda cfg: DataStats(10, 10, 10, 10.0, 10.0),
                     missing=lambda d, dd: None, data_hash=lambda cfg: "h")
    assert "rates: not measured for cuda/fp32" in text
    assert (f"benchmark file left out: {tmp_path / 'bench' / 'h100.json'}: rates.train.fp32.ce = 0 is not a "
            "positive number of tokens per second") in text


@needs_data
def test_dry_run_says_restart_where_the_run_would_restart(tiny_overrides, capsys):
    from lcl_repro.train import checkpoint

    cfg = compose_config(["method=ce", *tiny_overrides, "dry_run=true"])
    folder = record.run_dir(cfg)
    checkpoint.save(folder, {"identity": {"fingerprint": record.fingerprint(cfg), "data_hash": "of other data"}})
    pipeline.run(cfg)
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        f"run folder: {folder} (restart: its checkpoint belongs to other settings or data, training from the "
        "first epoch)")
    data_hash = record.data_identity(pipeline.load_data(cfg))["data_hash"]
    checkpoint.save(folder, {"identity": {"fingerprint": record.fingerprint(cfg), "data_hash": data_hash}})
    pipeline.run(cfg)
    assert capsys.readouterr().out.strip().endswith("(resume from checkpoint)")
    pipeline.run(compose_config(["method=ce", *tiny_overrides, "dry_run=true", "overwrite=true"]))
    assert capsys.readouterr().out.strip().endswith("(overwrite: deletes its checkpoint, training from the first epoch)")


def test_report_names_records_it_leaves_out_and_the_encoder_the_runs_used(tmp_path):
    from lcl_repro.report.collect import collect, encoder_used
    from lcl_repro.report.tables import cell_overrides, cells, table_from
    from lcl_repro.track.files import write_json
    from omegaconf import OmegaConf
    from tests.conftest import synthetic_data

    table = table_from(OmegaConf.create(TABLE), Path("faults_test.yaml"))
    extra = [f"output_root={tmp_path}", "encoder=tiny"]
    [cell] = cells(table, "cpu", runnable_only=True)
    folders = {}
    for seed in (0, 1):
        overrides = [*cell_overrides(cell, seed), *extra]
        cfg = compose_config(overrides)
        folder = folders[seed] = record.run_dir(cfg, overrides)
        write_json(folder / "metrics.json", {"encoder": "tiny", "seed": seed, "test": {"accuracy": 50.0}})
        record.mark_done(folder, cfg, {"data_hash": "h", "source_hash": "s"})
    write_json(folders[1] / record.DONE_FILE, {"fingerprint": record.read_done(folders[1])["fingerprint"]})  # format 1
    [found] = collect(table, "cpu", tmp_path, synthetic_data(tmp_path / "data", "emoint"), extra)
    assert found.status == "partial" and [r.seed for r in found.runs] == [0]
    assert found.detail == (f"1 record(s) left out, rerun to redo them (seed 1: {folders[1]}: DONE is of an older "
                            "record format (no data hash or checksums))")
    assert encoder_used([found], "minilm") == "tiny (the runs'; the table names minilm)"


# --------------------------------------------------------------------------- 7. large grids
def test_large_multirun_asks_first_and_checks_one_job_per_distinct_configuration(tmp_path):
    done = run_cli("seed=0..399", "dry_run=true", f"output_root={tmp_path}", stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "error: this multirun has 400 jobs, more than 200: pass --yes to dry-run them all, or narrow the sweep "
        "(a seed range such as seed=0..4)"]
    assert files_under(tmp_path) == []

    from hydra.plugins.sweeper import Sweeper

    from lcl_repro.cli import validate_distinct_configurations

    composed = []

    class Loader:
        def load_sweep_config(self, master_config, sweep_overrides):
            composed.append(sweep_overrides)

    class Probe(Sweeper):
        config, config_loader, hydra_context = object(), Loader(), None

        def setup(self, *args, **kwargs): ...

        def sweep(self, arguments): ...

    original = Sweeper.validate_batch_is_legal
    try:
        validate_distinct_configurations()
        Probe().validate_batch_is_legal([["method=ce", f"seed={s}"] for s in range(300)] + [["method=scl", "seed=0"]])
    finally:
        Sweeper.validate_batch_is_legal = original
    assert sorted(job[0] for job in composed) == ["method=ce", "method=scl"]  # not 301 compositions


@pytest.mark.slow
def test_confirmed_large_dry_run_says_it_is_checking_and_starts_within_seconds(tmp_path):
    proc = subprocess.Popen([sys.executable, str(REPO / "run.py"), "--yes", "seed=0..399", "dry_run=true",
                             f"output_root={tmp_path}", f"data_dir={DATA or 'data'}"], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    started, first, launching = time.perf_counter(), None, None
    for line in proc.stdout:
        first = first or line.strip()
        if "Launching 400 jobs" in line:
            launching = time.perf_counter() - started
            break
    proc.kill()
    proc.wait()
    assert first == "checking 400 jobs (1 distinct configuration(s), the seeds share one) ..."
    assert launching is not None and launching < 60  # was 70 s of silence: Hydra composed all 400 jobs first


def test_table_sweep_over_the_size_asks_first(capsys):
    from lcl_repro.errors import UserError
    from lcl_repro.report.sweep import job_count, launch

    command = ["-m", "method=ce,lcl", "dataset=ed,isear", "seed=0,1,2,3,4,5,6,7,8,9", "method.lr=1e-5,2e-5,3e-5"]
    assert job_count(command) == 120
    with pytest.raises(UserError, match="this sweep has 240 runs, more than 200: pass yes=true to dry-run them all"):
        launch([command, command], dry_run=True)
    assert launch([command, command], dry_run=True, yes=True) == 0


# --------------------------------------------------------------------------- 8. paths as a shell passes them
@pytest.mark.parametrize("value,expected", [
    ("/tmp/résumé runs", "/tmp/résumé runs"), ("/data/中文", "/data/中文"), ("/tmp/my runs", "/tmp/my runs")])
def test_paths_with_spaces_or_non_ascii_letters_work_in_single_runs_as_in_multiruns(tmp_path, value, expected):
    from lcl_repro.cli import expand_ranges
    from lcl_repro.compose import compose

    for multirun in (False, True):
        args = expand_ranges([f"output_root={value}", *(["seed=0..1"] if multirun else [])])
        assert compose([a for a in args if not a.startswith("-") and not a.startswith("seed")]).output_root == expected


@pytest.mark.slow
def test_a_single_run_takes_a_non_ascii_path_and_a_comma_says_how_to_quote(tmp_path):
    root = tmp_path / "résumé runs"
    done = run_cli("dry_run=true", f"output_root={root}")
    assert done.returncode == 0 and done.stdout.strip().endswith(f"run folder: {root}/runs/emoint/ce/minilm/seed0 "
                                                                 "(new run)"), done.stderr[-2000:]
    done = run_cli("dry_run=true", f"output_root={tmp_path}/a,b")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: output_root={tmp_path}/a,b is a sweep: add --multirun to run each value, or quote the value to pass "
        f"it as one string: \"output_root='{tmp_path}/a,b'\""]
    done = run_cli("dry_run=true", f"output_root='{tmp_path}/a,b'")
    assert done.returncode == 0 and f"run folder: {tmp_path}/a,b/runs/" in done.stdout


def test_plan_names_records_it_counts_to_do_because_they_are_left_out(tmp_path):
    from lcl_repro.report.cost import DataStats, Rates
    from lcl_repro.report.plan import plan_cells, render
    from lcl_repro.report.tables import cell_overrides, cells, table_from
    from lcl_repro.track.files import write_json
    from omegaconf import OmegaConf

    table = table_from(OmegaConf.create(TABLE), Path("faults_test.yaml"))
    extra = [f"output_root={tmp_path}", "data_dir=data"]
    [cell] = cells(table, "cpu", runnable_only=True)
    overrides = [*cell_overrides(cell, 0), *extra]
    cfg = compose_config(overrides)
    folder = record.run_dir(cfg, overrides)
    write_json(folder / "metrics.json", {})
    write_json(folder / record.DONE_FILE, {"fingerprint": record.fingerprint(cfg)})  # format 1
    rates = Rates("r.json", "cpu", "AMD EPYC", "minilm", "fp32", 2, train={"ce": 1000.0}, eval=500.0)
    [plan] = plan_cells(table, "cpu", extra, compose_config, rates, "data", stats=lambda cfg: DataStats(10, 10, 10, 10.0, 10.0),
                        missing=lambda d, dd: None, data_hash=lambda cfg: "h")
    assert plan.todo == [0, 1] and plan.reruns == [
        f"{folder}: DONE is of an older record format (no data hash or checksums)"]
    text = render(table, "cpu", "cpu", "cpu", "fp32", [plan], rates)
    assert (f"counted to do, its record left out: {folder}: DONE is of an older record format (no data hash or "
            "checksums)") in text

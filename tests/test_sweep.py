"""Sweeps on Dask: the grid, the tally across seeds, the page, and real clusters on 127.0.0.1 (a
LocalCluster with 2 workers, a worker killed mid-member, `dask scheduler` + `dask worker` as
processes). Members are the smoke profile made tiny, so a member takes about a minute."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from paperlib.claims.across_seeds import share_interval, spread, sweep_verdict, tally_claims
from paperlib.cli import main
from paperlib.core.results import ClaimRecord
from paperlib.core.run_folder import RunFolderError, open_existing_run
from paperlib.core.sweep_record import (ClaimTally, GroupSummary, MemberRecord, Spread, SweepFolder,
                                        SweepRecord)
from paperlib.publish.across_seeds_page import across_seeds_page, matching_sweep, no_sweep_page
from paperlib.sweep import runner
from paperlib.sweep.cluster import dask_client, local_workers
from paperlib.sweep.grid import expand, parse_axes, parse_axis
from paperlib.sweep.member import pack, unpack

TINY = ["clips_per_genre=4", "folds=2", "epochs=3", "early_stopping_start=1", "attention_warmup=1"]
SWEPT = ["01_data", "02_model", "03_cv_training"]
VOLATILE = {"seconds", "training_seconds", "cache_hit"}  # timings and cache state differ run to run


# --- the grid -----------------------------------------------------------------------------------

def test_axes_are_yaml_values_split_at_top_level_commas():
    assert parse_axis("split=random,artist") == ("split", ["random", "artist"])
    assert parse_axis("conv_filters=[8,16,32],[4,8,16]") == ("conv_filters", [[8, 16, 32], [4, 8, 16]])
    assert parse_axis("epochs=3") == ("epochs", [3])
    for bad in ("epochs", "=3", "epochs=", "epochs=3,3", "x=[1,"):
        with pytest.raises(ValueError):
            parse_axis(bad)
    with pytest.raises(ValueError, match="twice"):
        parse_axes(["epochs=3", "epochs=4"])
    with pytest.raises(ValueError, match="run_dir"):
        parse_axes(["run_dir=runs/x"])


def test_members_are_seeds_times_values_named_by_what_varies():
    members = expand("smoke", seeds=2, axes=parse_axes(["epochs=2,3", "folds=2"]))
    assert [m.name for m in members] == ["seed-42_epochs-2", "seed-42_epochs-3",
                                         "seed-43_epochs-2", "seed-43_epochs-3"]
    assert len({m.config_key for m in members}) == 4
    assert members[0].overrides == {"seed": 42, "epochs": 2, "folds": 2}
    assert members[0].group() == members[2].group() != members[1].group()
    assert [m.name for m in expand("smoke", seeds=None, axes=parse_axes(["seed=7,1"]))] == ["seed-7", "seed-1"]
    assert [m.name for m in expand("smoke", seeds=None, axes={})] == ["seed-42"]


def test_a_bad_grid_is_refused_before_any_work():
    with pytest.raises(ValueError, match="not both"):
        expand("smoke", seeds=2, axes=parse_axes(["seed=1,2"]))
    with pytest.raises(ValueError, match="at least 1"):
        expand("smoke", seeds=0, axes={})
    with pytest.raises(ValueError, match="split"):  # artist folds exist only for GTZAN
        expand("smoke", seeds=1, axes=parse_axes(["split=random,artist"]))
    with pytest.raises(ValueError, match="Unknown parameter"):
        expand("smoke", seeds=1, axes=parse_axes(["epoch=3"]))
    with pytest.raises(ValueError, match="Unknown notebook"):
        runner.plan_sweep("smoke", seeds=1, sets=[], notebooks=["09_nothing"])


# --- across seeds -------------------------------------------------------------------------------

def test_sweep_verdicts_follow_the_share_of_members():
    assert sweep_verdict(4, 5) == "holds" and sweep_verdict(5, 5) == "holds"
    assert sweep_verdict(1, 5) == "does not hold" and sweep_verdict(0, 3) == "does not hold"
    assert sweep_verdict(3, 5) == "unstable" and sweep_verdict(1, 2) == "unstable"
    assert sweep_verdict(0, 0) == "not testable here"
    with pytest.raises(ValueError):
        sweep_verdict(3, 2)
    low, high = share_interval(2, 2)  # Wilson: (n + z^2)^-1 ... for 2 of 2 the lower end is 0.342
    assert high == pytest.approx(1.0) and low == pytest.approx(0.3424, abs=1e-3)
    assert share_interval(0, 0) == (None, None)


def _claim(text: str, holds: bool | None) -> ClaimRecord:
    return ClaimRecord(section="3.1", claim=text, paper="p", this_run="r", holds=holds)


def test_claims_are_tallied_over_the_members_where_they_were_testable():
    members = {f"m{i}": {"04_confusion": SimpleNamespace(claims=[
        _claim("a", i < 4), _claim("b", None if i == 0 else i % 2 == 0), _claim("c", None)])}
        for i in range(5)}
    tallies = {t.claim: t for t in tally_claims(members)}
    assert (tallies["a"].holds, tallies["a"].testable, tallies["a"].verdict) == (4, 5, "holds")
    assert (tallies["b"].holds, tallies["b"].testable, tallies["b"].verdict) == (2, 4, "unstable")
    assert tallies["c"].verdict == "not testable here" and tallies["c"].members == 5
    assert tallies["a"].low < 0.8 < tallies["a"].high


def test_spread_gives_mean_sd_and_an_interval_around_the_mean():
    s = spread("x", "x", [0.9, 0.8, 0.85])
    assert s.mean == pytest.approx(0.85) and s.sd == pytest.approx(0.05)
    assert s.low < 0.85 < s.high
    one = spread("x", "x", [0.9, None])
    assert one.mean == 0.9 and one.sd is None and one.low is None
    assert spread("x", "x", [0.7, 0.7]).low == 0.7


def _record(groups: list[GroupSummary], members: list[MemberRecord]) -> SweepRecord:
    return SweepRecord(name="s", profile="default", axes={"seed": [1, 2]}, members=members,
                       groups=groups, updated="2026-12-01T00:00:00+00:00")


def test_the_page_puts_groups_side_by_side_and_names_failed_members(tmp_path):
    tally = ClaimTally(step="04_confusion", section="3.1", claim="blues | country", paper="p",
                       holds=2, testable=3, members=3, share=2 / 3, low=0.2, high=0.94,
                       verdict="unstable")
    number = Spread(name="03_cv_training.oof_accuracy", label="out-of-fold accuracy",
                    values=[0.9, 0.8], mean=0.85, sd=0.07, low=0.2, high=1.0)
    groups = [GroupSummary(label="split=random", values={}, members=["a"], claims=[tally], numbers=[number]),
              GroupSummary(label="split=artist", values={}, members=["b"], claims=[], numbers=[])]
    members = [MemberRecord(name="a", overrides={"seed": 1}, config_key="k1", status="done"),
               MemberRecord(name="b", overrides={"seed": 2}, config_key="k2", status="failed",
                            error="boom", notebook="/x/01_data.ipynb")]
    page = across_seeds_page(_record(groups, members), tmp_path)
    assert "| split=random | split=artist |" in page
    assert "2/3 · [0.20, 0.94] · **unstable**" in page and "blues \\| country" in page
    assert "0.850 ± 0.070" in page and "1 unstable" in page
    assert "`b`: boom (executed notebook: `/x/01_data.ipynb`)" in page
    command = "paperlib sweep --profile paper --seeds 5 --set 'conv_filters=[4,8,16]' --set 'data_dir=~/my gtzan'"
    assert command in no_sweep_page({"profile": "paper", "overrides": {
        "seed": 7, "run_dir": "runs/x", "data_dir": "~/my gtzan", "conv_filters": [4, 8, 16]}})


# --- the pieces of a run on Dask ------------------------------------------------------------------

def test_a_run_folder_travels_packed_and_lands_whole(tmp_path):
    source = tmp_path / "src"
    (source / "notebooks").mkdir(parents=True)
    (source / "metrics.json").write_text("{}")
    (source / "notebooks" / "01.ipynb").write_bytes(os.urandom(1000))
    dest = tmp_path / "sweep" / "members" / "seed-1"
    dest.mkdir(parents=True)
    (dest / "stale.txt").write_text("from a failed try")
    unpack(pack(source), dest)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "metrics.json", "notebooks", "notebooks/01.ipynb"]
    assert (dest / "notebooks" / "01.ipynb").read_bytes() == (source / "notebooks" / "01.ipynb").read_bytes()
    assert [p.name for p in dest.parent.iterdir()] == ["seed-1"]  # no staging folder left


def test_workers_and_schedulers_are_checked():
    assert local_workers(3) == 3 and local_workers() >= 1
    with pytest.raises(ValueError):
        local_workers(0)
    with pytest.raises(RuntimeError, match="dask scheduler"):
        with dask_client("tcp://127.0.0.1:9", timeout_s=2):
            pass


def test_a_sweep_folder_of_another_profile_is_refused(tmp_path):
    folder = SweepFolder(tmp_path / "s")
    folder.path.mkdir()
    folder.write(_record([], []))
    with pytest.raises(RunFolderError, match="profile 'default'"):
        runner.plan_sweep("smoke", seeds=1, sets=[], name=str(folder.path))
    folder.path_of("sweep_record").write_text('{"schema_version": 99}')
    with pytest.raises(RunFolderError, match="schema 99"):
        folder.read()


# --- real clusters --------------------------------------------------------------------------------

def _results(run_dir: Path, steps: list[str]) -> dict:
    results = open_existing_run(run_dir).results()
    return {s: {k: v for k, v in results[s].model_dump(mode="json").items() if k not in VOLATILE}
            for s in steps}


@pytest.fixture(scope="module")
def two_seed_sweep(tmp_path_factory):
    """A 2-seed sweep of the tiny smoke profile (notebooks 01-03: data, model, training, each
    with claims) on a LocalCluster with 2 workers."""
    root = tmp_path_factory.mktemp("sweep")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENRE_SIGNATURES_DATA", str(root / "data"))
        patch.setenv("GENRE_SIGNATURES_RUNS", str(root / "runs"))
        plan = runner.plan_sweep("smoke", seeds=2, sets=TINY, name="two-seeds", notebooks=SWEPT)
        record = runner.run_sweep(plan, workers=2, progress=False)
        # run again: every member is done, so no cluster is even started
        patch.setattr(runner, "dask_client", lambda *a, **k: pytest.fail("a done member ran again"))
        again = runner.run_sweep(plan, workers=2, progress=False)
    return plan, record, again


@pytest.mark.slow
def test_a_two_seed_sweep_runs_on_a_local_cluster_and_says_how_often(two_seed_sweep, monkeypatch):
    plan, record, again = two_seed_sweep
    assert [m.status for m in record.members] == ["done", "done"]
    assert len({m.worker for m in record.members}) == 2, "the 2 members ran on 2 workers"
    [group] = record.groups
    members = {m.name: plan.folder.member_dir(m.name) for m in record.members}
    metrics = {n: open_existing_run(d).results() for n, d in members.items()}
    claims = [(s, c.claim, c.holds) for r in metrics.values() for s in r for c in r[s].claims]
    assert len(group.claims) == len({(s, c) for s, c, _ in claims})
    for tally in group.claims:
        held = [h for s, c, h in claims if (s, c) == (tally.step, tally.claim)]
        assert tally.testable == sum(h is not None for h in held) and tally.holds == sum(h is True for h in held)
    oof = next(s for s in group.numbers if s.name == "03_cv_training.oof_accuracy")
    assert oof.values == [metrics[n]["03_cv_training"].oof_accuracy for n in members]
    stored = json.loads(plan.folder.path_of("sweep_record").read_text())
    assert stored["groups"] == json.loads(record.model_dump_json())["groups"]
    assert again.groups == record.groups and [m.seconds for m in again.members] == [m.seconds for m in record.members]
    # a run made apart from the sweep, with the same parameters, finds the sweep; with others, not
    monkeypatch.setenv("GENRE_SIGNATURES_RUNS", str(plan.folder.path.parent))
    other = Path(shutil.copytree(members[record.members[1].name], plan.folder.path.parent / "apart"))
    assert matching_sweep(other).path == plan.folder.path
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["config"]["epochs"] += 1
    (other / "manifest.json").write_text(json.dumps(manifest))
    assert matching_sweep(other) is None
    page = across_seeds_page(record, plan.folder.path)
    assert "Across seeds" in page and "two-seeds" in page and "out-of-fold accuracy" in page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_member_whose_worker_is_killed_runs_again_with_the_same_results(two_seed_sweep, tmp_path,
                                                                          monkeypatch):
    from distributed import Client, LocalCluster

    plan, record, _ = two_seed_sweep
    steps = ["01_data", "02_model"]
    reference = _results(plan.folder.member_dir(record.members[0].name), steps)
    scratch = tmp_path / "worker-tmp"  # the workers' temporary folders: one per attempt of a member
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    killed = []
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      memory_limit=0) as cluster, Client(cluster) as spy:
        again = runner.plan_sweep("smoke", seeds=1, sets=TINY, name=str(tmp_path / "killed"),
                                  notebooks=steps)
        outcome: dict = {}
        thread = threading.Thread(target=lambda: outcome.update(
            record=runner.run_sweep(again, scheduler=cluster.scheduler_address, progress=False)))
        thread.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            busy = {w: keys for w, keys in spy.processing().items() if keys}
            if busy and any((p / "run" / "notebooks" / "01_data.ipynb").is_file()
                            for p in scratch.glob("genre-signatures-member-*")):
                worker, keys = next(iter(busy.items()))  # inside the member: its first notebook is done
                pid = spy.run(os.getpid, workers=[worker])[worker]
                os.kill(pid, signal.SIGKILL)
                killed.append((worker, keys[0]))
            time.sleep(0.5)
        thread.join(timeout=400)
    assert killed, "no worker ever got into the member"
    assert not thread.is_alive(), "the sweep did not finish after its worker was killed"
    [member] = outcome["record"].members
    assert member.status == "done" and member.worker != killed[0][0]
    attempts = list(scratch.glob("genre-signatures-member-*"))
    assert len(attempts) == 1, "the killed attempt's folder stays, the retry's is cleaned"
    assert _results(again.folder.member_dir(member.name), steps) == reference


@pytest.mark.slow
def test_a_sweep_goes_to_a_running_scheduler_and_a_failing_member_is_reported(tmp_path, capsys):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = subprocess.Popen([bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port",
                                  str(port), "--no-dashboard"], **quiet)
    worker = subprocess.Popen([bin_dir / "dask", "worker", address, "--host", "127.0.0.1",
                               "--nthreads", "1", "--no-dashboard", "--memory-limit", "0"], **quiet)
    try:
        empty = tmp_path / "no-gtzan-here"
        empty.mkdir()
        code = main(["sweep", "--profile", "smoke", "--scheduler", address, "--name",
                     str(tmp_path / "remote"), "--notebooks", "01_data", "--set", "clips_per_genre=4",
                     "--set", "folds=2", "--set", "dataset=synthetic,gtzan", "--set", f"data_dir={empty}"])
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)
    out = capsys.readouterr().out
    record = SweepFolder(tmp_path / "remote").read()
    status = {m.name: m for m in record.members}
    assert code == 1 and status["seed-42_dataset-synthetic"].status == "done"
    failed = status["seed-42_dataset-gtzan"]
    member_dir = SweepFolder(tmp_path / "remote").member_dir(failed.name)
    assert failed.status == "failed" and "01_data" in failed.error and str(member_dir) in failed.error
    assert Path(failed.notebook).is_file(), "the failed member's executed notebook came back"
    assert "1 of 2 members done, 1 failed" in out and "seed-42_dataset-gtzan failed" in out
    assert record.groups[0].members == ["seed-42_dataset-synthetic"]


@pytest.mark.slow
def test_an_interrupted_sweep_keeps_its_finished_members(tmp_path, monkeypatch):
    plan = runner.plan_sweep("smoke", seeds=2, sets=["clips_per_genre=4", "folds=2"],
                             name=str(tmp_path / "interrupted"), notebooks=["01_data"])
    write = runner.Sweep.write

    def interrupted_once_a_member_is_done(self):
        record = write(self)
        if self.count("done") and not getattr(self, "interrupted", False):
            self.interrupted = True
            raise KeyboardInterrupt  # Ctrl-C right after the first member came back
        return record

    monkeypatch.setattr(runner.Sweep, "write", interrupted_once_a_member_is_done)
    with pytest.raises(KeyboardInterrupt):
        runner.run_sweep(plan, workers=1, progress=False)
    record = plan.folder.read()
    assert [m.status for m in record.members] == ["done", "pending"]
    assert (plan.folder.member_dir(record.members[0].name) / "notebooks" / "01_data.ipynb").is_file()
    assert record.groups and record.groups[0].members == [record.members[0].name]

"""Sweeps on Dask: the grid, the tally across seeds, the page, and real clusters on 127.0.0.1
(`dask scheduler` + `dask worker` as processes, an interrupted sweep; test_sweep_local_cluster.py
has the LocalCluster's). Members are the smoke profile made tiny."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from paperlib.claims.across_seeds import share_interval, spread, sweep_verdict, tally_claims
from paperlib.cli import main
from paperlib.core.results import Claim
from paperlib.core.run_folder import RunFolderError
from paperlib.core.sweep_record import (ClaimTally, GroupSummary, MemberRecord, Spread, SweepFolder,
                                        SweepRecord)
from paperlib.publish.across_seeds_page import across_seeds_page, no_sweep_page
from paperlib.sweep import runner
from paperlib.sweep.cluster import dask_client, local_workers
from paperlib.core.overrides import parse_set
from paperlib.sweep.grid import expand, parse_axes
from paperlib.sweep.member import pack, unpack

# Members as small as the notebooks allow: the sweep's machinery is under test, not the numbers.
TINY = ["clips_per_genre=4", "folds=2", "epochs=3", "early_stopping_start=1", "attention_warmup=1",
        "clip_seconds=10"]
SWEPT = ["01_data", "02_model", "03_cv_training"]


# --- the grid -----------------------------------------------------------------------------------

def test_axes_are_yaml_values_split_at_top_level_commas():
    assert parse_set("split=random,artist", several=True) == ("split", ["random", "artist"])
    assert parse_set("conv_filters=[8,16,32],[4,8,16]", several=True) == ("conv_filters", [[8, 16, 32], [4, 8, 16]])
    assert parse_set("epochs=3", several=True) == ("epochs", [3])
    for bad in ("epochs", "=3", "epochs=", "epochs=3,3", "x=[1,"):
        with pytest.raises(ValueError):
            parse_set(bad, several=True)
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


def _claim(text: str, holds: bool | None) -> Claim:
    return Claim(section="3.1", claim=text, paper="p", this_run="r", holds=holds)


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

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
                     str(tmp_path / "remote"), "--notebooks", "01_data", "--set", "clips_per_genre=4", "--set", "clip_seconds=10",
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
    plan = runner.plan_sweep("smoke", seeds=2, sets=["clips_per_genre=4", "folds=2", "clip_seconds=10"],
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


def test_a_start_that_cannot_be_unpacked_fails_the_member_and_comes_back_unchanged():
    """The folder a member was sent (its models trained together) is never replaced by an empty
    one: the bytes go back as they came, with the error."""
    from paperlib.sweep.member import run_member

    start = b"not a packed run folder"
    outcome = run_member("smoke", {"seed": 1}, config_key="k", start=start)
    assert outcome.error and outcome.archive == start

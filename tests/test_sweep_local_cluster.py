"""A sweep on a LocalCluster with 2 workers on 127.0.0.1: two seeds and what they say together, and
a worker killed mid-member whose member runs again with the same results. Members are the smoke
profile made tiny (tests/test_sweep.py: TINY)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from paperlib.core.run_folder import open_existing_run
from paperlib.publish.across_seeds_page import across_seeds_page, matching_sweep
from paperlib.sweep import runner
from tests.test_sweep import SWEPT, TINY

VOLATILE = {"seconds", "training_seconds", "cache_hit"}  # timings and cache state differ run to run


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
def test_members_trained_together_end_as_members_trained_apart(two_seed_sweep, tmp_path, monkeypatch):
    """`paperlib sweep --together`: the two seeds' models train in one program before the tasks,
    which find them complete; every recorded number is the one of the sweep without it."""
    plan, record, _ = two_seed_sweep
    monkeypatch.setenv("GENRE_SIGNATURES_RUNS", str(tmp_path / "runs"))
    trained = []
    together_train = runner.train_members_together
    monkeypatch.setattr(runner, "train_members_together",
                        lambda *a, **k: trained.append(together_train(*a, **k)) or trained[-1])
    joint = runner.plan_sweep("smoke", seeds=2, sets=TINY, name=str(tmp_path / "joint"), notebooks=SWEPT)
    done = runner.run_sweep(joint, workers=2, progress=False, together=True)
    assert [m.status for m in done.members] == ["done", "done"] and trained == [6]
    for member in record.members:
        ours = joint.folder.member_dir(member.name)
        assert "complete, reused" in (ours / "notebooks" / "03_cv_training.ipynb").read_text()
        assert _results(ours, SWEPT) == _results(plan.folder.member_dir(member.name), SWEPT)

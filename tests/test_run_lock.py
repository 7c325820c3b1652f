"""One writer per run folder: a second writer is refused at once, naming the holder, with nothing in
the folder changed; a killed holder's lock is taken over; a command's notebook kernels are let in
and any other notebook is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from paperlib.cli import main
from paperlib.core import paths
from paperlib.core.run_lock import LOCK_ENV, RunFolderBusy, hold_run_folder, lock_paths, read_holder

GUARD = 120  # seconds: only so that a hang cannot stall the suite; no assertion on time

HOLDER = textwrap.dedent("""
    import json, sys, time
    from paperlib.core.run_lock import child_environment, hold_run_folder
    with hold_run_folder(sys.argv[1]):
        print(json.dumps(child_environment()), flush=True)
        time.sleep(600)
""")


def python(code: str, *args: str, env: dict[str, str] | None = None, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=paths.project_root(),
                            env={**os.environ, **(env or {})}, text=True, **options)


@pytest.fixture
def holder(tmp_path):
    """A process holding tmp_path/run, as a command does: (process, the token its children get)."""
    folder = tmp_path / "run"
    process = python(HOLDER, str(folder), stdout=subprocess.PIPE)
    try:
        token = json.loads(process.stdout.readline())
        yield process, token
    finally:
        process.kill()
        process.wait(timeout=GUARD)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_writer_is_refused_naming_the_holder_and_nothing_changes(holder, tmp_path, capsys):
    process, _ = holder
    folder = tmp_path / "run"
    (folder / "manifest.json").write_text("{}\n")
    before = snapshot(folder)
    with pytest.raises(RunFolderBusy) as refused:
        with hold_run_folder(folder):
            pytest.fail("a second writer got in")
    message = " ".join(str(refused.value).split())
    assert f"PID {process.pid}" in message and "since" in message and "-c" in message
    assert "One writer at a time" in message and "run_dir" in message
    assert main(["reproduce", "--profile", "smoke", "--set", f"run_dir={folder}"]) == 2
    assert f"PID {process.pid}" in capsys.readouterr().err
    assert snapshot(folder) == before


def test_a_killed_holders_lock_is_taken_over(holder, tmp_path):
    process, _ = holder
    folder = tmp_path / "run"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=GUARD)
    assert read_holder(folder)["pid"] == process.pid  # its side file is left behind, stale
    with hold_run_folder(folder):
        assert read_holder(folder)["pid"] == os.getpid()
    assert not lock_paths(folder)[1].exists()


def test_a_notebook_beside_a_command_is_refused_and_the_commands_kernels_are_let_in(holder, tmp_path):
    process, token = holder
    folder = tmp_path / "run"
    notebook = ("import sys\nfrom paperlib import start_notebook\n"
                "start_notebook('smoke', {'run_dir': sys.argv[1]})\n")
    refused = python(notebook, str(folder), env={LOCK_ENV: ""}, stderr=subprocess.PIPE)
    _, err = refused.communicate(timeout=GUARD)
    assert refused.returncode == 1 and "RunFolderBusy" in err and f"PID {process.pid}" in err
    guest = python("import sys\nfrom paperlib.core.run_lock import join_run_folder\n"
                   "join_run_folder(sys.argv[1]); print('in')", str(folder), env=token,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = guest.communicate(timeout=GUARD)
    assert guest.returncode == 0 and out.strip() == "in", err
    assert read_holder(folder)["pid"] == process.pid  # the command still holds it


def test_the_same_process_may_hold_a_folder_twice_and_a_missing_holder_is_said(tmp_path):
    folder = tmp_path / "run"
    with hold_run_folder(folder), hold_run_folder(folder):
        assert read_holder(folder)["pid"] == os.getpid()
    assert not lock_paths(folder)[1].exists()
    from paperlib.core.run_lock import busy_message

    assert "another process (it has not yet said which)" in busy_message(folder, {})


def test_a_commands_kernels_keep_matching_it_after_jupyter_modules_load(tmp_path):
    """The token a command gives its kernels stays the holder's own after papermill has loaded
    ipykernel and IPython into the command's process (its second notebook was once refused)."""
    code = textwrap.dedent("""
        import sys
        from paperlib.core.run_lock import LOCK_ENV, child_environment, hold_run_folder, read_holder
        with hold_run_folder(sys.argv[1]):
            import ipykernel.kernelapp, IPython  # what running a first notebook loads
            print(read_holder(sys.argv[1])["owner"] == child_environment()[LOCK_ENV])
    """)
    command = python(code, str(tmp_path / "run"), env={LOCK_ENV: ""}, stdout=subprocess.PIPE)
    out, _ = command.communicate(timeout=GUARD)
    assert out.strip() == "True"

"""Progress where the person is: a long step's progress goes to its status file (at most once a
second, and always at its start and end), the notebook runner shows it as one terminal line, and
`paperlib reproduce` prints the notebooks' long steps live."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paperlib.core import paths
from paperlib.core.progress import STATUS_ENV, Progress, duration
from paperlib.publish.live_status import StatusLine

GUARD = 900  # seconds: only so that a hang cannot stall the suite; no assertion on time


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_step_writes_its_status_at_start_at_most_once_a_second_and_at_the_end(tmp_path, monkeypatch):
    status = tmp_path / "logs" / "03.progress.json"
    monkeypatch.setenv(STATUS_ENV, str(status))
    clock = Clock()
    with Progress("training 13 models", total=100, initial=10, unit="model-epochs", enabled=False,
                  clock=clock) as bar:
        assert json.loads(status.read_text())["done"] == 10  # at once: the runner shows the step
        clock.now += 0.5
        bar.update(20, text="9 of 13 models training")  # the pace is measured from here
        assert json.loads(status.read_text())["done"] == 10  # not twice within a second
        clock.now += 1.0
        bar.update(40, 110, text="8 of 13 models training")
        written = json.loads(status.read_text())
        assert written["done"] == 40 and written["total"] == 110
        assert written["remaining_s"] == pytest.approx(70 * 1.0 / 20)
        assert written["line"] == ("training 13 models: 40/110 model-epochs (36%), 8 of 13 models "
                                   "training, about 4 s left")
        clock.now += 0.1
        bar.update(110, text="0 of 13 models training")
    written = json.loads(status.read_text())  # the end is always written, without an estimate
    assert written["done"] == 110 and written["remaining_s"] is None and "left" not in written["line"]


def test_without_the_variable_no_status_file_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(STATUS_ENV, raising=False)
    with Progress("extracting tokens", total=3, enabled=False) as bar:
        bar.update(3)
    assert bar.status_file is None and not list(tmp_path.iterdir())


def test_durations_read_as_a_person_says_them():
    assert [duration(s) for s in (0, 40.4, 600, 3600 * 2 + 5 * 60)] == ["0 s", "40 s", "10 min", "2 h 05 min"]


def test_the_status_line_shows_the_files_line_and_always_the_last_one(tmp_path, capsys):
    status = tmp_path / "status.json"
    with StatusLine(status, enabled=True) as line:
        assert line.poll() == ""  # no file yet
        status.write_text(json.dumps({"line": "extracting tokens: 5/20 clips (25%)"}))
        assert line.poll() == "extracting tokens: 5/20 clips (25%)"
        status.write_text("{not json")  # a torn read is skipped, the last line kept
        assert line.poll() == "extracting tokens: 5/20 clips (25%)"
        status.write_text(json.dumps({"line": "extracting tokens: 20/20 clips (100%)"}))
    assert line.shown == "extracting tokens: 20/20 clips (100%)"  # read once more at the end
    assert "extracting tokens: 20/20 clips (100%)" in capsys.readouterr().err


@pytest.mark.slow
def test_the_training_reports_model_epochs_and_the_models_still_training(tmp_path, monkeypatch):
    from paperlib.model.program import train_together
    from tests.test_program import tiny_problem

    tokens, labels, config, specs = tiny_problem()
    status = tmp_path / "status.json"
    monkeypatch.setenv(STATUS_ENV, str(status))
    train_together(specs, tokens, labels, config, tmp_path / "checkpoint.npz", progress=False)
    written = json.loads(status.read_text())
    assert written["step"] == "training 3 models" and written["unit"] == "model-epochs"
    assert written["done"] == written["total"] >= 3 * config.epochs
    assert "0 of 3 models training" in written["text"] and "epoch" in written["text"]


@pytest.mark.slow
def test_reproduce_shows_a_notebooks_long_step_on_the_terminal_and_lets_its_kernels_in(tmp_path):
    env = {**os.environ, "GENRE_SIGNATURES_CACHE": str(tmp_path / "cache")}  # no cached tokens
    command = [sys.executable, "-m", "paperlib", "reproduce", "--profile", "smoke", "--notebooks",
               "01_data,02_model", "--set", f"run_dir={tmp_path / 'run'}", "--set", "clips_per_genre=3",
               "--set", "folds=2"]
    done = subprocess.run(command, cwd=paths.project_root(), env=env, capture_output=True, text=True,
                          timeout=GUARD)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = done.stderr.replace("\r", "\n")
    assert "extracting tokens: 30/30 clips (100%)" in shown, shown[-3000:]
    assert "01_data done in" in done.stdout and "02_model done in" in done.stdout  # kernels let in

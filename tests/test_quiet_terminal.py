"""A quiet terminal: no TensorFlow, absl or oneDNN start-up line reaches a user's terminal from the
`paperlib` command, even in a shell that never set TF_CPP_MIN_LOG_LEVEL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_tone
from tests.test_similar import build_run

NOISE = re.compile(r"absl::InitializeLog|oneDNN|^[IWE]\d{4} |cpu_feature_guard|TF_ENABLE_ONEDNN_OPTS|"
                   r"This TensorFlow binary", re.M)


def paperlib(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    return subprocess.run([str(Path(sys.executable).parent / "paperlib"), *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


def test_the_noise_pattern_knows_tensorflows_start_up_lines():
    seen = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1796327075.943507   11371 cpu_feature_guard.cc:227] This TensorFlow binary")
    assert len(NOISE.findall(seen)) >= 2 and not NOISE.search("error: Unknown profile 'x'")


@pytest.mark.slow
def test_similar_prints_no_tensorflow_start_up_lines(tmp_path):
    run = build_run(tmp_path / "run")
    song = write_tone(tmp_path / "song.wav", seconds=6.0)
    done = paperlib("similar", str(song), "--run", str(run), "--features-url",
                    (tmp_path / "no-table").as_uri(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not NOISE.search(done.stderr), f"start-up noise on the terminal:\n{done.stderr}"

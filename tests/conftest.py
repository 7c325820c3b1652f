"""Shared fixtures: every test writes data and runs under a temporary folder, never the project's."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from paperlib.core import paths
from paperlib.core.session import configure_environment, separate_numba_cache
from tests.fast_tier import pytest_addoption, pytest_report_teststatus, pytest_terminal_summary  # noqa: F401
from tests.file_scheduling import FILE_GROUPS, pytest_xdist_make_scheduler  # noqa: F401

# The public GTZAN metadata files and feature table, mirrored beside the project (../shared);
# tests skip without them.
METADATA = paths.project_root().parent / "shared" / "data" / "gtzan-metadata"
FEATURES = paths.project_root().parent / "shared" / "data" / "gtzan-features"


def mirror_overrides() -> dict[str, str]:
    """`metadata_url` and `features_url` pointing at the mirrors that exist (never the network)."""
    return {name: folder.as_uri() for name, folder in (("metadata_url", METADATA), ("features_url", FEATURES))
            if folder.is_dir()}
STATUS_AT_START = pytest.StashKey[str | None]()


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, each worker gets its share of the cores: TensorFlow, BLAS and joblib in
    every process it starts (notebook kernels, Dask workers) use cores / workers threads, instead
    of every worker asking for all of them and the workers thrashing each other."""
    import os

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if "PYTEST_XDIST_WORKER" in os.environ:  # workers must not write one numba cache at once
        configure_environment()
        separate_numba_cache(f"pytest-{os.environ['PYTEST_XDIST_WORKER']}")
    if workers > 1:
        from joblib import cpu_count

        share = str(max(1, cpu_count() // workers))
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS",
                     "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                     "LOKY_MAX_CPU_COUNT"):
            os.environ.setdefault(name, share)


def git_status(root: Path) -> str | None:
    """`git status --porcelain --untracked-files=all` of `root`, plus the ignored files in the
    folders where a run, a dataset or a book would land by default (runs/, data/, the book's build
    folder); None without git or a checkout."""
    outputs = [p.relative_to(root) for p in (paths.runs_dir(), paths.data_dir(), root / "book" / "_generated")
               if p.is_relative_to(root)]
    commands = [["git", "status", "--porcelain", "--untracked-files=all"],
                ["git", "status", "--porcelain", "--ignored", "--untracked-files=all", "--",
                 *map(str, outputs)]]
    found = []
    for command in commands:
        try:
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError):
            return None
        if done.returncode != 0:
            return None
        found.append(done.stdout)
    return "".join(found)


def worktree_changes(before: str | None, after: str | None) -> str | None:
    """The failure message when `after` (git status at the end) has entries that `before` (at the
    start) lacks: paths the tests created or modified in the work tree; None when nothing appeared
    or git could not tell. Entries already there at the start are not blamed on the tests."""
    if before is None or after is None:
        return None
    known = set(before.splitlines())
    appeared = [line for line in after.splitlines() if line.strip() and line not in known]
    if not appeared:
        return None
    return ("tests must write only under tmp_path: the work tree gained or changed\n"
            + "\n".join(f"  {line}" for line in appeared))


# The expensive fixtures shared by several tests; a test that uses one is slow.
SHARED_FIXTURES = ("smoke_run", "book_run", "book", "gtzan_run", "fault_filtered_run", "two_seed_sweep")


SESSION_FIXTURES = ("smoke_run", "book_run", "book")  # built once per worker: keep their users together


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses a shared expensive fixture is slow; one that uses the session's smoke run
    outside FILE_GROUPS' files would build it a second time under pytest-xdist: refused."""
    strays = []
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & set(SHARED_FIXTURES):
            item.add_marker(pytest.mark.slow)
        if used & set(SESSION_FIXTURES) and item.path.name not in FILE_GROUPS:
            strays.append(item.nodeid)
    if strays:
        raise pytest.UsageError("These tests use the session's smoke run or book outside the files "
                                f"of tests/conftest.py's FILE_GROUPS; move them there: {strays}")


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[STATUS_AT_START] = git_status(paths.project_root())
    if session.config.getoption("fast_limit") is not None:
        # what every process pays once (imports, numba's first calls) is not any one test's cost
        configure_environment()
        import keras  # noqa: F401
        import librosa

        librosa.resample(np.zeros(4410, dtype=np.float32), orig_sr=44100, target_sr=22050)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Fail the session when a test wrote into the repository (see `worktree_changes`)."""
    before = session.config.stash.get(STATUS_AT_START, None)
    after = git_status(paths.project_root()) if before is not None else None
    message = worktree_changes(before, after)
    if message is None:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write("\n")  # after the progress line
        reporter.write_line(message, red=True, bold=True)
    else:
        print(message, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def session_folders(tmp_path_factory):
    """Datasets and runs of session- and module-scoped fixtures go to a session folder too: no
    fixture ever reads the project's runs/ (a sweep there would change a book's pages)."""
    root = tmp_path_factory.mktemp("session-folders")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENRE_SIGNATURES_DATA", str(root / "data"))
        patch.setenv("GENRE_SIGNATURES_RUNS", str(root / "runs"))
        yield root


@pytest.fixture(scope="session")
def book_run(request) -> Path:
    """A finished run folder: GENRE_SIGNATURES_BOOK_RUN if set (e.g. runs/smoke-dev), else the
    session's smoke run."""
    import os

    given = os.environ.get("GENRE_SIGNATURES_BOOK_RUN")
    return paths.resolve(given) if given else request.getfixturevalue("smoke_run")[0]


@pytest.fixture(scope="session")
def book(book_run, tmp_path_factory) -> Path:
    """The html folder of `book_run`'s book, built once, strictly (Sphinx warnings fail), for the
    book and the browser tests (its build time: benchmarks/bench_book.py)."""
    from paperlib.publish.book import build_book

    return build_book(book_run, build_dir=tmp_path_factory.mktemp("book") / "build", strict=True).parent


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """All notebooks executed once on the smoke profile, shared by every test file of the session:
    (run_dir, executed notebooks). Session-scoped, so it sets its own data folder (the autouse
    fixture below works per test) and passes its run folder explicitly."""
    from paperlib.publish.notebook_runner import run_notebooks

    root = tmp_path_factory.mktemp("smoke")
    run_dir = root / "run"
    with pytest.MonkeyPatch.context() as patch:
        configure_environment()
        patch.setenv("GENRE_SIGNATURES_DATA", str(root / "data"))
        patch.setenv("GENRE_SIGNATURES_RUNS", str(root / "runs"))
        executed = run_notebooks("smoke", {"run_dir": str(run_dir), **mirror_overrides()}, progress=False)
    return run_dir, executed


@pytest.fixture(autouse=True)
def isolated_folders(tmp_path, monkeypatch):
    """Datasets and runs go to a per-test folder; library caches stay warm in the project cache."""
    configure_environment()
    monkeypatch.setenv("GENRE_SIGNATURES_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("GENRE_SIGNATURES_RUNS", str(tmp_path / "runs"))
    return tmp_path


def write_tone(path, *, seconds: float, sample_rate: int = 22050, channels: int = 1,
               freq: float = 440.0, subtype: str = "PCM_16"):
    """A small test clip: a sine tone with a little noise."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(0)
    audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(len(t))
    if channels > 1:
        audio = np.stack([audio] * channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, sample_rate, subtype=subtype)
    return path


@contextlib.contextmanager
def serving(httpd):
    """Run a loopback HTTP server in a thread; yield its base URL; always shut it down."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)

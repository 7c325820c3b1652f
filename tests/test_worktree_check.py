"""The conftest check that fails a test session which wrote into the repository's work tree."""

from tests.conftest import git_status, worktree_changes

CLEAN = ""
DIRTY = " M paperlib/cli.py\n?? notes.txt\n"


def test_a_new_untracked_or_changed_path_fails_with_the_paths_named():
    message = worktree_changes(CLEAN, "?? other/manifest.json\n")
    assert message.startswith("tests must write only under tmp_path")
    assert "  ?? other/manifest.json" in message.splitlines()
    assert "M README.md" in worktree_changes(DIRTY, DIRTY + " M README.md\n")


def test_paths_already_there_at_the_start_are_not_blamed():
    assert worktree_changes(CLEAN, CLEAN) is None
    assert worktree_changes(DIRTY, DIRTY) is None
    assert worktree_changes(DIRTY, "?? notes.txt\n") is None  # a change undone is no new path


def test_without_git_or_a_checkout_there_is_no_check(tmp_path, monkeypatch):
    assert worktree_changes(None, "?? x\n") is None and worktree_changes("", None) is None
    assert git_status(tmp_path) is None  # not a git checkout
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program
    assert git_status(tmp_path) is None

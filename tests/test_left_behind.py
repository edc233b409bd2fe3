"""A file the manifest no longer lists, still in the work tree: left behind by a checkout
(a pending deletion, not the user's addition) or written there by the user (recorded by
`git eosvc add`, as `git add` would). Real git, real hooks, moto's S3 server."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from conftest import S3, eosvc, git
from helpers import commit_all, new_repo, write

from git_eosvc.hashing import hash_bytes

X = "x on branch A\n"


def on_main_after_a(tmp_path: Path, remote: Path, *, edit: bool = False, skip_hooks: bool = False) -> Path:
    """main has data/keep.csv; branch A adds data/x.csv; then the switch back to main."""
    a = new_repo(tmp_path, remote)
    write(a, "data/keep.csv", "keep\n")
    commit_all(a, "base")
    git(a, "checkout", "-q", "-b", "A")
    write(a, "data/x.csv", X)
    commit_all(a, "x on A")
    if edit:
        write(a, "data/x.csv", "edited\n")
    env = dict(os.environ, EOSVC_SKIP="1") if skip_hooks else None
    proc = subprocess.run(["git", "checkout", "main"], cwd=a, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    if edit:
        assert "kept data/x.csv: modified locally; not deleted" in proc.stderr
    assert (a / "data/x.csv").exists()  # left behind: kept by the hook, or no hook ran
    return a


def later(work: Path) -> None:
    """Until a file written now is newer than the materialised record (a person's next
    step is; a test's may fall into the same clock tick)."""
    record = (work / ".git/eosvc/materialised/data.eosvc").stat().st_mtime_ns
    probe = work / ".git/probe"
    while True:
        probe.write_bytes(b"")
        if probe.stat().st_ctime_ns > record:
            probe.unlink()
            return
        time.sleep(0.01)


def recorded(work: Path) -> str:
    return (work / "data.eosvc").read_text()


def test_a_kept_file_written_again_with_the_old_bytes_is_the_users(tmp_path: Path, remote: Path, s3: S3) -> None:
    """Kept by the switch (edited), then the user writes branch A's bytes back: not a deletion
    the checkout did not finish, but the user's file; `add` records it."""
    a = on_main_after_a(tmp_path, remote, edit=True)
    later(a)
    write(a, "data/x.csv", X)
    status = eosvc(a, "status").stdout
    assert "added:    data/x.csv" in status and "still here" not in status, status
    eosvc(a, "add")
    assert "data/x.csv" in recorded(a)
    assert (a / "data/x.csv").read_text() == X
    assert "added:    data/x.csv" in eosvc(a, "status").stdout  # recorded, to be committed


def test_a_file_rewritten_after_a_switch_without_hooks_is_recorded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = on_main_after_a(tmp_path, remote, skip_hooks=True)
    (a / "data/x.csv").unlink()
    later(a)
    write(a, "data/x.csv", X)  # the same bytes, written by the user
    status = eosvc(a, "status").stdout
    assert "added:    data/x.csv" in status and "still here" not in status, status
    eosvc(a, "add")
    assert "data/x.csv" in recorded(a)
    assert (a / "data/x.csv").read_text() == X  # the hook `add`'s own `git add` ran left it alone
    git(a, "commit", "-q", "-m", "x on main")
    assert eosvc(a, "status").stdout.strip() == "nothing changed"


def test_a_rewritten_file_stays_the_users_after_adding_another(tmp_path: Path, remote: Path, s3: S3) -> None:
    """`add` of another path rewrites the record: that must not make the user's file look
    like a leftover again (nor let the hook of its `git add` delete it)."""
    a = on_main_after_a(tmp_path, remote, skip_hooks=True)
    later(a)
    write(a, "data/x.csv", X)
    write(a, "data/other.csv", "other\n")
    eosvc(a, "add", "data/other.csv")
    assert (a / "data/x.csv").read_text() == X
    status = eosvc(a, "status").stdout
    assert "added:    data/x.csv" in status and "still here" not in status, status
    eosvc(a, "add")
    assert "data/x.csv" in recorded(a) and "data/other.csv" in recorded(a)


def test_a_file_a_skipped_checkout_left_untouched_is_a_pending_deletion(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    """Untouched since the checkout that should have deleted it: `add` does not revive it
    (its `git add` runs the hook the switch skipped, which finishes the deletion; the bytes
    stay in the local store)."""
    a = on_main_after_a(tmp_path, remote, skip_hooks=True)
    status = eosvc(a, "status").stdout
    assert "deleted by the manifest, still here: 1 file(s)" in status and "added:" not in status, status
    eosvc(a, "add")
    assert "data/x.csv" not in recorded(a)
    assert not (a / "data/x.csv").exists()
    assert (a / ".git/eosvc/objects" / hash_bytes(X.encode()).shard()).read_text() == X


def test_a_left_behind_file_named_exactly_is_recorded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = on_main_after_a(tmp_path, remote, skip_hooks=True)
    eosvc(a, "add", "data/x.csv")
    assert "data/x.csv" in recorded(a)
    assert (a / "data/x.csv").read_text() == X


def test_drop_and_delete_do_not_turn_the_users_file_into_a_leftover(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    """`drop` and `delete --path` rewrite the record too: a file the user wrote back after a
    switch must stay the user's through them (status says added, add records it)."""
    a = on_main_after_a(tmp_path, remote, edit=True)
    later(a)
    write(a, "data/x.csv", X)
    eosvc(a, "drop", "data/keep.csv")
    status = eosvc(a, "status").stdout
    assert "added:    data/x.csv" in status and "still here" not in status, status
    eosvc(a, "delete", "--path", "data/keep.csv")
    status = eosvc(a, "status").stdout
    assert "added:    data/x.csv" in status and "still here" not in status, status
    eosvc(a, "add", "data")
    assert "data/x.csv" in recorded(a) and (a / "data/x.csv").read_text() == X

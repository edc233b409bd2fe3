"""`git eosvc drop` (docs/partial.md): local copies removed, the files stay recorded, and
no checkout or hook brings them back until `git eosvc checkout PATH`. Real git, real
hooks, the suite's S3 server."""

from __future__ import annotations

from pathlib import Path

from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, write

from git_eosvc.cache import Store
from git_eosvc.hashing import hash_bytes


def _store(work: Path) -> Store:
    return Store(work / ".git" / "eosvc" / "objects")


def _manifest(work: Path) -> str:
    return (work / "data.eosvc").read_text()


def _base(tmp_path: Path, remote: Path) -> Path:
    a = new_repo(tmp_path, remote)
    write(a, "data/a.csv", "a")
    write(a, "data/sub/b.csv", "b" * 1000)
    write(a, "data/c.csv", "c")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    return a


def test_drop_status_add_and_plain_git_checkouts(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = _base(tmp_path, remote)
    recorded = _manifest(a)
    out = eosvc(a, "drop", "data/sub")
    assert "dropped 1 local copy" in out.stderr
    assert not (a / "data/sub").exists()  # the emptied directory goes too
    status = eosvc(a, "status").stdout
    assert "dropped here: 1 file(s)" in status and "deleted" not in status
    assert '"dropped": [' in eosvc(a, "status", "--json").stdout
    eosvc(a, "add")
    assert _manifest(a) == recorded
    assert git(a, "status", "--porcelain").stdout == ""
    # a commit elsewhere, then back and forth with plain git: dropped stays dropped
    git(a, "checkout", "-q", "-b", "other")
    write(a, "data/d.csv", "d")
    write(a, "data/a.csv", "a2")
    commit_all(a, "other")
    assert "data/sub/b.csv" in _manifest(a)
    git(a, "checkout", "-q", "main")
    assert not (a / "data/sub/b.csv").exists() and not (a / "data/d.csv").exists()
    assert (a / "data/a.csv").read_text() == "a"
    assert _manifest(a) == recorded
    git(a, "checkout", "-q", "other")
    assert not (a / "data/sub/b.csv").exists() and (a / "data/d.csv").read_text() == "d"
    git(a, "checkout", "-q", "main")
    # `git eosvc checkout` of everything honours the drop; naming the path brings it back
    eosvc(a, "checkout")
    assert not (a / "data/sub/b.csv").exists()
    eosvc(a, "checkout", "data/sub/b.csv")
    assert (a / "data/sub/b.csv").read_text() == "b" * 1000
    assert eosvc(a, "status").stdout.strip() == "nothing changed"
    git(a, "checkout", "-q", "other")
    git(a, "checkout", "-q", "main")
    assert (a / "data/sub/b.csv").read_text() == "b" * 1000


def test_drop_of_a_modified_file_is_refused_unless_forced(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = _base(tmp_path, remote)
    write(a, "data/a.csv", "my edit")
    out = eosvc(a, "drop", "data/a.csv", check=False)
    assert out.returncode == 1 and "modified since it was recorded" in out.stderr
    assert (a / "data/a.csv").read_text() == "my edit"
    out = eosvc(a, "drop", "--force", "data/a.csv")
    assert "saved your version" in out.stderr
    assert not (a / "data/a.csv").exists()
    assert _store(a).has(hash_bytes(b"my edit"))
    assert "dropped here: 1 file(s)" in eosvc(a, "status").stdout
    eosvc(a, "add")
    assert "data/a.csv" in _manifest(a)
    eosvc(a, "checkout", "data/a.csv")
    assert (a / "data/a.csv").read_text() == "a"


def test_drop_needs_the_bytes_in_the_store_or_on_s3(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = _base(tmp_path, remote)
    store = _store(a)
    # pushed: on S3, so a copy that is not in the local store may go
    path = store.object_path(hash_bytes(b"c"))
    path.chmod(0o644)
    path.unlink()
    eosvc(a, "drop", "data/c.csv")
    assert not (a / "data/c.csv").exists()
    # recorded, committed, not pushed, and gone from the store: refused
    write(a, "data/e.csv", "e")
    commit_all(a, "e")
    path = store.object_path(hash_bytes(b"e"))
    path.chmod(0o644)
    path.unlink()
    out = eosvc(a, "drop", "data/e.csv", check=False)
    assert out.returncode == 1 and "neither in the local store nor on S3" in out.stderr
    assert (a / "data/e.csv").read_text() == "e"
    # unrecorded paths are refused outright
    write(a, "data/new.csv", "n")
    out = eosvc(a, "drop", "data/new.csv", check=False)
    assert out.returncode == 2 and "not recorded" in out.stderr
    assert (a / "data/new.csv").exists()
    # the dropped file comes back from S3
    eosvc(a, "checkout", "data/c.csv")
    assert (a / "data/c.csv").read_text() == "c"


def test_a_pull_that_changes_a_dropped_file_leaves_it_dropped(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = _base(tmp_path, remote)
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    eosvc(b, "drop", "data/sub/b.csv")
    write(a, "data/sub/b.csv", "new b")
    write(a, "data/c.csv", "c2")
    commit_all(a, "change")
    git(a, "push", "-q")
    git(b, "pull", "-q")  # post-merge reconciles
    assert (b / "data/c.csv").read_text() == "c2"
    assert not (b / "data/sub/b.csv").exists()
    assert _manifest(b) == _manifest(a)
    assert "dropped here: 1 file(s)" in eosvc(b, "status").stdout
    eosvc(b, "add")
    assert _manifest(b) == _manifest(a)
    eosvc(b, "checkout", "data/sub")
    assert (b / "data/sub/b.csv").read_text() == "new b"

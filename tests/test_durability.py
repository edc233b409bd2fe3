"""add's deferred durability (durability.py): add promises its objects in a fsynced list
under the boot id instead of waiting for the disk; commands that may rely on a store copy
flush first; after a reboot the promised objects are re-hashed and damaged ones removed.
Real git, real hooks and the real CLI; a reboot is a list left under another boot id."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import new_repo, write

from git_eosvc import durability
from git_eosvc.cache import Store
from git_eosvc.errors import OperationError
from git_eosvc.filehash import KEEP_MIN
from git_eosvc.hashing import Sha256, hash_bytes

OTHER_BOOT = "00000000-1111-2222-3333-444444444444"


def store(work: Path) -> Store:
    return Store(work / ".git" / "eosvc" / "objects")


def promised(work: Path) -> dict[str, set[str]]:
    """List file name -> the oids it promises."""
    folder = store(work).root / durability.DIR
    if not folder.is_dir():
        return {}
    return {n: set((folder / n).read_text().split()) for n in os.listdir(folder)}


needs_boot_id = pytest.mark.skipif(durability.boot_id() is None, reason="no boot id here (not Linux)")


@needs_boot_id
def test_add_promises_commit_keeps_the_promise_pending_push_and_checkout_flush(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    big = os.urandom(KEEP_MIN + 7)  # written while hashed (staging.py)
    write(a, "data/big.bin", big)
    write(a, "data/small.txt", "small\n")  # copied by Store.add_files
    eosvc(a, "add")
    lists = promised(a)
    assert len(lists) == 2 and all(n.startswith(f"{durability._host()}-{durability.boot_id()}.") for n in lists)
    assert set().union(*lists.values()) == {hash_bytes(big), hash_bytes(b"small\n")}
    assert store(a).object_path(Sha256(hash_bytes(big))).read_bytes() == big
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "data")  # pre-commit relies on no store copy: no flush
    eosvc(a, "status")
    assert len(promised(a)) == 2
    git(a, "push", "-q", "origin", "main")  # the pre-push hook flushes before it uploads
    assert promised(a) == {}
    write(a, "data/small.txt", "second\n")
    eosvc(a, "add")
    git(a, "commit", "-q", "-am", "second")
    assert len(promised(a)) == 1
    git(a, "checkout", "-q", "HEAD~1")  # the post-checkout hook overwrites: flushed first
    assert promised(a) == {}
    assert (a / "data/small.txt").read_text() == "small\n"


@needs_boot_id
def test_after_a_reboot_damaged_objects_are_removed_and_add_stores_them_again(
        tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/cut.txt", "cut short by the crash\n")
    write(a, "data/fine.txt", "written back in time\n")
    eosvc(a, "add")
    [(name, oids)] = [(n, o) for n, o in promised(a).items() if len(o) == 2]
    folder = store(a).root / durability.DIR
    host, rest = name.split("-", 1)
    os.rename(folder / name, folder / f"{host}-{OTHER_BOOT}.{rest.split('.', 1)[1]}")  # the machine went down
    cut = store(a).object_path(Sha256(hash_bytes(b"cut short by the crash\n")))
    cut.chmod(0o644)
    cut.write_bytes(b"\0" * 10)  # what ext4 can leave of a file not yet written back
    fine = store(a).object_path(Sha256(hash_bytes(b"written back in time\n")))
    mark = durability.removal_mark(store(a).root)
    out = eosvc(a, "status")  # any command: status does not flush, but re-hashes after a reboot
    assert not cut.exists() and fine.read_bytes() == b"written back in time\n"
    assert "1 object(s)" in out.stderr and "damaged" in out.stderr
    assert promised(a) == {}
    assert durability.removal_mark(store(a).root) != mark  # what add vouched for is void too
    proc = git(a, "commit", "-q", "-m", "data", check=False)  # staged before the crash
    assert proc.returncode != 0 and "data/cut.txt" in proc.stderr
    eosvc(a, "add")  # the work tree still has it
    assert cut.read_bytes() == b"cut short by the crash\n"
    git(a, "commit", "-q", "-m", "data")


def test_without_a_boot_id_add_flushes_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where no boot id can be read, nothing is promised: the objects are made durable now
    (one syncfs of the store, else an fsync each), as before."""
    root = tmp_path / "store"
    s = Store(root)
    src = tmp_path / "f.txt"
    src.write_bytes(b"bytes\n")
    flushed: list[Path] = []
    monkeypatch.setattr(durability, "boot_id", lambda: None)
    monkeypatch.setattr(durability, "sync_filesystem", lambda p: flushed.append(Path(p)) or True)
    assert s.add_files([(src, Sha256(hash_bytes(b"bytes\n")))], defer=True) == 1
    assert flushed == [root] and not (root / durability.DIR).exists()
    assert durability.promise(root, ["0" * 64]) is False


@needs_boot_id
def test_a_failed_flush_stops_the_command_and_keeps_the_promise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "store"
    s = Store(root)
    src = tmp_path / "f.txt"
    src.write_bytes(b"bytes\n")
    s.add_files([(src, Sha256(hash_bytes(b"bytes\n")))], defer=True)
    assert len(os.listdir(root / durability.DIR)) == 1

    def eio(path: Path) -> bool:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(durability, "sync_filesystem", eio)
    with pytest.raises(OperationError, match="cannot flush the local store"):
        s.settle()
    assert len(os.listdir(root / durability.DIR)) == 1  # still owed: the next command tries again
    assert s.settle(sync=False) == []  # this boot's promise is not re-hashed, nor dropped
    assert len(os.listdir(root / durability.DIR)) == 1


@needs_boot_id
def test_add_lists_every_object_it_renames_even_one_the_store_had(tmp_path: Path, remote: Path) -> None:
    """An object the store has now may be gone (gc) before add's rename puts the new copy
    in its place: so the new copy is listed too (review of 1992b45)."""
    a = new_repo(tmp_path, remote)
    big = os.urandom(KEEP_MIN + 3)
    write(a, "data/one.bin", big)
    eosvc(a, "add")
    store(a).settle()
    assert promised(a) == {}
    write(a, "data/two.bin", big)  # the same bytes, hashed and written again
    eosvc(a, "add")
    assert set().union(*promised(a).values()) == {hash_bytes(big)}


def test_without_trusted_syncfs_add_flushes_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel whose syncfs does not report failed write-back (before 5.8): nothing is
    promised, since settle could neither flush it all at once nor hear of a failure."""
    monkeypatch.setattr(durability, "trusted_syncfs", lambda: None)
    monkeypatch.setattr(durability, "sync_filesystem", lambda p: False)
    s = Store(tmp_path / "store")
    src = tmp_path / "f.txt"
    src.write_bytes(b"bytes\n")
    assert s.add_files([(src, Sha256(hash_bytes(b"bytes\n")))], defer=True) == 1
    assert not (s.root / durability.DIR).exists()


@needs_boot_id
def test_another_hosts_lists_are_left_alone_and_an_unreadable_list_stops_the_command(
        tmp_path: Path) -> None:
    """A store shared over the network: another host's lists are its own business (its
    boot id says nothing about this host's reboots). A list that cannot be read names
    objects nobody can check: the command stops with a clear error, the list stays."""
    s = Store(tmp_path / "store")
    folder = s.root / durability.DIR
    folder.mkdir(parents=True)
    theirs = folder / f"ffffffff-{OTHER_BOOT}.1-abc"
    theirs.write_text(hash_bytes(b"absent here\n") + "\n")
    checked: list[list[str]] = []
    assert durability.settle(s.root, s.object_path, lambda oids: checked.append(list(oids)) or []) == []
    assert theirs.exists() and checked == []
    broken = folder / f"{durability._host()}-{OTHER_BOOT}.2-def"
    broken.mkdir()  # reading it fails (as root, permissions would not)
    with pytest.raises(OperationError, match="cannot read"):
        s.settle(sync=False)
    assert broken.exists()


def test_the_removal_mark_goes_where_it_cannot_be_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk cannot stop damaged bytes from going, nor leave an old word standing:
    the mark is removed, and "" vouches for nothing; where even that fails, nothing is
    removed (OperationError)."""
    root = tmp_path / "store"
    first = durability.removal_mark(root, create=True)
    assert first and durability.removal_mark(root) == first

    def full(path: Path, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(durability, "write_atomic", full)
    assert durability.mark_removal(root) == ""
    assert durability.removal_mark(root) == "" and not (root / durability.REMOVAL_MARK).exists()
    (root / durability.REMOVAL_MARK).mkdir()
    (root / durability.REMOVAL_MARK / "x").write_text("x")
    with pytest.raises(OperationError, match="removal mark"):
        durability.mark_removal(root)


@needs_boot_id
def test_drop_flushes_what_another_add_promised_after_it_began(tmp_path: Path, remote: Path, s3: S3) -> None:
    """The flush at open is not the last word: drop flushes again right before it removes
    work-tree files, so an add that ran meanwhile (another process) is on disk first."""
    from git_eosvc.engine.drop import drop
    from git_eosvc.engine.workspace import Workspace

    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "recorded\n")
    eosvc(a, "add")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "f")
    with Workspace.open(a) as ws:  # settled here
        write(a, "data/g.txt", "added meanwhile\n")
        eosvc(a, "add")  # another process: a new promise
        assert promised(a)
        result = drop(ws, [str(a / "data/f.txt")])  # (paths as the CLI gets them: from the cwd)
        assert result.dropped == ["data/f.txt"]
        assert promised(a) == {}

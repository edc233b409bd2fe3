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
    assert len(lists) == 2 and all(n.startswith(durability.boot_id() + ".") for n in lists)
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
    os.rename(folder / name, folder / f"{OTHER_BOOT}.{name.split('.', 1)[1]}")  # the machine went down
    cut = store(a).object_path(Sha256(hash_bytes(b"cut short by the crash\n")))
    cut.chmod(0o644)
    cut.write_bytes(b"\0" * 10)  # what ext4 can leave of a file not yet written back
    fine = store(a).object_path(Sha256(hash_bytes(b"written back in time\n")))
    mark = store(a).removal_mark()
    out = eosvc(a, "status")  # any command: status does not flush, but re-hashes after a reboot
    assert not cut.exists() and fine.read_bytes() == b"written back in time\n"
    assert "1 object(s)" in out.stderr and "damaged" in out.stderr
    assert promised(a) == {}
    assert store(a).removal_mark() != mark  # what add vouched for is void too
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

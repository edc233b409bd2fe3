"""add's single pass for large files: hashed and written to the store at once (staging.py,
filehash.py). Real files, the real CLI and git; failures made real through the OS."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

import pytest
from conftest import eosvc, git
from helpers import new_repo

from git_eosvc import staging
from git_eosvc.cache import Store
from git_eosvc.engine.add import add
from git_eosvc.engine.workspace import Workspace
from git_eosvc.errors import OperationError
from git_eosvc.filehash import KEEP_MIN, SKIP_UNSTABLE, hash_all, hash_stable
from git_eosvc.hashing import Sha256
from git_eosvc.staging import Staging

BIG = KEEP_MIN * 3 + 12345


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tmp_files(store: Store) -> list[str]:
    return sorted(os.listdir(store.tmp)) if store.tmp.is_dir() else []


def test_add_stores_large_files_in_one_pass(tmp_path: Path, remote: Path) -> None:
    """`git eosvc add` of large files: each object holds the file's bytes, read-only, and
    no temp file is left; two files with the same bytes make one object."""
    work = new_repo(tmp_path, remote)
    big = os.urandom(BIG)
    (work / "data").mkdir()
    (work / "data" / "big.bin").write_bytes(big)
    (work / "data" / "twin.bin").write_bytes(big)
    (work / "data" / "other.bin").write_bytes(big[::-1])
    (work / "data" / "small.txt").write_bytes(b"small")
    eosvc(work, "add")
    with Workspace.open(work) as ws:
        store = ws.store
        for data in (big, big[::-1], b"small"):
            obj = store.object_path(Sha256(sha(data)))
            assert obj.read_bytes() == data
            assert stat.S_IMODE(obj.stat().st_mode) == 0o444
        assert tmp_files(store) == []
        assert len(list(store.iter_oids())) == 3
    git(work, "commit", "-q", "-m", "data")  # the pre-commit hook finds every object stored
    assert "big.bin" in (work / "data.eosvc").read_text()


def test_a_file_changed_while_read_is_read_again(tmp_path: Path) -> None:
    """The listing's stat no longer matches: the first pass's temp file is dropped and the
    kept one holds the bytes as they are now."""
    store = Store(tmp_path / "store")
    src = tmp_path / "f.bin"
    src.write_bytes(b"a" * BIG)
    listed = os.lstat(src)
    src.write_bytes(b"b" * BIG)
    os.utime(src, ns=(listed.st_atime_ns, listed.st_mtime_ns + 10**9))
    got = hash_stable(str(src), listed, keep=lambda: Staging(store))
    assert isinstance(got, tuple)
    oid, size, _, tmp = got
    assert oid == sha(b"b" * BIG) and size == BIG and tmp is not None
    assert tmp.read_bytes() == b"b" * BIG
    assert tmp_files(store) == [tmp.name]


def test_a_file_that_never_settles_leaves_no_temp_file(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    src = tmp_path / "growing.bin"
    src.write_bytes(b"x" * BIG)

    class Appending(Staging):
        """Each pass appends to the source once, while reading it: it is being written."""

        appended = False

        def write(self, chunk: memoryview) -> None:
            super().write(chunk)
            if not self.appended:
                self.appended = True
                with open(src, "ab") as f:
                    f.write(b"more")

    [(_, _, got)] = hash_all([(str(src), "data/growing.bin", os.lstat(src))], 1, lambda: Appending(store))
    assert got == SKIP_UNSTABLE
    assert tmp_files(store) == []


def test_a_full_store_fails_add_and_keeps_the_manifest(tmp_path: Path, remote: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A write to the store that fails is the store's failure, named as such: add stops,
    the manifest is unchanged and no temp file is left. (Not a skip of an 'unreadable' file,
    which would keep the old entry and look like success.)"""
    work = new_repo(tmp_path, remote)
    (work / "data").mkdir()
    (work / "data" / "small.txt").write_bytes(b"recorded before")
    eosvc(work, "add")
    before = (work / "data.eosvc").read_bytes()
    (work / "data" / "big.bin").write_bytes(os.urandom(BIG))

    def full(fd: int, data: bytes | memoryview) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(staging, "write_all", full)
    with Workspace.open(work) as ws:
        with pytest.raises(OperationError, match="cannot write to the local store.*No space left"):
            add(ws)
        assert tmp_files(ws.store) == []
        assert list(ws.store.iter_oids()) == [sha(b"recorded before")]
    assert (work / "data.eosvc").read_bytes() == before and b"big.bin" not in before


def test_the_kept_temp_file_is_the_source_byte_for_byte(tmp_path: Path) -> None:
    """Several chunks written while hashed: the kept file is the source, byte for byte,
    read-only, and its hash is the file's."""
    store = Store(tmp_path / "store")
    src = tmp_path / "f.bin"
    data = os.urandom(KEEP_MIN * 5 + 7)
    src.write_bytes(data)
    got = hash_stable(str(src), os.lstat(src), keep=lambda: Staging(store))
    assert isinstance(got, tuple) and got[3] is not None
    assert got[3].read_bytes() == data and got[0] == sha(data)
    assert stat.S_IMODE(got[3].stat().st_mode) == 0o444

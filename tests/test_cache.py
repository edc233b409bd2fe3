"""The local object store and safe workspace writes: real files in tmp_path, no mocks."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from git_eosvc.cache import WORKSPACE_TMP_PREFIX, Store
from git_eosvc.paths import safe_dest
from git_eosvc.errors import IntegrityError, ManifestError, OperationError, UsageError
from git_eosvc.hashing import Sha256


def sha(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


def write_tmp(store: Store, data: bytes) -> Path:
    tmp = store.tmp_path()
    tmp.write_bytes(data)
    return tmp


def tmp_leftovers(store: Store) -> list[str]:
    return os.listdir(store.tmp) if store.tmp.exists() else []


# ---------------------------------------------------------------- adopt


def test_adopt_stores_read_only_object_and_consumes_tmp(store: Store) -> None:
    data = b"hello artifact\n"
    tmp = write_tmp(store, data)
    assert tmp.parent == store.tmp
    path = store.adopt(tmp, sha(data))
    assert path == store.root / sha(data).shard()
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert store.has(sha(data))
    assert not tmp.exists() and tmp_leftovers(store) == []
    # Adopting the same bytes again just drops the temp file.
    tmp2 = write_tmp(store, data)
    assert store.adopt(tmp2, sha(data), actual=sha(data)) == path
    assert not tmp2.exists()
    assert list(store.iter_oids()) == [sha(data)]


def test_adopt_mismatch_leaves_no_object_and_no_tmp(store: Store) -> None:
    good, bad = b"expected bytes", b"corrupted bytes"
    tmp = write_tmp(store, bad)
    with pytest.raises(IntegrityError) as info:
        store.adopt(tmp, sha(good))
    assert sha(good) in str(info.value) and sha(bad) in str(info.value)
    assert not store.has(sha(good)) and not store.object_path(sha(good)).exists()
    assert tmp_leftovers(store) == []
    # A caller-computed `actual` that disagrees is refused the same way.
    tmp = write_tmp(store, good)
    with pytest.raises(IntegrityError):
        store.adopt(tmp, sha(good), actual=sha(bad))
    assert not store.has(sha(good)) and tmp_leftovers(store) == []


def test_tmp_paths_are_unique_and_inside_store(store: Store) -> None:
    paths = {store.tmp_path() for _ in range(50)}
    assert len(paths) == 50
    assert all(p.parent == store.tmp and not p.exists() for p in paths)


# ---------------------------------------------------------------- add_file


def test_add_file_copies_verifies_and_is_idempotent(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "data" / "a.bin"
    src.parent.mkdir()
    data = os.urandom(300_000)
    src.write_bytes(data)
    oid = store.add_file(src)
    assert oid == sha(data)
    obj = store.object_path(oid)
    assert obj.read_bytes() == data
    assert not os.path.samefile(obj, src)  # a copy (or a clone), never the workspace inode
    before = obj.stat().st_mtime_ns
    assert store.add_file(src, oid) == oid  # present: no-op
    assert obj.stat().st_mtime_ns == before
    assert src.read_bytes() == data and os.access(src, os.W_OK)  # workspace untouched
    assert tmp_leftovers(store) == []


def test_add_file_detects_change_since_hashing(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    src.write_bytes(b"version 1")
    hashed = sha(src.read_bytes())
    src.write_bytes(b"version 2")  # edited after `scan` hashed it
    with pytest.raises(IntegrityError) as info:
        store.add_file(src, hashed)
    assert "git eosvc add" in str(info.value)
    assert not store.has(hashed) and not store.has(sha(b"version 2"))
    assert tmp_leftovers(store) == []


def test_add_file_refuses_symlink(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"not yours")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OperationError):
        store.add_file(link)
    assert list(store.iter_oids()) == [] and tmp_leftovers(store) == []


# ---------------------------------------------------------------- materialise


def put(store: Store, data: bytes) -> Sha256:
    return store.add_file(_scratch(store, data))


def _scratch(store: Store, data: bytes) -> Path:
    p = store.root.parent / f"scratch-{sha(data).short}"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("link_type", ["copy", "reflink"])
def test_materialise_copy_is_writable_equal_and_atomic(store: Store, tmp_path: Path, link_type: str) -> None:
    new = os.urandom(70_000)
    oid = put(store, new)
    work = tmp_path / "work"
    dest = work / "data" / "sub" / "x.bin"
    store.materialise(oid, dest, link_type)  # creates parent directories
    assert dest.read_bytes() == new
    mode = stat.S_IMODE(dest.stat().st_mode)
    assert mode & 0o200 and not mode & 0o111  # a normal, writable, non-executable file
    assert dest.stat().st_ino != store.object_path(oid).stat().st_ino
    dest.write_bytes(b"user edits do not reach the store")
    assert store.object_path(oid).read_bytes() == new

    # Replacing: a reader holding the old file keeps the old bytes (rename, not rewrite).
    dest.write_bytes(b"old contents")
    with open(dest, "rb") as old:
        store.materialise(oid, dest, link_type)
        assert old.read() == b"old contents"
    assert dest.read_bytes() == new
    assert [n for n in os.listdir(dest.parent) if n.startswith(WORKSPACE_TMP_PREFIX)] == []


def test_materialise_hardlink_shares_read_only_object(store: Store, tmp_path: Path) -> None:
    data = b"big model weights"
    oid = put(store, data)
    dest = tmp_path / "work" / "model.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous version")
    store.materialise(oid, dest, "hardlink")
    assert os.path.samefile(dest, store.object_path(oid))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o444
    store.materialise(oid, dest, "hardlink")  # already linked: no-op, no stray temp file
    assert sorted(os.listdir(dest.parent)) == ["model.bin"]


def test_materialise_symlink(store: Store, tmp_path: Path) -> None:
    oid = put(store, b"linked")
    dest = tmp_path / "work" / "l.bin"
    store.materialise(oid, dest, "symlink")
    assert dest.is_symlink() and dest.read_bytes() == b"linked"
    assert os.path.samefile(dest, store.object_path(oid))


def test_materialise_missing_object_and_bad_link_type(store: Store, tmp_path: Path) -> None:
    with pytest.raises(OperationError, match="not in the local cache"):
        store.materialise(sha(b"never stored"), tmp_path / "x")
    assert not (tmp_path / "x").exists()
    oid = put(store, b"x")
    with pytest.raises(UsageError):
        store.materialise(oid, tmp_path / "y", "teleport")


# ---------------------------------------------------------------- safe_dest


def test_safe_dest_refuses_escapes(tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / "data" / "link").symlink_to(outside)
    with pytest.raises(ManifestError, match="'data/link' is a symlink"):
        safe_dest(work, "data/link/x")
    with pytest.raises(ManifestError, match="'data/link' is a symlink"):
        safe_dest(work, "data/link/deeper/x")
    for bad in ("data/../../etc/passwd", "/etc/passwd", "data/.git/hooks/pre-commit", "", "data//x"):
        with pytest.raises(ManifestError):
            safe_dest(work, bad)
    (work / "data" / "file").write_bytes(b"")
    with pytest.raises(OperationError, match="not a directory"):
        safe_dest(work, "data/file/x")
    (work / "data" / "dir").mkdir()
    with pytest.raises(OperationError, match="is a directory"):
        safe_dest(work, "data/dir")
    assert safe_dest(work, "data/new/deep/x") == work / "data" / "new" / "deep" / "x"
    known: set[str] = set()
    assert safe_dest(work, "data/a", known) == work / "data" / "a"
    assert known == {"data"}
    assert os.listdir(outside) == []


def test_materialise_with_workdir_never_writes_through_symlinks(store: Store, tmp_path: Path) -> None:
    oid = put(store, b"payload")
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (work / "data" / "link").symlink_to(outside)
    with pytest.raises(ManifestError):
        store.materialise(oid, work / "data" / "link" / "x", "copy", workdir=work)
    assert os.listdir(outside) == []
    with pytest.raises(UsageError):
        store.materialise(oid, tmp_path / "elsewhere", "copy", workdir=work)
    # A symlink as the final component is replaced itself; its target is untouched.
    target = outside / "target"
    target.write_bytes(b"keep me")
    (work / "data" / "f").symlink_to(target)
    store.materialise(oid, work / "data" / "f", "copy", workdir=work)
    assert not (work / "data" / "f").is_symlink()
    assert (work / "data" / "f").read_bytes() == b"payload"
    assert target.read_bytes() == b"keep me"


# ---------------------------------------------------------------- verify


def test_verify_finds_and_removes_corrupt_objects(store: Store) -> None:
    datas = [os.urandom(5000 + i) for i in range(6)]
    oids = [put(store, d) for d in datas]
    assert sorted(store.iter_oids()) == sorted(oids)
    bad = store.object_path(oids[2])
    bad.chmod(0o644)
    bad.write_bytes(b"bit rot")
    assert store.verify() == [oids[2]]
    assert not store.has(oids[2])  # gone, so the next fetch downloads it again
    assert store.verify(jobs=1) == []
    assert store.verify([oids[0], sha(b"absent")]) == []  # absent objects are not corrupt
    (store.objects / "zz").mkdir()
    (store.objects / "ab" / "cd").mkdir(parents=True)
    (store.objects / "ab" / "cd" / "not-a-hash").write_bytes(b"")
    assert sorted(store.iter_oids()) == sorted(o for o in oids if o != oids[2])


def stored(tmp_path: Path, data: bytes) -> tuple[Store, Sha256]:
    store = Store(tmp_path / "store")
    src = tmp_path / "f"
    src.write_bytes(data)
    return store, store.add_file(src)


def test_materialise_refuses_a_short_object_and_removes_it(tmp_path: Path) -> None:
    """A download adopted without fsync may be cut short by a crash: its size gives it away."""
    store, oid = stored(tmp_path, b"0123456789")
    obj = store.object_path(oid)
    obj.chmod(0o644)
    obj.write_bytes(b"0123")  # what a crash could leave behind
    with pytest.raises(IntegrityError, match="damaged"):
        store.materialise(oid, tmp_path / "out", "copy", size=10)
    assert not obj.exists() and not (tmp_path / "out").exists()


def test_a_wrong_manifest_size_never_destroys_a_good_object(tmp_path: Path) -> None:
    """Issue 9, item 4: the object may be the only copy. Its bytes match its name, so the
    manifest's size is what is wrong: the object stays, the error says so."""
    store, oid = stored(tmp_path, b"0123456789")
    dest = tmp_path / "work" / "data" / "f.csv"
    for recorded in (12, 4, 0):
        with pytest.raises(IntegrityError) as info:
            store.materialise(oid, dest, "copy", size=recorded)
        message = info.value.message
        assert str(dest) in message and f"records {recorded} bytes" in message and "is 10 bytes" in message
        assert "manifest is wrong" in message and "kept" in message
        assert "10" in (info.value.hint or "")
        assert store.object_path(oid).read_bytes() == b"0123456789"
        assert not dest.exists()
    store.materialise(oid, dest, "copy", size=10)
    assert dest.read_bytes() == b"0123456789"


def test_an_object_that_cannot_be_re_read_is_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    oid = sha(b"0123456789")
    obj = store.object_path(oid)
    obj.parent.mkdir(parents=True)
    os.mkfifo(obj)  # stands for any object that cannot be read back (permissions, I/O error)
    with pytest.raises(IntegrityError, match="cannot be re-read") as info:
        store.materialise(oid, tmp_path / "out", "copy", size=10)
    assert "kept" in info.value.message
    assert stat.S_ISFIFO(os.lstat(obj).st_mode)


def test_add_files_stores_a_batch_read_only_and_cleans_up_a_failure(store: Store, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    items = []
    for i in range(10):
        data = b"file %d" % i * (i * 300 + 1)  # small ones, and one past nothing: all in memory
        (src / f"f{i}").write_bytes(data)
        items.append((src / f"f{i}", sha(data)))
    big = os.urandom((1 << 20) + 17)  # past CHUNK: the clone-or-copy path, re-hashed from the copy
    (src / "big").write_bytes(big)
    items.append((src / "big", sha(big)))
    assert store.add_files(items, jobs=4, batch=4) == 11
    for path, oid in items:
        obj = store.object_path(oid)
        assert obj.read_bytes() == path.read_bytes() and stat.S_IMODE(obj.stat().st_mode) == 0o444
    assert store.add_files(items) == 0  # all present
    assert not any(store.tmp.glob("*"))
    (src / "g").write_bytes(b"now")
    with pytest.raises(IntegrityError, match="changed since it was hashed"):
        store.add_files([(src / "f1", sha(b"not these bytes")), (src / "g", sha(b"now"))], jobs=2)
    assert not store.has(sha(b"now"))  # its batch failed: nothing renamed into place
    assert not any(store.tmp.glob("*"))

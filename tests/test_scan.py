"""Walking sections and the stat cache: real files in tmp_path, no mocks."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from pathlib import Path

import pytest

from git_eosvc.errors import EosvcError, UsageError
from git_eosvc.hashing import Sha256
from git_eosvc.statcache import U64
from git_eosvc.filehash import SKIP_SPECIAL, SKIP_SYMLINK
from git_eosvc.scan import SKIP_GIT, scan
from git_eosvc.statcache import StatCache


def sha(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    w = tmp_path / "work"
    w.mkdir()
    return w


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "git" / "eosvc" / "stat.db"


def test_scan_hashes_files_with_odd_names(work: Path) -> None:
    names = {
        "data/plain.csv": b"a,b\n1,2\n",
        "data/with space/and more.txt": b"spaces",
        "data/new\nline": b"newline in name",
        os.fsdecode(b"data/latin1-\xe9t\xe9.bin"): b"not utf-8",
        "data/ünïcödé/ファイル": b"utf-8",
        'data/quo"te\\back\ttab': b"escapes",
        "data/empty": b"",
    }
    for rel, data in names.items():
        write(work / rel, data)
    result = scan(work, "data", None)
    assert set(result.files) == set(names)
    for rel, data in names.items():
        e = result.files[rel]
        assert (e.path, e.oid, e.size) == (rel, sha(data), len(data))
    assert result.skipped == [] and result.hashed == len(names)


def test_scan_skips_and_reports_what_it_does_not_track(work: Path, tmp_path: Path) -> None:
    write(work / "data/real.bin", b"real")
    outside = write(tmp_path / "outside/secret", b"outside the repo")
    (work / "data/file-link").symlink_to(outside)
    (work / "data/dir-link").symlink_to(outside.parent)
    (work / "data/dangling").symlink_to(tmp_path / "nowhere")
    write(work / "data/sub/.git/config", b"[core]")
    write(work / "data/.GIT", b"gitdir: elsewhere")
    os.mkfifo(work / "data/fifo")
    write(work / "data/.eosvc-tmp-123-abc", b"half-written by a killed checkout")
    result = scan(work, "data", None)
    assert set(result.files) == {"data/real.bin"}
    reasons = dict(result.skipped)
    assert reasons["data/file-link"] == SKIP_SYMLINK
    assert reasons["data/dir-link"] == SKIP_SYMLINK
    assert reasons["data/dangling"] == SKIP_SYMLINK
    assert reasons["data/sub/.git"] == SKIP_GIT and reasons["data/.GIT"] == SKIP_GIT
    assert reasons["data/fifo"] == SKIP_SPECIAL
    assert "data/.eosvc-tmp-123-abc" in reasons


def test_scan_refuses_symlinked_section(work: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    write(real / "x", b"x")
    (work / "data").symlink_to(real)
    with pytest.raises(UsageError, match="'data' is a symlink"):
        scan(work, "data", None)
    (work / "model").symlink_to(tmp_path / "elsewhere")  # a parent of the section
    write(real / "checkpoints/w.bin", b"w")
    with pytest.raises(UsageError, match="'model' is a symlink"):
        scan(work, "model/checkpoints", None)
    assert scan(work, "output", None).files == {}  # a missing section is simply empty
    write(work / "output", b"a file where the section should be")
    with pytest.raises(UsageError):
        scan(work, "output", None)


def test_scan_paths_restricts_and_checks(work: Path, tmp_path: Path) -> None:
    for rel in ("data/a/1", "data/a/2", "data/b/1", "data/c"):
        write(work / rel, rel.encode())
    result = scan(work, "data", None, paths=["data/a/", "data/c", "data/a/1", "data/missing"])
    assert set(result.files) == {"data/a/1", "data/a/2", "data/c"}
    assert set(scan(work, "data", None, paths=["data"]).files) == {"data/a/1", "data/a/2", "data/b/1", "data/c"}
    for bad in ("output/x", "data/../etc", "/etc/passwd", "data/.git"):
        with pytest.raises(EosvcError):
            scan(work, "data", None, paths=[bad])
    (work / "data/link").symlink_to(tmp_path)
    with pytest.raises(UsageError, match="symlink"):
        scan(work, "data", None, paths=["data/link/x"])
    assert dict(scan(work, "data", None, paths=["data/link"]).skipped) == {"data/link": SKIP_SYMLINK}


def test_scan_large_files_in_thread_pool(work: Path) -> None:
    blobs = {f"data/big{i}": os.urandom((1 << 20) + i) for i in range(5)}
    blobs.update({f"data/small/{i}": os.urandom(100) for i in range(100)})
    for rel, data in blobs.items():
        write(work / rel, data)
    result = scan(work, "data", None, jobs=4)
    assert {r: e.oid for r, e in result.files.items()} == {r: sha(d) for r, d in blobs.items()}
    assert result.hashed == len(blobs)


# ---------------------------------------------------------------- stat cache


def test_rescan_with_stat_cache_hashes_nothing(work: Path, db: Path) -> None:
    names = ["data/a", "data/sub/b", "data/new\nline", os.fsdecode(b"data/\xff\xfe")]
    for i, rel in enumerate(names):
        write(work / rel, b"content %d" % i)
    # racy_ns=0: the files were written moments ago; the default 2 s window would (rightly)
    # keep re-hashing them, and tests must not sleep.
    with StatCache(db, racy_ns=0) as cache:
        first = scan(work, "data", cache)
        assert first.hashed == 4
        second = scan(work, "data", cache)
        assert second.hashed == 0 and second.files == first.files
        assert all(type(e.oid) is Sha256 for e in second.files.values())
    with StatCache(db, racy_ns=0) as cache:  # persisted (another process would see it too)
        assert scan(work, "data", cache).hashed == 0
        (work / "data/a").write_bytes(b"longer content now")  # size changes
        third = scan(work, "data", cache)
        assert third.hashed == 1 and third.files["data/a"].oid == sha(b"longer content now")
        # A deleted file disappears from the result and from the database.
        (work / "data/sub/b").unlink()
        assert set(scan(work, "data", cache).files) == set(names) - {"data/sub/b"}
        assert str(work / "data/sub/b") not in cache.load_rows(str(work / "data") + "/")


def test_same_size_edit_with_restored_mtime_is_detected_via_ctime(work: Path, db: Path) -> None:
    f = write(work / "data/weights.bin", b"AAAA" * 1000)
    with StatCache(db, racy_ns=0) as cache:
        assert scan(work, "data", cache).hashed == 1
        assert scan(work, "data", cache).hashed == 0
        before = os.lstat(f)
        time.sleep(0.02)  # past the kernel's coarse timestamp tick, so ctime moves
        f.write_bytes(b"BBBB" * 1000)  # same size
        os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back
        after = os.lstat(f)
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        assert after.st_ctime_ns != before.st_ctime_ns
        result = scan(work, "data", cache)
        assert result.hashed == 1
        assert result.files["data/weights.bin"].oid == sha(b"BBBB" * 1000)


def test_the_racy_window_follows_the_timestamps_grain(db: Path) -> None:
    """Sub-second timestamps (ext4, xfs, tmpfs, APFS, NTFS) tick with the kernel's coarse
    clock: 20 ms is enough. Whole seconds (FAT, HFS+, ext3) keep the 2 s window."""
    with StatCache(db) as cache:
        second = 1_700_000_000 * 10**9
        assert cache.window(second, second) == 2 * 10**9
        assert cache.window(second + 4_000_000, second) == 20_000_000
        assert cache.window(second, second + 1) == 20_000_000
    with StatCache(db, racy_ns=0) as cache:
        assert cache.window(second + 1, second) == 0


def test_racy_window_entries_are_not_trusted(work: Path, db: Path) -> None:
    f = write(work / "data/x.bin", b"new bytes")
    with StatCache(db) as cache:  # the real windows
        assert scan(work, "data", cache).hashed == 1
        # Simulate the race itself: the row says the current stat tuple maps to bytes
        # the file held earlier in the same timestamp tick.
        st = os.lstat(f)
        stale = sha(b"old bytes")
        changed = max(st.st_mtime_ns, st.st_ctime_ns)
        cache.record([(str(f), st, stale)], written_ns=changed + 1)  # inside the window
        assert cache.lookup(str(f), st) is None
        assert scan(work, "data", cache).files["data/x.bin"].oid == sha(b"new bytes")
        # The same row written long after the file's last change would be trusted: the
        # window, not luck, is what caught the edit above.
        cache.record([(str(f), st, stale)], written_ns=time.time_ns() + 10**10)
        assert cache.lookup(str(f), st) == stale
        assert cache.load_rows(str(work) + "/")[str(f)][6] == stale
        assert scan(work, "data", cache).files["data/x.bin"].oid == stale


def test_corrupt_database_is_rebuilt_silently(work: Path, db: Path) -> None:
    write(work / "data/a", b"a")
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not an sqlite database" * 100)
    with StatCache(db, racy_ns=0) as cache:
        assert scan(work, "data", cache).hashed == 1
        assert scan(work, "data", cache).hashed == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM stat").fetchone()[0] == 1
    # A database from another schema version is dropped, not misread.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with StatCache(db, racy_ns=0) as cache:
        assert scan(work, "data", cache).hashed == 1


def test_unwritable_database_location_runs_uncached(work: Path, tmp_path: Path) -> None:
    write(work / "data/a", b"a")
    blocker = write(tmp_path / "blocker", b"a file, so the db directory cannot exist")
    with StatCache(blocker / "eosvc" / "stat.db") as cache:
        assert scan(work, "data", cache).files["data/a"].oid == sha(b"a")
        assert scan(work, "data", cache).hashed == 1


def test_two_caches_share_one_database(work: Path, db: Path) -> None:
    write(work / "data/a", b"a")
    write(work / "data/b", b"b")
    with StatCache(db, racy_ns=0) as one, StatCache(db, racy_ns=0) as two:
        assert scan(work, "data", one, paths=["data/a"]).hashed == 1
        assert scan(work, "data", two, paths=["data/b"]).hashed == 1
        assert scan(work, "data", one).hashed == 0
        assert scan(work, "data", two).hashed == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_huge_inode_numbers_round_trip(work: Path, db: Path) -> None:
    f = write(work / "data/a", b"a")
    seq = list(os.lstat(f))
    seq[1] = 2**64 - 5  # some filesystems hand out inodes above SQLite's signed range
    real = os.lstat(f)
    st = os.stat_result(seq, {"st_mtime_ns": real.st_mtime_ns, "st_ctime_ns": real.st_ctime_ns})
    with StatCache(db, racy_ns=0) as cache:
        cache.record([(str(f), st, sha(b"a"))], written_ns=time.time_ns() + 10**10)
        assert cache.lookup(str(f), st) == sha(b"a")
        assert cache.load_rows(str(work) + "/")[str(f)][2] & U64 == 2**64 - 5


def test_a_walk_the_cache_saw_through_answers_without_rows(work: Path, db: Path) -> None:
    """The section's record of a whole walk (tree row): same stat tuples, same files, the
    listing compared as bytes; any change, or a racy file, falls back to the rows."""
    from git_eosvc.manifest import Entry, encode, listing

    names = ["data/a", "data/sub/b", "data/new\nline", os.fsdecode(b"data/\xff\xfe")]
    for i, rel in enumerate(names):
        write(work / rel, b"content %d" % i)
    with StatCache(db, racy_ns=0) as cache:
        first = scan(work, "data", cache)
        assert first.listing is None and first.hashed == 4
        second = scan(work, "data", cache)
        assert second.listing == listing(first.files) == encode(first.files.values())
        assert second.files == first.files and all(type(e.oid) is Sha256 for e in second.files.values())
        assert second.lists(encode(first.files.values()))
        assert not second.lists(encode([Entry("data/a", sha(b"other"), 5)]))
        (work / "data/a").write_bytes(b"changed!!")  # same walk otherwise: the digest differs
        third = scan(work, "data", cache)
        assert third.listing is None and third.hashed == 1
        assert third.files["data/a"].oid == sha(b"changed!!")
        assert scan(work, "data", cache).files == third.files
        assert scan(work, "data", cache, paths=["data/sub"]).listing is None  # only whole walks
    with StatCache(db) as cache:  # the real windows: files changed within them are never vouched for
        write(work / "data/fresh", b"fresh")
        # "just written", whatever the machine's load: a last change in the future is always
        # within the window (waiting on the clock instead made this flaky under load)
        later = time.time_ns() + 60 * 10**9
        for p in (work / "data").rglob("*"):
            if p.is_file():
                os.utime(p, ns=(later, later))
        assert scan(work, "data", cache).hashed == 5  # every file changed within the window
        again = scan(work, "data", cache)
        assert again.listing is None and again.hashed == 5

"""lstats: every listed file's lstat and one digest, in a forked child for half of them.
Real files and a real fork; the child's failures are made real by replacing what it runs."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from git_eosvc import lstats
from git_eosvc.lstats import Listed, survey, tree_digest
from git_eosvc.filehash import SKIP_SPECIAL, SKIP_SYMLINK
from git_eosvc.scan import scan
from git_eosvc.statcache import StatCache, stat_key


def make_tree(root: Path, dirs: int, per_dir: int) -> list[Listed]:
    listed: list[Listed] = []
    for d in range(dirs):
        sub = root / f"d{d:02}"
        sub.mkdir(parents=True)
        names = []
        for f in range(per_dir):
            (sub / f"f{f:03}").write_bytes(b"%d-%d" % (d, f))
            names.append(f"f{f:03}")
        listed.append((str(sub), f"data/d{d:02}", names))
    return listed


def same(a: list[list[lstats.Outcome]], b: list[list[lstats.Outcome]]) -> bool:
    def key(o: lstats.Outcome) -> object:
        return o if isinstance(o, int) else (o.st_mode, *stat_key(o))

    return [[key(o) for o in part] for part in a] == [[key(o) for o in part] for part in b]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lstats, "BLOCK", 7)  # directories of 30 names span several blocks


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real forks, so a test of the split knows the child did run."""
    count: list[int] = []
    real_fork = os.fork

    def counting_fork() -> int:
        count.append(1)
        return real_fork()

    monkeypatch.setattr(os, "fork", counting_fork)
    return count


def test_split_and_serial_agree(tmp_path: Path, small_blocks: None, forks: list[int]) -> None:
    listed = make_tree(tmp_path, 5, 30)
    os.mkfifo(tmp_path / "d01" / "fifo")
    os.symlink("f000", tmp_path / "d02" / "link")
    listed[1][2].append("fifo")  # type: ignore[attr-defined]
    listed[2][2].append("link")  # type: ignore[attr-defined]
    listed[3][2].append("gone")  # type: ignore[attr-defined]
    serial = survey(listed, split_min=10**9)
    split = survey(listed, split_min=1)
    assert forks == [1]
    assert split.digest == serial.digest == tree_digest(listed, serial.outcomes())
    assert same(split.outcomes(), serial.outcomes())
    got = {n: o for (_, _, names), part in zip(listed, serial.outcomes()) for n, o in zip(names, part)}
    assert got["gone"] == 2  # ENOENT, not an exception
    assert stat.S_ISLNK(got["link"].st_mode)  # type: ignore[union-attr]  # never followed
    assert stat.S_ISFIFO(got["fifo"].st_mode)  # type: ignore[union-attr]


def test_one_flat_directory_is_split_too(tmp_path: Path, small_blocks: None, forks: list[int]) -> None:
    listed = make_tree(tmp_path, 1, 60)
    split = survey(listed, split_min=1)
    assert forks == [1]
    assert split.digest == survey(listed, split_min=10**9).digest
    assert split._outcomes == [None]  # the child had part of it: statted again when asked
    assert len(split.outcomes()[0]) == 60


def test_the_digest_sees_what_a_scan_must(tmp_path: Path, small_blocks: None) -> None:
    """Same-size rewrites with mtime put back (ctime), renames, moves between directories
    and deletions all change the digest, in either half."""
    listed = make_tree(tmp_path, 4, 30)
    before = survey(listed, split_min=1).digest
    assert survey(listed, split_min=1).digest == before
    target = tmp_path / "d03" / "f029"  # in the child's half
    st = target.stat()
    time.sleep(0.01)
    target.write_bytes(b"3-29")  # same bytes even; ctime moves
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert survey(listed, split_min=1).digest != before
    before = survey(listed, split_min=1).digest
    os.rename(tmp_path / "d00" / "f000", tmp_path / "d03" / "f000x")
    moved: list[Listed] = [(a, r, [n for n in names if n != "f000"] if r.endswith("d00") else
                            [*names, "f000x"] if r.endswith("d03") else names) for a, r, names in listed]
    assert survey(moved, split_min=1).digest != before
    assert survey(listed, split_min=1).digest != before  # the name is gone: ENOENT recorded


@pytest.mark.parametrize("how", ["dies", "short", "says nothing"])
def test_a_failing_child_changes_nothing(tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch,
                                         forks: list[int], how: str) -> None:
    listed = make_tree(tmp_path, 4, 30)
    want = survey(listed, split_min=10**9).digest
    assert forks == []

    def broken(r: int, w: int, listed: object, blocks: object) -> None:
        try:
            if how == "short":
                os.write(w, b"\0" * 31)
            elif how == "says nothing":
                os.close(w)
                time.sleep(0.05)
        finally:
            os._exit(3 if how == "dies" else 0)

    monkeypatch.setattr(lstats, "_child_main", broken)
    got = survey(listed, split_min=1)
    assert forks == [1]
    assert got.digest == want
    assert same(got.outcomes(), survey(listed, split_min=10**9).outcomes())


def test_no_fork_while_other_threads_run(tmp_path: Path, forks: list[int]) -> None:
    listed = make_tree(tmp_path, 2, 5)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        with_thread = survey(listed, split_min=1)
    finally:
        stop.set()
        t.join()
    assert forks == []
    assert survey(listed, split_min=1).digest == with_thread.digest
    assert forks == [1]


def test_scan_through_the_split_survey(tmp_path: Path, small_blocks: None, monkeypatch: pytest.MonkeyPatch,
                                       forks: list[int]) -> None:
    """A scan whose stats came half from the child: the tree row answers an unchanged walk,
    and an edit the child's half holds is seen and hashed."""
    monkeypatch.setattr(lstats, "SPLIT_MIN", 1)
    work = tmp_path / "work"
    make_tree(work / "data", 4, 30)
    os.mkfifo(work / "data" / "d00" / "fifo")
    os.symlink("f000", work / "data" / "d00" / "link")
    db = tmp_path / "stat.db"
    with StatCache(db, racy_ns=0) as cache:
        first = scan(work, "data", cache)
        assert first.hashed == 120 and len(first.files) == 120
        assert ("data/d00/fifo", SKIP_SPECIAL) in first.skipped and ("data/d00/link", SKIP_SYMLINK) in first.skipped
        assert scan(work, "data", cache).listing is None  # a fifo: no tree row is saved
        (work / "data" / "d00" / "fifo").unlink()
        assert scan(work, "data", cache).listing is None  # this one saves it
        quiet = scan(work, "data", cache)
        assert quiet.listing is not None and quiet.hashed == 0 and quiet.files == {
            p: e for p, e in first.files.items()}
        assert quiet.skipped == [("data/d00/link", SKIP_SYMLINK)]
        (work / "data" / "d03" / "f029").write_bytes(b"edited in the child's half")
        seen = scan(work, "data", cache)
        assert seen.listing is None and seen.hashed == 1
        assert seen.files["data/d03/f029"].oid == hashlib.sha256(b"edited in the child's half").hexdigest()
        again = scan(work, "data", cache)
        assert again.listing is not None and again.files == seen.files
    assert len(forks) == 6  # every scan split its stats

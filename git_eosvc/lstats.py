"""lstat every file a walk listed, and one digest of what that found; in two processes
when there are many files.

A no-op `status` of a large section is almost all lstat calls: 100,000 take 0.25 s of
kernel time here, half of the command. Threads do not help (CPython holds the GIL
between the calls); a forked child that stats half of the files does, on two cores. The
child only opens directories, stats, hashes and writes 32 bytes per block to a pipe, and
never returns into the caller's code (os._exit). The fork only happens while this is the
process's only thread: a fork with other threads running can leave their locks held in
the child. If the child fails in any way, the parent stats its half itself: results never
depend on the child.

The digest is over blocks of at most BLOCK names of one directory, each block's digest
over its names and their lstat (or errno), and does not depend on who computed which
block: `tree_digest` over the same names and outcomes gives the same bytes.
"""

from __future__ import annotations

import errno as _errno
import hashlib
import marshal
import os
import sys
from typing import Sequence, Union

SPLIT_MIN = 20_000  # names below which a fork costs more than it saves
BLOCK = 4096  # names per digest block, so a flat directory of 100,000 files splits too
DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


# per name: its lstat, or the errno of the failure (ENOENT: it vanished since the listing)
Outcome = Union[os.stat_result, int]
Listed = tuple[str, str, Sequence[str]]  # (directory's abspath, its repo-relative path, file names)
_Block = tuple[int, int, int]  # (index in the listing, first name, end)


class Survey:
    """The digest of a walk's stats; `outcomes()` is each name's lstat or errno (statted
    again here for the child's half, when the digest alone did not answer)."""

    def __init__(self, listed: Sequence[Listed], digest: bytes, outcomes: list[list[Outcome] | None]) -> None:
        self.listed = listed
        self.digest = digest
        self._outcomes = outcomes

    def outcomes(self) -> list[list[Outcome]]:
        out: list[list[Outcome]] = []
        for (d_abs, _, names), got in zip(self.listed, self._outcomes):
            out.append(got if got is not None else _stat_dir(d_abs, names, 0, len(names)))
        self._outcomes = list(out)
        return out


def survey(listed: Sequence[Listed], split_min: int | None = None) -> Survey:
    """lstat every listed name (never following a symlink) and digest the outcomes."""
    total = sum(len(names) for _, _, names in listed)
    if total < (SPLIT_MIN if split_min is None else split_min) or not _can_fork():
        outcomes: list[list[Outcome] | None] = [_stat_dir(d, names, 0, len(names)) for d, _, names in listed]
        return Survey(listed, tree_digest(listed, outcomes), outcomes)
    blocks = _blocks(listed)
    cut = _half(listed, blocks, total)
    mine, theirs = blocks[:cut], blocks[cut:]
    child = _Child(listed, theirs)
    try:
        got = {b: _stat_dir(listed[b[0]][0], listed[b[0]][2], b[1], b[2]) for b in mine}
        digests = [_block_digest(listed, b, got[b]) for b in mine]
    finally:
        theirs_digests = child.result()
    if theirs_digests is None:  # the child failed: its half here
        more = {b: _stat_dir(listed[b[0]][0], listed[b[0]][2], b[1], b[2]) for b in theirs}
        got.update(more)
        theirs_digests = [_block_digest(listed, b, more[b]) for b in theirs]
    # whole directories the parent statted; the rest is statted again if outcomes() is asked
    by_dir: dict[int, list[Outcome]] = {}
    complete: set[int] = set()
    for b in blocks:
        i, lo, _ = b
        if b in got:
            part = by_dir.setdefault(i, [])
            if len(part) == lo:
                part.extend(got[b])
                if len(part) == len(listed[i][2]):
                    complete.add(i)
    outcomes = [by_dir[i] if i in complete else None for i in range(len(listed))]
    return Survey(listed, _combine(digests + theirs_digests), outcomes)


def tree_digest(listed: Sequence[Listed], outcomes: Sequence[Sequence[Outcome] | None]) -> bytes:
    """The digest `survey` gives for these names and outcomes (all of them known)."""
    digests: list[bytes] = []
    for b in _blocks(listed):
        got = outcomes[b[0]]
        assert got is not None
        digests.append(_block_digest(listed, b, got[b[1]:b[2]]))
    return _combine(digests)


def _combine(digests: list[bytes]) -> bytes:
    return hashlib.sha256(b"".join(digests)).digest()


def _blocks(listed: Sequence[Listed]) -> list[_Block]:
    return [(i, lo, min(lo + BLOCK, len(names))) for i, (_, _, names) in enumerate(listed)
            for lo in range(0, len(names), BLOCK)]


def _half(listed: Sequence[Listed], blocks: list[_Block], total: int) -> int:
    """The first block past half of the names."""
    seen = 0
    for k, (_, lo, hi) in enumerate(blocks):
        if seen >= total // 2:
            return k
        seen += hi - lo
    return len(blocks)


def _block_digest(listed: Sequence[Listed], block: _Block, got: Sequence[Outcome]) -> bytes:
    """One block's names and outcomes (lstat fields, or errno), with its place in the walk."""
    i, lo, hi = block
    _, d_rel, names = listed[i]
    records = [(n, o) if isinstance(o, int)
               else (n, o.st_mode, o.st_dev, o.st_ino, o.st_size, o.st_mtime_ns, o.st_ctime_ns)
               for n, o in zip(names[lo:hi], got)]
    return hashlib.sha256(marshal.dumps((d_rel, lo, records), 2)).digest()


def _can_fork() -> bool:
    if not hasattr(os, "fork") or sys.platform == "darwin":  # macOS: fork without exec is unsafe
        return False
    import threading

    return threading.active_count() == 1


def _stat_dir(d: str, names: Sequence[str], lo: int, hi: int) -> list[Outcome]:
    """lstat names[lo:hi] relative to one descriptor of d (fstatat: no path walk each)."""
    try:
        fd = os.open(d, DIR_FLAGS)
    except OSError as exc:
        return [exc.errno or _errno.EIO] * (hi - lo)
    got: list[Outcome] = []
    add = got.append
    stat = os.stat
    try:
        for name in names[lo:hi]:
            try:
                add(stat(name, dir_fd=fd, follow_symlinks=False))
            except OSError as exc:
                add(exc.errno or _errno.EIO)
    finally:
        os.close(fd)
    return got


class _Child:
    """A forked process digesting some blocks; result() is its digests, or None if it failed."""

    def __init__(self, listed: Sequence[Listed], blocks: list[_Block]) -> None:
        self.want = 32 * len(blocks)
        self.pid = -1
        self.fd = -1
        try:
            r, w = os.pipe()
        except OSError:
            return
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:
            _child_main(r, w, listed, blocks)
        os.close(w)
        self.pid, self.fd = pid, r

    def result(self) -> list[bytes] | None:
        if self.pid == -1:
            return None
        data = bytearray()
        try:
            while len(data) <= self.want:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                data += chunk
        except OSError:
            data = bytearray()
        finally:
            os.close(self.fd)
            _, status = os.waitpid(self.pid, 0)
        if status != 0 or len(data) != self.want:
            return None
        return [bytes(data[k:k + 32]) for k in range(0, self.want, 32)]


def _child_main(r: int, w: int, listed: Sequence[Listed], blocks: list[_Block]) -> None:
    """The forked child: never returns into the caller, whatever happens."""
    code = 1
    try:
        os.close(r)
        view = memoryview(b"".join(_block_digest(listed, b, _stat_dir(listed[b[0]][0], listed[b[0]][2], b[1], b[2]))
                                   for b in blocks))
        while view:
            view = view[os.write(w, view):]
        code = 0
    finally:
        os._exit(code)


"""Hash the files a scan found, in parallel, each checked to be stable while read; for
`add`, large ones are written to store temp files as they are hashed (staging.py).

Only the standard library is imported at module level (concurrent.futures only when
there is enough to hash): this runs inside git hooks, where startup time is the budget.
"""

from __future__ import annotations

import os
import stat as _stat
from pathlib import Path
from typing import Callable, Union

from .hashing import CHUNK, Sha256, hash_file, local_jobs
from .progress import Progress
from .staging import Staging
from .statcache import stat_key

SKIP_SYMLINK = "symlinks are not tracked"
SKIP_SPECIAL = "not a regular file (socket, fifo or device)"
SKIP_UNSTABLE = "changed while being hashed (still being written?)"
KEEP_MIN = CHUNK  # smaller files: the store reads them once into memory anyway (cache.read_small)

Keep = Callable[[], Staging]  # a new store temp file
Todo = tuple[str, str, os.stat_result]  # (abspath, repo-relative path, lstat when listed)
# (sha256, size, lstat after, the store temp file holding those bytes or None); a skip
# reason; None: the file vanished
Hashed = Union[tuple[Sha256, int, os.stat_result, Union[Path, None]], str, None]
Outcome = tuple[str, str, Hashed]


class _Unstable(Exception):
    """A file kept changing while it was read: its hash would describe no real state."""


def hash_stable(abspath: str, st: os.stat_result, progress: Progress | None = None,
                keep: Keep | None = None) -> Hashed:
    """Hash a regular file and make sure it did not change or get swapped meanwhile.
    A skip reason if it stopped being a regular file (say, replaced by a symlink: its
    target must not be hashed); None if it vanished. With `keep`, the bytes hashed are
    also written to a store temp file, discarded unless they are the answer."""
    on_chunk = progress.update if progress is not None else None
    for _ in range(3):
        staged = keep() if keep is not None else None
        try:
            oid, size = hash_file(abspath, on_chunk, None if staged is None else staged.write)
            try:
                after = os.lstat(abspath)
            except FileNotFoundError:
                after = None
            if (after is not None and _stat.S_ISREG(after.st_mode)
                    and stat_key(after) == stat_key(st) and size == after.st_size):
                return oid, size, after, None if staged is None else staged.finish()
        except BaseException:
            if staged is not None:
                staged.discard()
            raise
        if staged is not None:
            staged.discard()
        if after is None:
            return None
        if _stat.S_ISLNK(after.st_mode):
            return SKIP_SYMLINK
        if not _stat.S_ISREG(after.st_mode):
            return SKIP_SPECIAL
        st = after  # changed between listing and reading, or while reading: read again
    raise _Unstable()


def hash_all(todo: list[Todo], jobs: int, keep: Keep | None = None) -> list[Outcome]:
    """Hash files, with progress; the cache-vouched ones never get here. `keep` applies
    to files of KEEP_MIN bytes and more."""

    def one(item: Todo) -> Outcome:
        ab, rel, st = item
        try:
            return ab, rel, hash_stable(ab, st, progress, keep if st.st_size >= KEEP_MIN else None)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return ab, rel, None  # vanished between listing and hashing: simply absent
        except _Unstable:
            return ab, rel, SKIP_UNSTABLE
        except OSError as exc:
            return ab, rel, f"unreadable: {exc.strerror}"

    total = sum(t[2].st_size for t in todo)
    with Progress(total, "hash", items=len(todo)) as progress:
        if local_jobs(jobs) <= 1 or len(todo) == 1 or total < 4 * CHUNK:
            return [_counted(one(t), progress) for t in todo]
        return _hash_parallel(todo, local_jobs(jobs), lambda t: _counted(one(t), progress))


def _counted(outcome: Outcome, progress: Progress) -> Outcome:
    progress.update(0, items=1)
    return outcome


def _hash_parallel(todo: list[Todo], jobs: int, one: Callable[[Todo], Outcome]) -> list[Outcome]:
    """Hash in a thread pool (hashlib and read() release the GIL). Small files go in
    batches so the pool's per-task cost does not dominate."""
    batches: list[list[Todo]] = []
    small: list[Todo] = []
    for t in sorted(todo, key=lambda t: -t[2].st_size):  # big first: better load balance
        if t[2].st_size >= CHUNK:
            batches.append([t])
        else:
            small.append(t)
            if len(small) == 64:
                batches.append(small)
                small = []
    if small:
        batches.append(small)

    from concurrent.futures import ThreadPoolExecutor  # ~10 ms import: only when hashing

    out: list[Outcome] = []
    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        for done in pool.map(lambda b: [one(t) for t in b], batches):
            out.extend(done)
    return out

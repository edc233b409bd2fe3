"""add's single pass for large files: the bytes go into a store temp file as they are hashed.

Hashing a file and then copying it into the store reads it twice and hashes it twice
(the copy is checked against the hash). Written while hashed, the temp file holds exactly
the bytes the hash describes, so it needs no second look: one read, one hash, one write.
Git LFS's clean filter works the same way. Write-back is started every KICK bytes
(Linux's sync_file_range), so the disk writes while the rest is hashed: 4 x 256 MiB added
in 0.86 s instead of 1.10 s here. The temp file is fsynced and made read-only when the
hash is final; `Store.install` then renames it to the object's name (or drops
it, when the store has that object already).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from .atomic import write_all
from .cache import Store, unlink_quiet
from .errors import OperationError


KICK = 16 << 20  # write-back is started every 16 MiB, so the final fsync finds little to do


def _start_writeback() -> Callable[[int, int, int, int], int] | None:
    """Linux's sync_file_range, to start write-back without waiting for it; None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
        fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        fn.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return fn


_SYNC_FILE_RANGE_WRITE = 2
_writeback: list[Callable[[int, int, int, int], int] | None] = []  # looked up once


class Staging:
    """One temp file in the store receiving one file's bytes."""

    def __init__(self, store: Store) -> None:
        self.path = store.tmp_path()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        self.written = self.started = 0
        if not _writeback:
            _writeback.append(_start_writeback())

    def write(self, chunk: memoryview) -> None:
        try:
            write_all(self.fd, chunk)
        except OSError as exc:  # not the file's fault: the scan must not skip it as unreadable
            raise self._failed(exc) from None
        self.written += len(chunk)
        kick = _writeback[0]
        if kick is not None and self.written - self.started >= KICK:
            # the disk writes while the next chunks are hashed; only fsync's answer counts
            kick(self.fd, self.started, self.written - self.started, _SYNC_FILE_RANGE_WRITE)
            self.started = self.written

    def finish(self) -> Path:
        """Durable and read-only: ready for Store.install under the hash just computed."""
        try:
            os.fsync(self.fd)  # before any rename: a name must never point at missing data
            os.fchmod(self.fd, 0o444)  # objects are immutable
        except OSError as exc:
            self.discard()
            raise self._failed(exc) from None
        fd, self.fd = self.fd, -1
        os.close(fd)
        return self.path

    def _failed(self, exc: OSError) -> OperationError:
        return OperationError(f"cannot write to the local store ({self.path.parent.parent}): {exc.strerror}",
                              hint="free some space there (`git eosvc gc`), or set eosvc.cacheDir elsewhere")

    def discard(self) -> None:
        if self.fd != -1:
            os.close(self.fd)
            self.fd = -1
        unlink_quiet(self.path)

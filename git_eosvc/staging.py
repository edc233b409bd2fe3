"""add's single pass for large files: the bytes go into a store temp file as they are hashed.

Hashing a file and then copying it into the store reads it twice and hashes it twice
(the copy is checked against the hash). Written while hashed, the temp file holds exactly
the bytes the hash describes, so it needs no second look: one read, one hash, one write.
Git LFS's clean filter works the same way. The temp file is made read-only when the hash
is final; `add` then promises it (durability.py: the disk writes it later, before any
step relies on it; 4 x 256 MiB added in 0.73 s here, hashlib alone 0.72 s, where an
fsync each took 0.86-1.1 s) and `Store.install` renames it to the object's name (or
drops it, when the store has that object already).
"""

from __future__ import annotations

import os
from pathlib import Path

from .atomic import write_all
from .cache import Store, unlink_quiet
from .errors import OperationError


class Staging:
    """One temp file in the store receiving one file's bytes."""

    def __init__(self, store: Store) -> None:
        self.path = store.tmp_path()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)

    def write(self, chunk: memoryview) -> None:
        try:
            write_all(self.fd, chunk)
        except OSError as exc:  # not the file's fault: the scan must not skip it as unreadable
            raise self._failed(exc) from None

    def finish(self) -> Path:
        """Read-only: ready for Store.install under the hash just computed, once the caller
        made it durable or promised it (durability.make_durable)."""
        try:
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

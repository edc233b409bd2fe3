"""add's single pass for large files: the bytes go into a store temp file as they are hashed.

Hashing a file and then copying it into the store reads it twice and hashes it twice
(the copy is checked against the hash). Written while hashed, the temp file holds exactly
the bytes the hash describes, so it needs no second look: one read, one hash, one write.
Git LFS's clean filter works the same way. The temp file is fsynced and made read-only
when the hash is final; `Store.install` then renames it to the object's name (or drops
it, when the store has that object already).
"""

from __future__ import annotations

import os
from pathlib import Path

from .atomic import write_all
from .cache import Store
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
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

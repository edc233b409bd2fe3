"""sha256 values and chunked file hashing: the lowest layer, imported by everything."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from typing import Callable

from .errors import ManifestError

CHUNK = 1 << 20  # 1 MiB: large enough that hashlib, not Python, dominates
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Sha256(str):
    """A sha256 digest as 64 lowercase hex characters (a validated str, cheap to hash and key)."""

    __slots__ = ()

    def __new__(cls, value: str) -> "Sha256":
        if isinstance(value, Sha256):
            return value
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise ManifestError(f"not a sha256 (64 lowercase hex characters): {value!r}")
        return super().__new__(cls, value)

    @property
    def short(self) -> str:
        return self[:10]

    def shard(self) -> str:
        """The object's relative path in a store or bucket: sha256/ab/cd/<hash>."""
        return f"sha256/{self[0:2]}/{self[2:4]}/{self}"


EMPTY = Sha256(hashlib.sha256(b"").hexdigest())


def local_jobs(jobs: int) -> int:
    """Threads for work on local files (hashing, storing): `jobs` (eosvc.jobs, sized for
    the network), but no more than the CPUs. Small-file work is system calls; beyond the
    CPUs more threads only fight over the GIL and the kernel's locks: the first `add` of
    100,000 files took 66 s with 16 threads on 2 CPUs, 36-40 s with 2."""
    return max(1, min(jobs, os.cpu_count() or 1))


def hash_bytes(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


_local = threading.local()


def _buffer() -> bytearray:
    """One reusable chunk buffer per thread: allocating 1 MiB per small file dominates otherwise."""
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = bytearray(CHUNK)
    return buf


def hash_file(path: str | os.PathLike[str], on_chunk: Callable[[int], None] | None = None,
              sink: Callable[[memoryview], None] | None = None) -> tuple[Sha256, int]:
    """Hash a regular file in chunks; returns (digest, size in bytes). `sink` gets each
    chunk as it is hashed (add's copy into the store: the bytes written are the bytes hashed).

    Opened without following a final symlink and without blocking, so a name swapped for
    a FIFO or a link between listing and hashing fails instead of hanging or escaping.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"not a regular file: {os.fspath(path)!r}")
        h = hashlib.sha256()
        size = 0
        buf = _buffer()
        view = memoryview(buf)
        while True:
            n = os.readv(fd, [buf])
            if not n:
                break
            h.update(view[:n])
            if sink is not None:
                sink(view[:n])
            size += n
            if on_chunk is not None:
                on_chunk(n)
        return Sha256(h.hexdigest()), size
    finally:
        os.close(fd)


def read_small(fd: int, size: int) -> bytes | None:
    """All of a file under CHUNK bytes (`size`: its fstat) from fd's offset, to hash and copy
    from memory; None for a larger one, or one that grew past `size` (fd back at 0)."""
    if size >= CHUNK:
        return None
    data = os.read(fd, size + 1)
    while len(data) <= size:  # a short read is not the end of the file until read() says so
        more = os.read(fd, size + 1 - len(data))
        if not more:
            return data
        data += more
    os.lseek(fd, 0, os.SEEK_SET)
    return None


def is_sha256(value: str) -> bool:
    return bool(_HEX64.fullmatch(value))


_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_object_id(value: str) -> bool:
    """A full git object id, of a sha1 or a sha256 repository."""
    return bool(_OBJECT_ID.fullmatch(value))



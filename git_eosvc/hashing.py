"""sha256 values and chunked file hashing: the lowest layer, imported by everything."""

from __future__ import annotations

import hashlib
import os
import re

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


def hash_bytes(data: bytes) -> Sha256:
    return Sha256(hashlib.sha256(data).hexdigest())


def hash_file(path: str | os.PathLike[str]) -> tuple[Sha256, int]:
    """Hash a file in chunks; returns (digest, size in bytes)."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            size += n
    return Sha256(h.hexdigest()), size


def is_sha256(value: str) -> bool:
    return bool(_HEX64.fullmatch(value))



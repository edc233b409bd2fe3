"""Content-defined chunks of a large file (FastCDC 2020, by pyfastcdc), each named by its
sha256. Boundaries follow the content, so an edit moves only the chunks around it: a push
of a slightly changed large file uploads roughly the changed bytes (docs/storage.md).

The parameters are part of the storage format: change them and unchanged files chunk
differently (still correct, only less deduplicated).
"""

from __future__ import annotations

import hashlib
import mmap
import os
from pathlib import Path

from .packfmt import Chunk
from .hashing import Sha256

AVG_SIZE = 64 * 1024  # FastCDC's average before cut-point skipping; chunks come out ~80 KiB
MIN_SIZE = 16 * 1024
MAX_SIZE = 256 * 1024


def chunks_of(path: Path) -> list[Chunk]:
    """The chunks of the file at `path`, in order, each hashed."""
    from pyfastcdc import FastCDC  # a compiled module: loaded only when a push chunks

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            return []
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                cdc = FastCDC(AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE)
                return [Chunk(Sha256(hashlib.sha256(view[c.offset:c.offset + c.length]).hexdigest()),
                              c.offset, c.length) for c in cdc.cut_buf(view)]
            finally:
                view.release()

"""Left behind by a checkout, or written by the user? A file the manifest no longer lists
that is still in the work tree is a checkout's leftover (a pending deletion: `add` skips it,
the next checkout deletes it) only while it is untouched since the materialised record was
written; once the user writes it, even with the same bytes, it is theirs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable, Sequence

from ..hashing import Sha256
from ..manifest import Entry


def written_after(workdir: Path, entries: Iterable[Entry], records: Sequence[Path],
                  object_path: Callable[[Sha256], Path]) -> set[str]:
    """Of `entries`' paths, the files created or rewritten after the first existing file of
    `records` was written: their ctime is later (`cp -p` and `touch -d` cannot fake it). A
    file that is the store's own object (linkType hardlink: a new link elsewhere moves its
    ctime) was put there by a checkout."""
    entries = list(entries)
    since: int | None = None
    for record in records if entries else ():
        try:
            since = record.stat().st_mtime_ns
            break
        except OSError:
            continue
    if since is None:
        return set()
    out: set[str] = set()
    for e in entries:
        try:
            st = os.lstat(workdir / e.path)
        except OSError:
            continue
        if st.st_ctime_ns <= since:
            continue
        try:
            obj = os.stat(object_path(e.oid))
            if (obj.st_dev, obj.st_ino) == (st.st_dev, st.st_ino):
                continue
        except OSError:
            pass
        out.add(e.path)
    return out

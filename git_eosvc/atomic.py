"""The one atomic writer for small files (manifests, records, the lock, hooks, a merge
result): a temporary file beside the target, then one `os.replace`, so a reader sees
the old bytes or the new ones, never half of them."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int | None = None, keep_mode: bool = False) -> None:
    """Replace `path` with `data`. `mode` sets the permission bits; `keep_mode` keeps the
    existing file's (git reads a merge driver's %A back with its mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if keep_mode:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            pass
    tmp = path.with_name(f".{path.name}.eosvc-tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

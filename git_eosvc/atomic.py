"""The one atomic writer for small files (manifests, records, the lock, hooks, a merge
result): a temporary file beside the target, then one `os.replace`, so a reader sees
the old bytes or the new ones, never half of them; and the low-level byte moves under
the store's writes (whole writes, fsync, syncfs, an in-kernel copy)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Callable

_CHUNK = 1 << 20  # the read/write fallback's buffer
# errnos meaning "this filesystem (pair) cannot offload the copy": fall back
_NO_OFFLOAD = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM,
               errno.EBADF, errno.ENOTSUP}


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


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> bool:
    """Flush every dirty page of the filesystem holding `path` to disk (Linux syncfs(2)):
    one flush for a batch of new files instead of an fsync each, which is what a first
    `add` of 100,000 small files spends its time on. False when it cannot be trusted to
    report a failed write-back (`trusted_syncfs`): then the caller fsyncs each file.
    Raises OSError when the flush failed."""
    syncfs = trusted_syncfs()
    if syncfs is None:
        return False
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        if syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), os.fspath(path))
    finally:
        os.close(fd)
    return True


def trusted_syncfs() -> Callable[[int], int] | None:
    """libc's syncfs where it reports a failed write-back (Linux 5.8 and later), else None."""
    import platform
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        version = tuple(int(p) for p in platform.release().split("-")[0].split(".")[:2])
        if version < (5, 8):
            return None
        import ctypes

        return ctypes.CDLL(None, use_errno=True).syncfs  # type: ignore[no-any-return]
    except (ValueError, OSError, AttributeError, ImportError):
        return None


def copy_fd(src: int, dst: int) -> None:
    """Copy src to dst from their current offsets: copy_file_range (in-kernel, and a
    reflink on filesystems that offload it), else sendfile, else read/write."""
    if hasattr(os, "copy_file_range"):
        try:
            while os.copy_file_range(src, dst, 1 << 30):
                pass
            return
        except OSError as exc:
            if exc.errno not in _NO_OFFLOAD:
                raise
    if hasattr(os, "sendfile"):
        try:
            while os.sendfile(dst, src, None, 1 << 30):
                pass
            return
        except OSError as exc:
            if exc.errno not in _NO_OFFLOAD:
                raise
    while buf := os.read(src, _CHUNK):
        write_all(dst, buf)

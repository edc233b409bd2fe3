"""add's deferred durability (Linux): objects named now, flushed before they matter.

`add` writes its objects without waiting for the disk, as git, Git LFS and DVC write
theirs: on a 2-core VM the fsync of 1 GiB took 0.7-3 s, more than hashing it. Before the
first of them gets its name, a small fsynced file in `<store>/unsettled/` names them
under this boot's id (/proc/sys/kernel/random/boot_id). `settle` keeps the promise:

- in this boot, before a step that can make a store copy the only one (a checkout that
  overwrites or removes workspace files, drop, delete, gc, a push that uploads them),
  one syncfs makes them durable and the file goes;
- after a reboot (another boot id: perhaps a crash before write-back), every object named
  is re-hashed and one the crash damaged is removed, never used: the next `add` stores
  the file again, or a fetch brings it back from S3. Every command does this part.

Where no boot id can be read, or the file cannot be written, the caller makes the objects
durable at once, as before. See docs/storage.md, "Durability of the local store".
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .atomic import fsync_path, sync_filesystem, write_all
from .errors import OperationError
from .hashing import Sha256, is_sha256

DIR = "unsettled"  # in the store's root
_BOOT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def boot_id() -> str | None:
    """This boot's id (Linux), None where there is none to read."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            text = f.read(64).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if _BOOT_ID.fullmatch(text) else None


def promise(root: Path, oids: Iterable[str]) -> bool:
    """Name `oids`, whose bytes are written into the store at `root` but perhaps not yet on
    disk, in a new fsynced file: call before their renames. False when that cannot be
    done here: then the caller makes them durable itself."""
    boot = boot_id()
    if boot is None:
        return False
    folder = root / DIR
    path = folder / f"{boot}.{os.getpid()}-{os.urandom(6).hex()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            write_all(fd, "".join(f"{o}\n" for o in oids).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_path(folder)  # the file's name is on disk too
    except OSError:
        try:
            os.unlink(path)
        except OSError:
            pass
        return False
    return True


def make_durable(root: Path, staged: Sequence[tuple[Path, Sha256]], defer: bool = False) -> None:
    """Before the renames of `staged` (temp file, oid) into the store at `root`: their
    bytes on disk (one syncfs, else an fsync each) or, with `defer`, promised. OSError
    when a flush failed."""
    if not staged or (defer and promise(root, [oid for _, oid in staged])):
        return
    if not sync_filesystem(root):
        for tmp, _ in staged:
            fsync_path(tmp)


def settle(root: Path, object_path: Callable[[Sha256], Path],
           recheck: Callable[[Sequence[Sha256]], list[Sha256]], sync: bool = True) -> list[Sha256]:
    """Keep the promises of the store at `root`: a previous boot's objects re-hashed by
    `recheck` (which removes the damaged and returns them), this boot's made durable
    (with `sync`). Returns the damaged ones. Nothing pending costs one failed listdir.
    OperationError when the flush failed: then nothing may rely on those objects."""
    folder = root / DIR
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    boot = boot_id()
    damaged: list[Sha256] = []
    now: list[tuple[Path, list[Sha256]]] = []
    for name in names:
        path = folder / name
        oids = _read(path)
        if boot is not None and name.startswith(boot + "."):
            now.append((path, oids))
            continue
        damaged += recheck(oids)  # on disk or not at all: it was read back after the reboot
        _unlink(path)
    if sync and now:
        try:
            _flush(root, object_path, [oid for _, oids in now for oid in oids])
        except OSError as exc:
            raise OperationError(f"cannot flush the local store ({root}) to disk: {exc.strerror or exc}",
                                 hint="check the disk; the objects add stored may not be on it") from None
        for path, _ in now:
            _unlink(path)
    return damaged


def _flush(root: Path, object_path: Callable[[Sha256], Path], oids: list[Sha256]) -> None:
    if not sync_filesystem(root):
        for oid in oids:
            try:
                fsync_path(object_path(oid))
            except FileNotFoundError:
                pass  # renamed later, or never: nothing to keep


def _read(path: Path) -> list[Sha256]:
    try:
        text = path.read_bytes().decode("ascii", "replace")
    except OSError:
        return []  # settled by another process meanwhile
    return [Sha256(line) for line in text.split("\n") if is_sha256(line)]


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

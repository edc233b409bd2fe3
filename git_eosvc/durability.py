"""add's deferred durability (Linux): objects named now, flushed before they matter.

`add` writes its objects without waiting for the disk, as git, Git LFS and DVC write
theirs: on a 2-core VM the fsync of 1 GiB took 0.7-3 s, more than hashing it. Before the
first of them gets its name, a small fsynced file in `<store>/unsettled/` names them
under this host and this boot's id (/proc/sys/kernel/random/boot_id). `settle` keeps the
promise (for this host's lists only: a store shared over the network is another host's
business for the other host's lists):

- in this boot, before a step that can make a store copy the only one (a checkout that
  overwrites or removes workspace files, drop, delete, gc, a push that uploads them),
  one syncfs makes them durable and the file goes;
- after a reboot (another boot id: perhaps a crash before write-back), every object named
  is re-hashed and one the crash damaged is removed, never used: the next `add` stores
  the file again, or a fetch brings it back from S3. Every command does this part.

The store's removal mark lives here too: a token changed before (and after) any object
leaves the store, which `add`'s word about a manifest (engine/vouch.py) is given under.

Where no boot id can be read, syncfs cannot be trusted (not Linux 5.8+), or the file
cannot be written, the caller makes the objects durable at once, as before. See docs/storage.md, "Durability of the local store".
"""

from __future__ import annotations

import hashlib
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from .atomic import fsync_path, sync_filesystem, trusted_syncfs, write_all, write_atomic
from .errors import OperationError
from .hashing import Sha256, is_sha256

DIR = "unsettled"  # in the store's root
REMOVAL_MARK = "removal-mark"  # in the store's root
_BOOT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def boot_id() -> str | None:
    """This boot's id (Linux), None where there is none to read."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            text = f.read(64).decode("ascii", "replace").strip()
    except OSError:
        return None
    return text if _BOOT_ID.fullmatch(text) else None


def removal_mark(root: Path, create: bool = False) -> str:
    """The store's removal mark: "every object of this manifest is here" holds while the
    mark is the one it was said under. `create`: a store without one gets its first
    (else "", under which nothing is said)."""
    try:
        return (root / REMOVAL_MARK).read_bytes()[:64].decode("ascii", "replace")
    except OSError:
        return mark_removal(root) if create else ""


@contextmanager
def removing(root: Path, strict: bool = True) -> Iterator[None]:
    """Around removals from the store: the mark changes before (no word survives them)
    and after (an add during them gave its word under the first new mark). `strict`:
    OperationError when the mark can neither change nor go, before anything is removed;
    else (damaged bytes, which vouched for nothing) the removals happen anyway."""
    try:
        mark_removal(root)
    except OperationError:
        if strict:
            raise
    try:
        yield
    finally:
        try:
            mark_removal(root)
        except OperationError:
            if strict:
                raise


def mark_removal(root: Path) -> str:
    """A new removal mark; where none can be written the mark goes, so "" is the mark and
    vouches for nothing. OperationError (remove nothing) when it can do neither."""
    mark = f"{os.getpid()}-{os.urandom(6).hex()}"
    try:
        write_atomic(root / REMOVAL_MARK, mark.encode("ascii"))
        return mark
    except OSError:
        pass
    try:
        os.unlink(root / REMOVAL_MARK)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OperationError(f"cannot change the local store's removal mark ({root}): {exc.strerror or exc}",
                             hint="make the store writable; nothing was removed") from None
    return ""


def _mine() -> str | None:
    """The prefix of this host's lists in this boot: '<host>-<boot id>.'."""
    boot = boot_id()
    return None if boot is None else f"{_host()}-{boot}."


def _host() -> str:
    import socket  # only when lists are written or found: not on every hook's path

    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def promise(root: Path, oids: Iterable[str]) -> bool:
    """Name `oids`, whose bytes are written into the store at `root` but perhaps not yet on
    disk, in a new fsynced file: call before their renames. False when that cannot be
    done here: then the caller makes them durable itself."""
    mine = _mine()
    if mine is None or trusted_syncfs() is None:
        return False  # settle could not flush them all at once, nor tell a failed write-back
    folder = root / DIR
    name = f"{mine}{os.getpid()}-{os.urandom(6).hex()}"
    tmp = folder / f".{name}"  # whole or not at all: settle never reads half a list
    try:
        made = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            write_all(fd, "".join(f"{o}\n" for o in oids).encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, folder / name)
        fsync_path(folder)  # the list's name is on disk too
        if made:
            fsync_path(root)  # and the folder's
    except OSError:
        _unlink(tmp)
        _unlink(folder / name)
        return False
    return True


def make_durable(root: Path, staged: Sequence[tuple[Path, Sha256]], defer: bool = False) -> None:
    """Before the renames of `staged` (temp file, oid) into the store at `root`: their
    bytes on disk (one syncfs, else an fsync each) or, with `defer`, promised.
    OperationError when a flush failed: then none may be renamed."""
    if not staged or (defer and promise(root, [oid for _, oid in staged])):
        return
    try:
        if not sync_filesystem(root):
            for tmp, _ in staged:
                fsync_path(tmp)
    except OSError as exc:
        raise _flush_failed(root, exc) from None


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
    mine, host = _mine(), _host() + "-"
    damaged: list[Sha256] = []
    now: list[Path] = []
    for name in names:
        path = folder / name
        if name.startswith("." + host) and not (mine and name.startswith("." + mine)):
            _unlink(path)  # a list an add killed in a previous boot never finished: it named nothing
        if not name.startswith(host):
            continue  # being written (a dot name), or another host's (a shared store)
        if mine is not None and name.startswith(mine):
            now.append(path)  # a flush keeps it, whatever it names
            continue
        oids = _read(path)
        if oids is None:
            continue  # settled by another process meanwhile
        damaged += recheck(oids)  # on disk or not at all: it was read back after the reboot
        _unlink(path)
    if sync and now:
        try:
            _flush(root, object_path, now)
        except OSError as exc:
            raise _flush_failed(root, exc) from None
        for path in now:
            _unlink(path)
    return damaged


def _flush_failed(root: Path, exc: OSError) -> OperationError:
    return OperationError(f"cannot flush the local store ({root}) to disk: {exc.strerror or exc}",
                          hint="check the disk; the objects add stored may not be on it")


def _flush(root: Path, object_path: Callable[[Sha256], Path], lists: list[Path]) -> None:
    if not sync_filesystem(root):  # (syncfs no longer trusted since the promise: fsync each)
        for oid in (oid for path in lists for oid in (_read(path) or [])):
            try:
                fsync_path(object_path(oid))
            except FileNotFoundError:
                pass  # renamed later, or never: nothing to keep


def _read(path: Path) -> list[Sha256] | None:
    """The oids a list names; None when it is gone. OperationError when it cannot be read:
    the objects it names cannot be checked, so nothing may go on as if they were."""
    try:
        text = path.read_bytes().decode("ascii", "replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OperationError(f"cannot read {os.fspath(path)!r}, the list of objects `add` stored "
                             f"before the disk had them: {exc.strerror or exc}",
                             hint="make it readable; the next command checks those objects") from None
    return [Sha256(line) for line in text.split("\n") if is_sha256(line)]


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

"""The local content-addressed store: objects at <root>/sha256/ab/cd/<hash>, read-only.

Every write goes through a temporary file on the same filesystem and one `os.replace`, so
an object (or a workspace file written by `materialise`) is either absent or complete,
never partial. Objects are only ever adopted after their sha256 has been checked.

Only the standard library is imported at module level: this runs inside git hooks.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from .atomic import copy_fd, write_all
from .durability import make_durable, removing, settle
from .errors import IntegrityError, OperationError, UsageError
from .hashing import Sha256, hash_bytes, hash_file, is_sha256, local_jobs, read_small
from .paths import safe_dest

LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")
# Temporary files `materialise` leaves in the workspace if it is killed mid-write start
# with this; `scan` skips them so they never end up in a manifest.
WORKSPACE_TMP_PREFIX = ".eosvc-tmp-"
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
# errnos meaning "this filesystem (pair) cannot clone or offload the copy": fall back.
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.ENOSYS, errno.EINVAL, errno.EXDEV,
             errno.EPERM, errno.EBADF}


def _token() -> str:
    return f"{os.getpid()}-{os.urandom(6).hex()}"


def unlink_quiet(path: Path | str) -> None:
    """Best-effort cleanup: must never mask the error that made it necessary."""
    try:
        os.unlink(path)
    except OSError:
        pass


def _check_stored(src: Path, oid: Sha256 | None, actual: Sha256) -> None:
    if oid is not None and actual != oid:
        raise IntegrityError(
            f"{os.fspath(src)!r} changed since it was hashed (expected {oid.short}, now {actual.short})",
            hint="re-run `git eosvc add`")


class Store:
    """A content-addressed object store rooted at `root` (dvc-data style)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.objects = self.root / "sha256"
        self.tmp = self.root / "tmp"
        # None: not tried yet; False: FICLONE unsupported here, go straight to copying.
        self._reflink_ok: bool | None = None
        self._tmp_made = False

    # ------------------------------------------------------------ lookup

    def object_path(self, oid: Sha256) -> Path:
        return self.root / oid.shard()

    def has(self, oid: Sha256) -> bool:
        # a str join, not a Path: a commit asks this of every object of a 10,000-line manifest
        return os.path.isfile(f"{self.root}{os.sep}{oid.shard()}")

    def settle(self, sync: bool = True) -> list[Sha256]:
        """Keep add's promises (durability.settle); returns the damaged objects removed."""
        return settle(self.root, self.object_path, self.verify, sync)

    def iter_oids(self) -> Iterator[Sha256]:
        """Every object in the store (names that are not a valid sha256 are ignored)."""
        for top in _subdirs(self.objects):
            for sub in _subdirs(top.path):
                try:
                    it = os.scandir(sub.path)
                except OSError:
                    continue
                with it:
                    for e in it:
                        # A name filed under the wrong shard is not an object we wrote.
                        if (is_sha256(e.name) and e.name[0:2] == top.name
                                and e.name[2:4] == sub.name and e.is_file(follow_symlinks=False)):
                            yield Sha256(e.name)

    # ------------------------------------------------------------ writing objects

    def tmp_path(self) -> Path:
        """A fresh, unique path inside root/tmp (not created); same filesystem as objects."""
        if not self._tmp_made:  # once per Store: a syscall per object adds up over 100,000
            self.tmp.mkdir(parents=True, exist_ok=True)
            self._tmp_made = True
        return self.tmp / f"{_token()}.tmp"

    def adopt(self, tmp: Path, oid: Sha256, actual: Sha256 | None = None,
              durable: bool = True) -> Path:
        """Move a finished temp file into the store as `oid`, after checking its bytes.

        `actual` is the sha256 the caller computed while writing tmp (e.g. while
        downloading); without it, tmp is hashed here. On mismatch tmp is deleted and
        IntegrityError raised: a wrong object never lands in the store. `durable=False`
        skips the fsync for bytes that can be fetched again (downloads): a crash can then
        leave a short object, which `materialise` notices by its size.
        """
        try:
            if actual is None:
                actual, _ = hash_file(tmp)
            if actual != oid:
                raise IntegrityError(
                    f"sha256 mismatch: expected {oid}, got {actual}",
                    hint="the bytes were corrupted in transit or changed while being read; nothing was stored")
            if self.has(oid):
                unlink_quiet(tmp)
                return self.object_path(oid)  # already present (content-addressed: same bytes)
            # fsync before the rename: after a crash the name must not point at missing data.
            fd = os.open(tmp, os.O_RDONLY)
            try:
                if durable:
                    os.fsync(fd)
                os.fchmod(fd, 0o444)  # objects are immutable; also guards hardlinked workspaces
            finally:
                os.close(fd)
        except BaseException:
            unlink_quiet(tmp)
            raise
        return self.install(tmp, oid)

    def install(self, tmp: Path, oid: Sha256) -> Path:
        """Rename a finished, verified, read-only temp file to the object's name; tmp is
        gone afterwards, whatever happens."""
        dest = self.object_path(oid)
        try:
            if os.path.isfile(dest):
                unlink_quiet(tmp)
                return dest  # already present (content-addressed: same bytes)
            try:
                os.replace(tmp, dest)
            except FileNotFoundError:  # the first object of its shard: a mkdir only then
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, dest)
            return dest
        except BaseException:
            unlink_quiet(tmp)
            raise

    def add_file(self, src: Path, oid: Sha256 | None = None) -> Sha256:
        """Copy a workspace file into the store (reflink where possible) and return its oid.
        `oid` is what the caller hashed earlier; the stored copy is re-hashed and must
        match, since the file may have changed in between. No-op if `oid` is present."""
        if oid is not None and self.has(oid):
            return oid
        tmp, actual = self._stage(src, oid, durable=True)
        self.install(tmp, actual)
        return actual

    def add_files(self, items: Sequence[tuple[Path, Sha256]], jobs: int = 8, batch: int = 4096,
                  defer: bool = False) -> int:
        """`add_file` for many files; returns how many objects were absent and added. A
        batch is copied and checked into temp files, made durable by one flush of the
        store's filesystem (or with `defer`, promised: durability.py), then renamed into
        place: no name points at bytes not on disk. A failure fails the call."""
        todo = [(src, oid) for src, oid in items if not self.has(oid)]
        if not todo:
            return 0
        from concurrent.futures import ThreadPoolExecutor  # only when there is work

        def stage(item: tuple[Path, Sha256]) -> tuple[Path, Sha256] | Exception:
            try:
                return self._stage(item[0], item[1], durable=False)
            except Exception as exc:  # reported below, after the batch's temp files are removed
                return exc

        with ThreadPoolExecutor(max_workers=min(local_jobs(jobs), len(todo))) as pool:
            for start in range(0, len(todo), batch):
                staged = list(pool.map(stage, todo[start:start + batch]))
                ready = [s for s in staged if not isinstance(s, Exception)]
                try:
                    for s in staged:
                        if isinstance(s, Exception):
                            raise s
                    make_durable(self.root, ready, defer)
                except BaseException:
                    for tmp, _ in ready:
                        unlink_quiet(tmp)
                    raise
                list(pool.map(lambda s: self.install(*s), ready))
        return len(todo)

    def _stage(self, src: Path, oid: Sha256 | None, durable: bool) -> tuple[Path, Sha256]:
        """Copy src into a new read-only temp file in the store, checked against `oid` (None:
        whatever it holds now); returns (temp file, its sha256). `durable`: fsync it."""
        try:
            # O_NOFOLLOW: never store what a symlink (swapped in after the scan) points to.
            sfd = os.open(src, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise OperationError(f"cannot read {os.fspath(src)!r}: {exc.strerror}") from None
        tmp = self.tmp_path()
        try:
            st = os.fstat(sfd)
            if not stat.S_ISREG(st.st_mode):
                raise OperationError(f"cannot store {os.fspath(src)!r}: not a regular file")
            # A small file is read once, hashed from memory and written: no clone to gain,
            # and re-reading the copy would double the system calls of a first `add`.
            data = read_small(sfd, st.st_size)
            actual = None if data is None else hash_bytes(data)
            if actual is not None:
                _check_stored(src, oid, actual)
            dfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
            try:
                if data is not None:
                    write_all(dfd, data)
                else:
                    self._clone_or_copy(sfd, dfd)
                if durable:
                    os.fsync(dfd)  # before the rename: a name must never point at missing data
                os.fchmod(dfd, 0o444)  # objects are immutable; also guards hardlinked workspaces
            finally:
                os.close(dfd)
            if actual is None:
                actual = hash_file(tmp)[0]
                _check_stored(src, oid, actual)
            return tmp, actual
        except BaseException:
            unlink_quiet(tmp)
            raise
        finally:
            os.close(sfd)

    def prune_tmp(self, older_than: float = 24 * 3600) -> int:
        """Delete temp files left by killed processes; returns how many were removed."""
        removed = 0
        cutoff = time.time() - older_than
        try:
            it = os.scandir(self.tmp)
        except OSError:
            return 0
        with it:
            for e in it:
                try:
                    if e.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(e.path)
                        removed += 1
                except OSError:
                    pass
        return removed

    # ------------------------------------------------------------ workspace

    def materialise(self, oid: Sha256, dest: Path, link_type: str = "reflink",
                    *, workdir: Path | None = None, size: int | None = None) -> None:
        """Write the object's bytes at dest atomically (temp file beside it + os.replace).

        link_type: "reflink" (clone, else copy), "copy": a normal writable file
        (0o666 & ~umask, as git writes); "hardlink": shares the read-only object inode;
        "symlink": a link to the object (both opt-in; hardlink falls back to copy across
        filesystems). With `workdir`, dest is first checked with `safe_dest`.
        """
        if link_type not in LINK_TYPES:
            raise UsageError(f"unknown link type {link_type!r}", hint=f"use one of {', '.join(LINK_TYPES)}")
        src = self.object_path(oid)
        if workdir is not None:
            try:
                rel = Path(os.path.abspath(dest)).relative_to(os.path.abspath(workdir)).as_posix()
            except ValueError:
                raise UsageError(f"refusing to write {os.fspath(dest)!r}: outside {os.fspath(workdir)!r}") from None
            dest = safe_dest(Path(workdir), rel)
        dest = Path(dest)
        try:
            sst = os.stat(src)
        except FileNotFoundError:
            raise OperationError(f"object {oid.short} for {os.fspath(dest)!r} is not in the local cache",
                                 hint="run `git eosvc fetch` (or `git eosvc checkout`)") from None
        if size is not None and sst.st_size != size:
            self._wrong_size(oid, dest, size, sst.st_size)
        tmp = dest.parent / f"{WORKSPACE_TMP_PREFIX}{_token()}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if link_type == "hardlink":
                try:
                    dst = os.lstat(dest)
                    if (dst.st_ino, dst.st_dev) == (sst.st_ino, sst.st_dev):
                        return  # already this object: rename(2) of two links to one inode is a no-op
                except FileNotFoundError:
                    pass
                try:
                    os.link(src, tmp)
                except OSError as exc:
                    if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                        raise
                    self._write_copy(src, tmp, reflink=True)  # cannot link here: a copy is safe
            elif link_type == "symlink":
                os.symlink(os.path.abspath(src), tmp)
            else:
                self._write_copy(src, tmp, reflink=link_type == "reflink")
            os.replace(tmp, dest)
        except OSError as exc:
            raise OperationError(f"cannot write {os.fspath(dest)!r}: {exc.strerror or exc}") from None
        finally:
            unlink_quiet(tmp)

    def _wrong_size(self, oid: Sha256, dest: Path, recorded: int, actual: int) -> None:
        """The object is not the size the manifest records for `dest`: re-hash it before
        blaming either. Bytes that match their name are kept (perhaps the only copy) and the
        manifest is wrong; bytes that do not (e.g. cut short by a crash) are removed."""
        try:
            intact = hash_file(self.object_path(oid))[0] == oid
        except OSError as exc:
            raise IntegrityError(f"object {oid.short} for {os.fspath(dest)!r} is {actual} bytes, the manifest "
                                 f"says {recorded}, and it cannot be re-read to tell which is wrong: "
                                 f"{exc.strerror or exc}; it was kept") from None
        if intact:
            raise IntegrityError(f"the manifest records {recorded} bytes for {os.fspath(dest)!r}, but its "
                                 f"object {oid.short} is {actual} bytes and matches its sha256: the "
                                 f"manifest is wrong; the object was kept and nothing was written",
                                 hint=f"correct the size to {actual} in the manifest (or check out a "
                                      f"commit whose manifest is right)")
        self._remove_damaged(self.object_path(oid))  # not what its name says: fetch it again
        raise IntegrityError(f"object {oid.short} in the local store is damaged "
                             f"({actual} bytes, {recorded} expected); it was removed",
                             hint="run `git eosvc checkout` again to download it")

    def _remove_damaged(self, path: Path) -> None:
        with removing(self.root, strict=False):  # damaged bytes go even if the mark cannot change
            unlink_quiet(path)

    def _write_copy(self, src: Path, tmp: Path, reflink: bool) -> None:
        sfd = os.open(src, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            # 0o666 & ~umask: a normal writable workspace file, as git creates them.
            dfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                if reflink:
                    self._clone_or_copy(sfd, dfd)
                else:
                    copy_fd(sfd, dfd)
            finally:
                os.close(dfd)
        finally:
            os.close(sfd)

    def _clone_or_copy(self, sfd: int, dfd: int) -> None:
        """FICLONE (shares extents, O(1)) where the filesystem has it, else a fast copy.
        The "unsupported" answer is remembered so a big checkout tries it once."""
        if self._reflink_ok is not False:
            try:
                import fcntl

                fcntl.ioctl(dfd, _FICLONE, sfd)
                self._reflink_ok = True
                return
            except (ImportError, OSError) as exc:
                if isinstance(exc, OSError) and exc.errno not in _NO_CLONE:
                    raise
                self._reflink_ok = False
        copy_fd(sfd, dfd)

    # ------------------------------------------------------------ integrity

    def verify(self, oids: Iterable[Sha256] | None = None, jobs: int = 4) -> list[Sha256]:
        """Re-hash objects (all, or `oids`; absent ones are skipped) and return the corrupt
        ones, which are deleted so the next fetch downloads them again."""
        todo = list(self.iter_oids() if oids is None else oids)

        def check(oid: Sha256) -> Sha256 | None:
            path = self.object_path(oid)
            try:
                actual, _ = hash_file(path)
            except FileNotFoundError:
                return None
            except OSError:
                actual = None  # unreadable: as good as corrupt
            if actual == oid:
                return None
            self._remove_damaged(path)
            return oid

        if len(todo) <= 1 or jobs <= 1:
            results = [check(o) for o in todo]
        else:
            from concurrent.futures import ThreadPoolExecutor  # only when there is work

            with ThreadPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
                results = list(pool.map(check, todo))
        return [o for o in results if o is not None]


def _subdirs(path: Path | str) -> list[os.DirEntry[str]]:
    """Two-hex-digit shard directories under path."""
    try:
        with os.scandir(path) as it:
            return [e for e in it if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []

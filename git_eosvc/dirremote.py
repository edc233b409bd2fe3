"""The directory backend of Remote (endpoint `file:///path`): S3's layout under one
directory per bucket, `<root>/<bucket>/<repo>/objects/sha256/ab/cd/<sha256>`, so `aws s3 sync`
of a bucket directory to a bucket (or back) works. For air-gapped labs, shared disks and
fast tests.

No credentials: file permissions decide who reads and writes. `create_bucket` makes the
private bucket's directory 0700, and no private object is written into a private bucket
directory that others may enter. Objects are immutable and content-addressed: an upload
copies into a temporary file beside the object, verifying the sha256 as it copies, then
links it into place (never over an existing object), so concurrent pushes are safe; a
download verifies the bytes on the way into the local store, so a corrupted object is
never materialised. botocore is never imported.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Sequence

from .config import Settings
from .errors import ConfigError, IntegrityError, TransferError
from .hashing import CHUNK, Sha256, is_sha256
from .progress import Progress
from .transfer import Download, Failed, Outcome, Stored, Upload, object_key, parallel, run_item

if TYPE_CHECKING:
    from .cache import Store

# S3's bucket naming rules: 3-63 characters, lowercase letters, digits, dots and hyphens,
# a letter or digit at each end, no two dots in a row; so a bucket is one plain directory
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_HEX2 = re.compile(r"[0-9a-f]{2}")
OBJECT_MODE = 0o444  # objects never change; who may read them is the bucket directory's mode
PRIVATE_MODE = 0o700


def check_bucket(name: str) -> None:
    if not _BUCKET.fullmatch(name) or ".." in name:
        raise ConfigError(f"bucket {name!r} is not a valid bucket name (S3's rules: 3-63 lowercase letters, "
                          "digits, dots and hyphens, a letter or digit at each end)",
                          hint="set eosvc.publicBucket / eosvc.privateBucket to valid names")


class DirectoryBackend:
    """A directory as a Remote's backend; see the module docstring."""

    needs_credentials = False  # file permissions decide

    def __init__(self, settings: Settings, root: Path) -> None:
        if not root.is_absolute():
            raise ConfigError(f"a directory remote needs an absolute path, not {str(root)!r}")
        if any(part in ("", ".", "..") for part in settings.repo.split("/")):
            raise ConfigError(f"repo must be a plain prefix like 'my-repo', not {settings.repo!r}")
        self.settings = settings
        self.root = root
        self._jobs = max(1, settings.jobs)

    def key(self, oid: Sha256) -> str:
        return object_key(self.settings.repo, oid)

    def bucket_dir(self, bucket: str) -> Path:
        check_bucket(bucket)
        return self.root / bucket

    def path(self, bucket: str, oid: Sha256) -> Path:
        return self.bucket_dir(bucket) / self.key(Sha256(oid))

    def location(self, bucket: str, oid: Sha256) -> str:
        return str(self.path(bucket, oid))

    def close(self) -> None:
        pass

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise TransferError(f"the directory remote {self.root} does not exist or is not a directory",
                                hint="is the disk mounted? `git eosvc init --create-buckets` creates it")

    # -- existence and listing -------------------------------------------------------------

    def missing(self, bucket: str, wanted: set[Sha256]) -> set[Sha256]:
        self._check_root()
        absent: set[Sha256] = set()
        for oid in wanted:
            path = self.path(bucket, oid)
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    absent.add(oid)
            except (FileNotFoundError, NotADirectoryError):
                absent.add(oid)
            except OSError as e:
                raise self._unreadable(bucket, path, e) from None
        return absent

    def list_objects(self, bucket: str) -> list[Stored]:
        """Every object of this repo in `bucket` (an absent bucket directory holds none)."""
        self._check_root()
        base = self.bucket_dir(bucket) / self.settings.repo / "objects" / "sha256"
        found: list[Stored] = []

        def fail(e: OSError) -> None:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise self._unreadable(bucket, Path(e.filename or base), e)

        for top, dirs, files in os.walk(base, onerror=fail):
            shard = Path(top).relative_to(base).parts
            dirs[:] = [d for d in dirs if len(shard) < 2 and _HEX2.fullmatch(d)]
            if len(shard) != 2:
                continue
            for name in files:
                if is_sha256(name) and name[:2] == shard[0] and name[2:4] == shard[1]:
                    try:
                        st = os.stat(os.path.join(top, name))
                    except FileNotFoundError:
                        continue  # deleted meanwhile
                    if stat.S_ISREG(st.st_mode):
                        found.append(Stored(Sha256(name), st.st_size, st.st_mtime))
        return sorted(found, key=lambda s: s.oid)

    def _unreadable(self, bucket: str, path: Path, e: OSError) -> TransferError:
        if isinstance(e, PermissionError):
            return TransferError(f"no permission to read {path}: {e.strerror}",
                                 hint=f"a directory remote's access is its file permissions: ask the owner of "
                                      f"{self.bucket_dir(bucket)} for access")
        return TransferError(f"could not check {path}: {e.strerror or e}")

    # -- upload ----------------------------------------------------------------------------

    def check_write(self) -> None:
        pass  # file permissions decide, object by object

    def upload(self, todo: Sequence[Upload], progress: Progress) -> list[Outcome]:
        try:
            self._check_root()
            problem = {item.bucket: self._bucket_problem(item.bucket) for item in todo}
        except TransferError as e:
            return [(0, e.message) for _ in todo]
        return parallel(lambda item: run_item(lambda: progress.finished(
            self._upload_one(item, problem[item.bucket], progress), self.location(item.bucket, item.oid))),
            todo, self._jobs, "eosvc-copy")

    def _bucket_problem(self, bucket: str) -> str | None:
        """Why nothing may be written into `bucket`'s directory, or None."""
        where = self.bucket_dir(bucket)
        try:
            mode = os.stat(where).st_mode
        except FileNotFoundError:
            return (f"bucket directory {where} does not exist (NoSuchBucket); create it with "
                    "`git eosvc init --create-buckets`")
        except OSError as e:
            return f"cannot use bucket directory {where}: {e.strerror or e}"
        if bucket == self.settings.private_bucket and mode & 0o005:
            return (f"private bucket directory {where} may be entered by anyone (mode {stat.S_IMODE(mode):04o}); "
                    f"nothing private is written there: `chmod 700 {where}` (or 750 to share with a group)")
        return None

    def _upload_one(self, item: Upload, problem: str | None, progress: Progress) -> int:
        if problem is not None:
            raise Failed(problem)
        dest = self.path(item.bucket, item.oid)
        if os.path.isfile(dest):  # content-addressed: the same bytes are there already
            progress.update(item.size)
            return item.size
        tmp = dest.with_name(f".{item.oid}.{os.getpid()}-{os.urandom(6).hex()}.eosvc-tmp")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(item.source, "rb") as src, open(tmp, "xb") as out:
                actual, size = _copy(src, out, item.size, progress)
                out.flush()
                os.fsync(out.fileno())  # the remote copy is the one that must survive a crash
            if size != item.size or actual != item.oid:
                raise Failed(f"{item.source} changed since it was hashed (its bytes are no longer "
                             f"{item.oid.short}); re-run `git eosvc add`")
            os.chmod(tmp, OBJECT_MODE)
            _link_into_place(tmp, dest)
        except FileNotFoundError as e:
            if e.filename == str(item.source):
                raise Failed(f"{item.source} is gone since it was hashed; re-run `git eosvc add`") from None
            raise Failed(f"could not upload {item.source} to {dest}: {e.strerror or e}") from None
        except OSError as e:
            raise Failed(f"could not upload {item.source} to {dest}: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return item.size

    # -- download --------------------------------------------------------------------------

    def download(self, todo: Sequence[Download], store: Store, progress: Progress) -> list[Outcome]:
        try:
            self._check_root()
        except TransferError as e:
            return [(0, e.message) for _ in todo]
        return parallel(lambda item: run_item(lambda: progress.finished(
            self._download_one(item, store, progress), self.location(item.bucket, item.oid))),
            todo, self._jobs, "eosvc-copy")

    def _download_one(self, item: Download, store: Store, progress: Progress) -> int:
        src = self.path(item.bucket, item.oid)
        corrupt = f"object {item.oid} in {src} is corrupt (sha256 mismatch); it was not used"
        tmp = store.tmp_path()
        try:
            with open(src, "rb") as f, open(tmp, "xb") as out:
                actual, size = _copy(f, out, item.size, progress)
            if size != item.size:
                raise Failed(corrupt)
            try:
                store.adopt(tmp, item.oid, actual=actual, durable=False)  # the remote has it
            except IntegrityError:
                raise Failed(corrupt) from None
        except (FileNotFoundError, NotADirectoryError) as e:
            if e.filename == str(src):
                there = self.bucket_dir(item.bucket).is_dir()
                raise Failed(f"missing on the directory remote ({src})" if there else
                             f"bucket directory {self.bucket_dir(item.bucket)} does not exist") from None
            raise Failed(f"could not copy {src} into the local store: {e.strerror or e}") from None
        except PermissionError as e:
            raise Failed(f"no permission to read {src} ({e.strerror}); a directory remote's access is its "
                         "file permissions") from None
        except OSError as e:
            raise Failed(f"could not copy {src} into the local store: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return item.size

    # -- plain keys: packs, their indexes, catalogs (packs.py) ------------------------------

    def _key_path(self, bucket: str, key: str) -> Path:
        if any(part in ("", ".", "..") for part in key.split("/")):
            raise TransferError(f"not a key of this remote: {key!r}")
        return self.bucket_dir(bucket) / key

    def put_bytes(self, bucket: str, key: str, data: bytes | memoryview) -> None:
        """Write one key: a temporary file beside it, fsync, then a rename."""
        self._check_root()
        problem = self._bucket_problem(bucket)
        if problem is not None:
            raise TransferError(problem)
        dest = self._key_path(bucket, key)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{os.urandom(6).hex()}.eosvc-tmp")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, OBJECT_MODE)
            os.replace(tmp, dest)
        except OSError as e:
            raise TransferError(f"could not write {dest}: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)

    def get_bytes(self, bucket: str, key: str, offset: int = 0, length: int | None = None) -> bytes | None:
        """A key's bytes (`length` of them from `offset`, or all); None if it is missing."""
        path = self._key_path(bucket, key)
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read() if length is None else f.read(length)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise self._unreadable(bucket, path, e) from None
        if length is not None and len(data) != length:
            raise TransferError(f"{path} is shorter than its index says; it was not used")
        return data

    def list_keys(self, bucket: str, prefix: str) -> list[str] | None:
        """Every key under `prefix` (a folder: it ends with "/")."""
        self._check_root()
        base = self.bucket_dir(bucket)
        keys: list[str] = []

        def fail(e: OSError) -> None:
            if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise self._unreadable(bucket, Path(e.filename or base), e)

        for top, _dirs, files in os.walk(self._key_path(bucket, prefix.rstrip("/")), onerror=fail):
            rel = Path(top).relative_to(base).as_posix()
            keys += [f"{rel}/{name}" for name in files if not name.endswith(".eosvc-tmp")]
        return sorted(keys)

    # -- buckets and deletion --------------------------------------------------------------

    def create_bucket(self, bucket: str, public_read: bool) -> tuple[bool, str | None]:
        """Make the bucket's directory (and the root): the private one 0700, the public one
        0755 (anyone on this machine may read it). False: it was there already."""
        where = self.bucket_dir(bucket)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                where.mkdir(mode=0o755 if public_read else PRIVATE_MODE)
            except FileExistsError:
                if not where.is_dir():
                    raise TransferError(f"{where} exists and is not a directory") from None
                return False, None
            os.chmod(where, 0o755 if public_read else PRIVATE_MODE)  # whatever the umask
        except OSError as e:
            raise TransferError(f"could not create bucket directory {where}: {e.strerror or e}") from None
        return True, None

    def delete(self, bucket: str, oids: Iterable[Sha256]) -> dict[Sha256, str]:
        """Remove the objects (an absent one counts as removed); returns why each failure failed."""
        failed: dict[Sha256, str] = {}
        for oid in oids:
            path = self.path(bucket, oid)
            try:
                os.unlink(path)
            except (FileNotFoundError, NotADirectoryError):
                pass
            except OSError as e:
                failed[Sha256(oid)] = f"could not delete {path}: {e.strerror or e}"
        return failed


def _copy(src: BinaryIO, out: BinaryIO, limit: int, progress: Progress) -> tuple[Sha256, int]:
    """Copy `src` to `out`, hashing; stops one byte past `limit` (a bad object must not fill
    the disk). Returns (sha256, bytes copied)."""
    digest = hashlib.sha256()
    copied = 0
    while copied <= limit:
        chunk = src.read(min(CHUNK, limit + 1 - copied))
        if not chunk:
            break
        out.write(chunk)
        digest.update(chunk)
        copied += len(chunk)
        progress.update(len(chunk))
    return Sha256(digest.hexdigest()), copied


def _link_into_place(tmp: Path, dest: Path) -> None:
    """Give `tmp` the name `dest` unless an object is there already: a hard link fails
    rather than overwrite; where the filesystem has no hard links, a rename (content-addressed:
    whoever wins, the bytes are the same)."""
    try:
        os.link(tmp, dest)
    except FileExistsError:
        pass
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if not os.path.isfile(dest):
            os.replace(tmp, dest)

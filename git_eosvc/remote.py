"""The remote of one repo: which objects exist, parallel uploads and downloads, buckets,
listing and deletion, with one API whatever holds the objects.

Objects live at `<bucket>/<repo>/objects/sha256/ab/cd/<hash>` (DESIGN.md §2) and are
immutable, so uploading a key twice is harmless and concurrent pushes are safe. Two
backends hold them: S3 (s3backend.S3Backend, any S3-compatible endpoint) and a directory
(dirremote.DirectoryBackend, endpoint `file:///path`: one directory per bucket, the same
layout). The engine asks the Remote whether it may read a bucket or write at all
(`can_read`, `can_write`) instead of looking at credentials: S3 needs them to write and to
read the private bucket, a directory never does (file permissions decide).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TYPE_CHECKING

from .config import Settings
from .credentials import Credentials
from .dirremote import DirectoryBackend
from .errors import TransferError
from .hashing import Sha256
from .localchunks import LocalChunks
from .packio import PackIO
from .packs import PackIndexes
from .progress import Progress
from .s3backend import HEAD_MAX, MULTIPART_THRESHOLD, PART_SIZE, STREAM_ATTEMPTS, S3Backend
from .transfer import (Download, Outcome, Stored, TransferReport, Upload, Pool, object_key, report_of,
                       unique)

if TYPE_CHECKING:
    from .cache import Store
    from .packs import Locations

__all__ = ["Backend", "Remote", "HEAD_MAX", "MULTIPART_THRESHOLD", "PART_SIZE", "STREAM_ATTEMPTS"]


class Backend(Protocol):
    """What holds the objects. Items reach a backend deduplicated and non-empty; per-item
    failures come back as outcomes, never as exceptions."""

    needs_credentials: bool  # to write, and to read the private bucket

    def location(self, bucket: str, oid: Sha256) -> str: ...  # s3://bucket/key, or a path
    def missing(self, bucket: str, wanted: set[Sha256]) -> set[Sha256]: ...
    def check_write(self) -> None: ...  # raise CredentialsError when writes cannot work at all
    def upload(self, todo: Sequence[Upload], progress: Progress) -> list[Outcome]: ...
    def download(self, todo: Sequence[Download], store: Store, progress: Progress) -> list[Outcome]: ...
    def create_bucket(self, bucket: str, public_read: bool) -> tuple[bool, str | None]: ...
    def list_objects(self, bucket: str) -> list[Stored]: ...  # sorted by oid
    def delete(self, bucket: str, oids: Iterable[Sha256]) -> dict[Sha256, str]: ...
    def close(self) -> None: ...
    # plain keys, for packs (packs.KeyBackend)
    def put_bytes(self, bucket: str, key: str, data: bytes | memoryview) -> None: ...
    def get_bytes(self, bucket: str, key: str, offset: int = 0, length: int | None = None) -> bytes | None: ...
    def list_keys(self, bucket: str, prefix: str) -> list[str] | None: ...


class Remote:
    """The remote side of one repo, S3 or a directory (settings.endpoint decides)."""

    def __init__(self, settings: Settings, credentials: Credentials | None,
                 progress: Progress | None = None, *, part_size: int = PART_SIZE,
                 multipart_threshold: int = MULTIPART_THRESHOLD, head_max: int = HEAD_MAX,
                 index_cache: Path | None = None) -> None:
        self.settings = settings
        self._progress = progress
        directory = settings.directory
        self.backend: Backend
        if directory is not None:
            self._credentials = None  # never needed, never passed on
            self.backend = DirectoryBackend(settings, directory)
        else:
            self._credentials = credentials
            self.backend = S3Backend(settings, credentials, part_size=part_size,
                                     multipart_threshold=multipart_threshold, head_max=head_max)
        jobs = max(1, settings.jobs)
        self.indexes = PackIndexes(self.backend, settings.repo, index_cache, Pool(jobs, "eosvc-index"))
        # at most 8 packs (16 MiB each) in memory at once, whatever `jobs` is
        self.packio = PackIO(self.backend, self.indexes, settings.repo, Pool(min(jobs, 8), "eosvc-pack"),
                             local=LocalChunks(index_cache / "recipes" if index_cache is not None else None))

    @property
    def is_directory(self) -> bool:
        return isinstance(self.backend, DirectoryBackend)

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    @property
    def authorised(self) -> bool:
        """Writes and private reads can be tried: a directory, or S3 with credentials."""
        return not self.backend.needs_credentials or self._credentials is not None

    def can_read(self, bucket: str) -> bool:
        """Whether reading `bucket` can work (the public one always can)."""
        return bucket == self.settings.public_bucket or self.authorised

    def can_write(self) -> bool:
        return self.authorised

    def key(self, oid: Sha256) -> str:
        """The object's key in a bucket: <repo>/objects/sha256/ab/cd/<hash>."""
        return object_key(self.settings.repo, oid)

    def url(self, bucket: str, oid: Sha256) -> str:
        """Where the object lives: s3://bucket/key, or its path in a directory remote."""
        return self.backend.location(bucket, oid)

    def create_bucket(self, bucket: str, public_read: bool) -> tuple[bool, str | None]:
        """Create `bucket` (False: it was already there). With `public_read`, let anyone read
        its objects; the second value says why that could not be arranged, or is None."""
        return self.backend.create_bucket(bucket, public_read)

    def close(self) -> None:
        """Release the clients' connection pools."""
        self.backend.close()

    def __enter__(self) -> "Remote":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def missing(self, bucket: str, oids: Iterable[Sha256], hints: Callable[[], Iterable[str]] = tuple
                ) -> set[Sha256]:
        """The subset of `oids` not in `bucket`, packed or loose (`hints` as for `download`).
        Raises TransferError if the remote cannot tell."""
        wanted = {Sha256(oid) for oid in oids}
        if wanted:
            wanted -= self.packed(bucket, wanted, hints)
        return self.backend.missing(bucket, wanted) if wanted else set()

    def packed(self, bucket: str, oids: Iterable[Sha256], hints: Callable[[], Iterable[str]] = tuple
               ) -> set[Sha256]:
        """The subset of `oids` the bucket's packs hold (whole, or as a recipe's chunks)."""
        loc = self._locations(bucket, hints)
        return set() if loc is None else {oid for oid in oids if loc.has_file(oid)}

    def _locations(self, bucket: str, hints: Callable[[], Iterable[str]] = tuple,
                   refresh: bool = False) -> "Locations | None":
        """The bucket's packed entries; None when they cannot be found out (the loose
        layout then answers alone, with its own errors)."""
        try:
            return self.indexes.locations(bucket, hints, refresh)
        except TransferError:
            return None

    def publish_catalogs(self, bucket: str, manifests: Mapping[str, Sequence[Sha256]]) -> int:
        """Write the catalogs (packfmt) of these manifest blob ids, for readers who may not list."""
        return self.indexes.publish(bucket, manifests) if self.can_write() else 0

    def list(self, bucket: str) -> list[Stored]:
        """Every object of this repo in `bucket` (oid, size, when written), sorted by oid.
        Only keys at exactly <repo>/objects/sha256/ab/cd/<hash> count. Raises TransferError
        if the bucket cannot be listed (S3: listing needs credentials allowed s3:ListBucket)."""
        return self.backend.list_objects(bucket)

    def delete(self, bucket: str, oids: Iterable[Sha256]) -> dict[Sha256, str]:
        """Delete objects from `bucket` (absent ones count as deleted); returns the failures,
        one message per oid. Nothing else checks they are unused: that is the caller's job."""
        wanted = sorted({Sha256(oid) for oid in oids})
        if not wanted:
            return {}
        self.backend.check_write()
        return self.backend.delete(bucket, wanted)

    def upload(self, items: Sequence[Upload]) -> TransferReport:
        """Upload every item in parallel; failures are collected per oid, never raised.
        A bucket's small items go packed when there are at least `settings.pack_min` of
        them, and items from `settings.chunk_min` bytes up as chunks (docs/storage.md)."""
        self.backend.check_write()
        todo = unique(items, lambda item: (item.bucket, item.oid))
        report = TransferReport()
        if not todo:
            return report
        packed: dict[str, list[Upload]] = {}
        loose: list[Upload] = []
        for bucket in sorted({item.bucket for item in todo}):
            group = [item for item in todo if item.bucket == bucket]
            large = [i for i in group if self._chunked(i.size)]
            small = [i for i in group if not self._chunked(i.size)]
            pack_small = self.settings.pack_min > 0 and len(small) >= self.settings.pack_min
            packed[bucket] = large + (small if pack_small else [])
            loose += [] if pack_small else small
        outcomes: dict[tuple[str, Sha256], Outcome] = {}
        with self._progress_for(sum(item.size for item in todo), "upload", len(todo)) as progress:
            for bucket, group in packed.items():
                if group:
                    outcomes.update(zip([(bucket, i.oid) for i in group],
                                        self.packio.upload(bucket, group, self.settings.chunk_min, progress)))
            if loose:
                outcomes.update(zip([(i.bucket, i.oid) for i in loose], self.backend.upload(loose, progress)))
        return report_of(report, todo, [outcomes[(i.bucket, i.oid)] for i in todo])

    def _chunked(self, size: int) -> bool:
        return 0 < self.settings.chunk_min <= size

    def download(self, items: Sequence[Download], store: Store,
                 hints: Callable[[], Iterable[str]] = tuple) -> TransferReport:
        """Fetch every item not yet in `store`, verified by sha256; failures are collected.
        Packed entries are found by listing the bucket or, where that is not allowed, by
        the catalogs of the manifest blob ids `hints()` returns (asked only then)."""
        report = TransferReport()
        todo: list[Download] = []
        for item in unique(items, lambda item: item.oid):
            if store.has(item.oid):
                report.done.add(item.oid)
            else:
                todo.append(item)
        if not todo:
            return report
        outcomes: dict[Sha256, Outcome] = {}
        with self._progress_for(sum(item.size for item in todo), "download", len(todo)) as progress:
            loose: list[Download] = []
            for bucket in sorted({item.bucket for item in todo}):
                group = [item for item in todo if item.bucket == bucket]
                loc = self._locations(bucket, hints)
                if loc is not None and self.indexes.stale(bucket) and not all(loc.has_file(i.oid) for i in group):
                    loc = self._locations(bucket, hints, refresh=True)  # a long-lived remote: packs pushed since
                located = [i for i in group if loc is not None and loc.has_file(i.oid)]
                if loc is not None and located:
                    outcomes.update(self.packio.download(bucket, located, loc, store, progress))
                loose += [i for i in group if i.oid not in outcomes]
            if loose:
                outcomes.update(zip([i.oid for i in loose], self.backend.download(loose, store, progress)))
        return report_of(report, todo, [outcomes[i.oid] for i in todo])

    @contextmanager
    def _progress_for(self, total: int, desc: str, items: int) -> Iterator[Progress]:
        if self._progress is not None:  # the caller's bar: grow it, leave closing to them
            self._progress.add_total(total, items)
            yield self._progress
            return
        with Progress(total, desc, items=items) as progress:
            yield progress

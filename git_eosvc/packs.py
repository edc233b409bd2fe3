"""Where a bucket's packed entries lie: its pack indexes, found by a listing (or, for a
reader who may not list, by the catalogs of the manifests it wants), each fetched once,
checked against its name and kept in a local cache (indexes never change).

The layout and formats are packfmt's; moving the bytes is packio's.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from .atomic import write_atomic
from .errors import IntegrityError
from .hashing import Sha256, is_object_id
from .transfer import Pool
from .packfmt import (Slot, catalog_key, decode_catalog, decode_index, encode_catalog, index_key, index_name)

class KeyBackend(Protocol):
    """The three plain-key operations packs need from a backend (S3 or a directory)."""

    def put_bytes(self, bucket: str, key: str, data: bytes | memoryview) -> None: ...
    def get_bytes(self, bucket: str, key: str, offset: int = 0, length: int | None = None) -> bytes | None: ...
    def list_keys(self, bucket: str, prefix: str) -> list[str] | None: ...


@dataclass
class Locations:
    """What the loaded indexes of one bucket say, entry by entry."""

    names: set[str] = field(default_factory=set)
    objects: dict[Sha256, Slot] = field(default_factory=dict)  # whole objects (kind o)
    chunks: dict[Sha256, Slot] = field(default_factory=dict)  # chunks of large files (kind c)
    recipes: dict[Sha256, Slot] = field(default_factory=dict)  # file oid -> its recipe (kind f)

    def has_file(self, oid: Sha256) -> bool:
        return oid in self.objects or oid in self.recipes

    def slot_of_file(self, oid: Sha256) -> Slot | None:
        return self.objects.get(oid) or self.recipes.get(oid)

    def add(self, name: str, slots: Iterable[Slot]) -> None:
        self.names.add(name)
        table = {"o": self.objects, "c": self.chunks, "f": self.recipes}
        for slot in slots:
            table[slot.kind].setdefault(slot.oid, slot)


class PackIndexes:
    """The pack indexes of one repo's buckets, discovered lazily, cached in memory per bucket
    and on disk (under `cache`, when given) per index name."""

    def __init__(self, backend: KeyBackend, repo: str, cache: Path | None, parallel: Pool) -> None:
        self.backend = backend
        self.repo = repo
        self.cache = cache
        self._parallel = parallel
        self._known: dict[str, Locations] = {}
        self._listed: dict[str, float] = {}  # bucket -> when it was listed (monotonic)
        self._unlistable: set[str] = set()  # listing refused: catalogs instead
        self._catalogs: dict[str, set[str]] = {}  # per bucket, the catalogs already read
        self._lock = threading.Lock()

    def locations(self, bucket: str, hints: Callable[[], Iterable[str]] = tuple, refresh: bool = False) -> Locations:
        """The bucket's entries: every index a listing shows (once per bucket, or again with
        `refresh`); where listing is not allowed, the indexes the catalogs of the manifest
        blob ids `hints()` returns name."""
        with self._lock:
            loc = self._known.setdefault(bucket, Locations())
            ask = refresh or (bucket not in self._listed and bucket not in self._unlistable)
        if ask:
            keys = self.backend.list_keys(bucket, f"{self.repo}/packs/")
            if keys is not None:
                self.load(bucket, [n for k in keys for n in [index_name(k, self.repo)] if n])
                with self._lock:
                    self._listed[bucket] = time.monotonic()
                return loc
            with self._lock:
                self._unlistable.add(bucket)
        if bucket in self._listed:
            return loc
        with self._lock:
            wanted = sorted({h for h in hints() if is_object_id(h)} - self._catalogs.get(bucket, set()))
            self._catalogs.setdefault(bucket, set()).update(wanted)
        if wanted:
            found = self._parallel(lambda h: self.backend.get_bytes(bucket, catalog_key(self.repo, h)), wanted)
            self.load(bucket, [n for text in found if text is not None for n in decode_catalog(text)])
        return loc

    def stale(self, bucket: str, age: float = 2.0) -> bool:
        """Whether `bucket` was listed more than `age` seconds ago (a long-lived remote:
        packs may have been pushed since)."""
        with self._lock:
            at = self._listed.get(bucket)
        return at is not None and time.monotonic() - at > age

    def load(self, bucket: str, names: Iterable[str]) -> Locations:
        """Make sure the named indexes are loaded (from the local cache, else the bucket);
        an index that is missing or fails its name's check is left out."""
        with self._lock:
            loc = self._known.setdefault(bucket, Locations())
            todo = sorted({n for n in names if n not in loc.names})
        for name, slots in zip(todo, self._parallel(lambda n: self._index(bucket, n), todo)):
            if slots is not None:
                with self._lock:
                    loc.add(name, slots)
        return loc

    def learn(self, bucket: str, name: str, text: bytes) -> None:
        """An index this process just wrote: known without asking the bucket."""
        slots = decode_index(name, text)
        self._save(name, text)
        with self._lock:
            self._known.setdefault(bucket, Locations()).add(name, slots)

    def _index(self, bucket: str, name: str) -> list[Slot] | None:
        """An index's entries, checked against its name: from the cache, else the bucket
        (then cached); None when it is missing or damaged (its entries are looked for loose)."""
        for cached in (True, False):
            text = self._cached(name) if cached else self.backend.get_bytes(bucket, index_key(self.repo, name))
            if text is None:
                continue
            try:
                slots = decode_index(name, text)
            except IntegrityError:
                continue
            if not cached:
                self._save(name, text)
            return slots
        return None

    def _cached(self, name: str) -> bytes | None:
        if self.cache is None:
            return None
        try:
            return (self.cache / f"{name}.idx").read_bytes()
        except OSError:
            return None

    def _save(self, name: str, text: bytes) -> None:
        if self.cache is None:
            return
        try:
            self.cache.mkdir(parents=True, exist_ok=True)
            write_atomic(self.cache / f"{name}.idx", text)
        except OSError:
            pass  # only a cache: the next run fetches it again

    # ------------------------------------------------------------------ catalogs

    def publish(self, bucket: str, manifests: Mapping[str, Sequence[Sha256]]) -> int:
        """Write the catalog of each manifest blob id whose objects are (partly) packed in
        `bucket`; returns how many were written. Raises TransferError."""
        loc = self.locations(bucket)
        todo: list[tuple[str, bytes]] = []
        for blob_id, oids in sorted(manifests.items()):
            names = {slot.pack for oid in oids for slot in [loc.slot_of_file(oid)] if slot is not None}
            if names and is_object_id(blob_id):
                todo.append((catalog_key(self.repo, blob_id), encode_catalog(names)))
        payload = dict(todo)
        self._parallel(lambda key: self.backend.put_bytes(bucket, key, payload[key]), sorted(payload))
        return len(todo)

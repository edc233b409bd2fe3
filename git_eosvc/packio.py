"""Moving packed bytes: an upload writes a few large immutable packs (small objects whole,
large files as content-defined chunks the bucket lacks, plus their recipes), each pack
before its index, so an index never names a pack that is not there; a download reads
only the ranges it needs, neighbours coalesced, and checks every object, and every
rebuilt file, against its sha256 before the store takes it (docs/storage.md).
"""

from __future__ import annotations

import hashlib
import mmap
import os
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from .chunker import chunks_of
from .localchunks import LocalChunks, read_held
from .errors import IntegrityError, TransferError
from .hashing import Sha256
from .packfmt import MiB, Chunk, Cutter, Slot, coalesce, cut_packs, decode_recipe, encode_index, encode_recipe, pack_key, \
    index_key
from .packs import KeyBackend, Locations, PackIndexes
from .progress import Progress
from .transfer import Download, Failed, Outcome, Pool, Upload, run_item

if TYPE_CHECKING:
    from .cache import Store

PACK_SIZE = 16 * MiB  # bytes per pack: few requests, and a bounded buffer per upload slot


@dataclass(frozen=True)
class Entry:
    """One entry to write: `length` bytes of `source` from `offset`, or `data` itself."""

    kind: str
    oid: Sha256
    length: int
    source: Path | None = None
    offset: int = 0
    data: bytes | None = None

    def check(self, data: bytes | memoryview) -> None:
        """Refuse bytes that are not what was hashed (a whole object is checked by its
        sha256; a chunk was hashed from this same read-only store object moments ago)."""
        if len(data) != self.length or (self.kind == "o" and hashlib.sha256(data).hexdigest() != self.oid):
            raise Failed(f"{self.source} changed since it was hashed (its bytes are no longer "
                         f"{self.oid.short}); re-run `git eosvc add`")


@contextmanager
def pack_body(entries: Sequence[Entry]) -> Iterator[bytes | memoryview]:
    """The pack's bytes. A pack that is one run of one file's chunks, in order (most of any
    push of large files), is that run of the read-only store object mapped, not copied: no
    second copy of every byte in memory on its way to the socket."""
    first, last = entries[0], entries[-1]
    if first.kind == "c" and all(e.kind == "c" and e.source == first.source and e.offset == prev.offset + prev.length
                                 for prev, e in zip(entries, entries[1:])):
        assert first.source is not None
        end = last.offset + last.length
        with open(first.source, "rb") as f:
            if os.fstat(f.fileno()).st_size < end:
                raise Failed(f"{first.source} changed since it was hashed; re-run `git eosvc add`")
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(mapped)[first.offset:end]
        try:
            yield view
        finally:
            try:
                view.release()
                mapped.close()
            except BufferError:  # a view still held by a request that failed: freed with it
                pass
        return
    yield _read_pack(entries)


def _read_pack(entries: Sequence[Entry]) -> bytes:
    """The pack's bytes, read and joined; neighbouring ranges of one file are read with one
    read."""
    parts: list[bytes] = []
    i = 0
    while i < len(entries):
        first = entries[i]
        if first.data is not None:
            parts.append(first.data)
            i += 1
            continue
        j, end = i + 1, first.offset + first.length
        while j < len(entries) and entries[j].source == first.source and entries[j].data is None \
                and entries[j].offset == end:
            end += entries[j].length
            j += 1
        assert first.source is not None
        with open(first.source, "rb") as f:
            f.seek(first.offset)
            data = f.read(end - first.offset)
        view, at = memoryview(data), 0
        for entry in entries[i:j]:
            entry.check(view[at:at + entry.length])
            at += entry.length
        parts.append(data)
        i = j
    return parts[0] if len(parts) == 1 else b"".join(parts)


class PackIO:
    """Packed uploads and downloads for one bucket at a time, over `backend`."""

    def __init__(self, backend: KeyBackend, indexes: PackIndexes, repo: str, parallel: Pool,
                 pack_size: int = PACK_SIZE, local: LocalChunks | None = None) -> None:
        self.backend = backend
        self.indexes = indexes
        self.local = local or LocalChunks(None)
        self.repo = repo
        self._parallel = parallel
        self.pack_size = pack_size

    # ------------------------------------------------------------------ upload

    def upload(self, bucket: str, items: Sequence[Upload], chunk_min: int, progress: Progress) -> list[Outcome]:
        """Write `items` packed into `bucket`: one outcome per item, never raised."""
        try:
            loc = self.indexes.locations(bucket)
        except TransferError:
            loc = Locations()  # nothing known to reuse: every chunk is written
        large = [i for i in items if chunk_min and i.size >= chunk_min]
        recipes: dict[Sha256, list[Chunk] | str] = {}
        entries: list[Entry] = []
        owners: list[set[Sha256]] = []  # for each entry, the items that need it
        placed: dict[Sha256, int] = {}  # chunk oid -> its position in entries
        runs: list[tuple[range, Future[tuple[str, str]]]] = []
        with ThreadPoolExecutor(self._parallel.jobs, thread_name_prefix="eosvc-pack") as pool:
            # Chunking and uploading overlap: each pack goes as soon as it is cut.
            chunking = {item.oid: pool.submit(_chunk, item) for item in large}
            cutter = Cutter(self.pack_size)

            def add(entry: Entry, owner: Sha256) -> None:
                if cutter.starts_run(entry.length) and cutter.start < len(entries):
                    run = range(cutter.start, len(entries))
                    runs.append((run, pool.submit(self._write_pack, bucket, entries[run.start:run.stop], progress)))
                    cutter.start = len(entries)
                entries.append(entry)
                owners.append({owner})

            for item in items:
                if item.oid not in chunking:
                    add(Entry("o", item.oid, item.size, item.source), item.oid)
                    continue
                chunks = recipes[item.oid] = chunking[item.oid].result()
                for c in chunks if isinstance(chunks, list) else ():
                    if c.oid in placed:
                        owners[placed[c.oid]].add(item.oid)
                    elif c.oid not in loc.chunks:
                        placed[c.oid] = len(entries)
                        add(Entry("c", c.oid, c.length, item.source, c.offset), item.oid)
            if cutter.start < len(entries):
                run = range(cutter.start, len(entries))
                runs.append((run, pool.submit(self._write_pack, bucket, entries[run.start:], progress)))
            results = [(run, future.result()) for run, future in runs]
        failed: dict[Sha256, str] = {oid: why for oid, why in recipes.items() if isinstance(why, str)}
        written: dict[int, str] = {}  # entry position -> the pack it went into
        for run, (name, why) in results:
            for i in run:
                if name:
                    written[i] = name
                else:
                    for oid in owners[i]:
                        failed.setdefault(oid, why)
        # Recipes last: each names the packs its chunks are in, known only once written.
        built: list[Entry] = []
        for item in large:
            chunks = recipes[item.oid]
            if isinstance(chunks, str) or item.oid in failed:
                continue
            packs = {written[placed[c.oid]] if c.oid in placed else loc.chunks[c.oid].pack for c in chunks}
            data = encode_recipe(item.size, chunks, packs)
            built.append(Entry("f", item.oid, len(data), data=data))
        for run in cut_packs([e.length for e in built], self.pack_size):
            name, why = self._write_pack(bucket, [built[i] for i in run], progress, count=False)
            for entry in (built[i] for i in run):
                if not name:
                    failed.setdefault(entry.oid, why)
                elif entry.data is not None:  # kept: a pull of its next version copies its chunks
                    self.local.remember(entry.oid, entry.data)
        outcomes: list[Outcome] = []
        for item in items:
            if item.oid in failed:
                outcomes.append((0, failed[item.oid]))
            else:
                outcomes.append((progress.finished(item.size, f"{item.source} (packed, bucket {bucket})"), None))
        return outcomes

    def _write_pack(self, bucket: str, entries: Sequence[Entry], progress: Progress,
                    count: bool = True) -> tuple[str, str]:
        """Upload one pack, then its index: (name, "") or ("", why it failed)."""
        try:
            name, text = encode_index([(e.kind, e.oid, e.length) for e in entries])
            with pack_body(entries) as data:
                self.backend.put_bytes(bucket, pack_key(self.repo, name), data)
                size = len(data)
            self.backend.put_bytes(bucket, index_key(self.repo, name), text)
        except Failed as e:
            return "", str(e)
        except TransferError as e:
            return "", e.message
        except OSError as e:
            return "", f"cannot read {e.filename}: {e.strerror or e}"
        self.indexes.learn(bucket, name, text)
        if count:
            progress.update(size)
        return name, ""

    # ------------------------------------------------------------------ download

    def download(self, bucket: str, items: Sequence[Download], loc: Locations, store: Store,
                 progress: Progress) -> dict[Sha256, Outcome]:
        """Fetch the items `loc` knows; one outcome per such item (the rest are the caller's)."""
        whole = [i for i in items if i.oid in loc.objects]
        built = [i for i in items if i.oid not in loc.objects and i.oid in loc.recipes]
        outcomes: dict[Sha256, Outcome] = {}
        sizes = {i.oid: i.size for i in items}

        def keep(slot: Slot, data: memoryview) -> None:
            outcomes[slot.oid] = run_item(lambda: self._adopt_bytes(bucket, slot, data, sizes[slot.oid], store,
                                                                    progress))

        self._read_slots(bucket, [loc.objects[i.oid] for i in whole], keep)
        texts: dict[Sha256, bytes] = {}
        self._read_slots(bucket, [loc.recipes[i.oid] for i in built],
                         lambda slot, data: texts.__setitem__(slot.oid, bytes(data)))
        for item in built:
            outcomes[item.oid] = run_item(lambda: self._rebuild(bucket, item, texts.get(item.oid), store, progress))
        for item in whole + built:
            if outcomes.get(item.oid, (0, "not read"))[1] is None:
                progress.finished(item.size, f"{item.oid.short} (packed, bucket {bucket})")
            outcomes.setdefault(item.oid, (0, f"could not read {item.oid.short} from its pack"))
        return outcomes

    def _read_slots(self, bucket: str, slots: Sequence[Slot], each: Callable[[Slot, memoryview], None]) -> None:
        """Ranged reads of the slots, coalesced; `each(slot, a view of its bytes)` for every
        slot read. A read that fails leaves its slots out (their items fail with the reason)."""
        reads = list(coalesce(slots, limit=self.pack_size))

        def one(read: tuple[str, int, int, list[Slot]]) -> None:
            pack, start, length, members = read
            data = self.backend.get_bytes(bucket, pack_key(self.repo, pack), start, length)
            if data is None:
                raise TransferError(f"pack {pack} is missing from bucket {bucket}")
            view = memoryview(data)
            for slot in members:
                each(slot, view[slot.offset - start:slot.offset - start + slot.length])

        self._parallel(one, reads)

    def _adopt_bytes(self, bucket: str, slot: Slot, data: memoryview, size: int, store: Store,
                     progress: Progress) -> int:
        if len(data) != size or hashlib.sha256(data).hexdigest() != slot.oid:
            raise Failed(f"object {slot.oid} in pack {slot.pack} of bucket {bucket} is corrupt "
                         "(sha256 mismatch); it was not used")
        tmp = store.tmp_path()
        try:
            with open(tmp, "xb") as out:
                out.write(data)
            store.adopt(tmp, slot.oid, actual=slot.oid, durable=False)
        except OSError as e:
            raise Failed(f"could not write {slot.oid.short} into the local store: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)
        progress.update(size)
        return size

    def _rebuild(self, bucket: str, item: Download, text: bytes | None, store: Store, progress: Progress) -> int:
        """Rebuild a chunked file from its recipe into the store, checked whole."""
        corrupt = f"object {item.oid} rebuilt from packs of bucket {bucket} is corrupt (sha256 mismatch); " \
                  "it was not used"
        if text is None:
            raise Failed(f"the recipe of {item.oid.short} could not be read from bucket {bucket}")
        try:
            chunks, packs = decode_recipe(item.oid, item.size, text)
        except IntegrityError as e:
            raise Failed(e.message) from None
        loc = self.indexes.load(bucket, packs)
        at: dict[Sha256, list[int]] = {}
        for c in chunks:
            at.setdefault(c.oid, []).append(c.offset)
        held = self.local.find(store, packs, set(at))
        absent = [oid for oid in at if oid not in loc.chunks and oid not in held]
        if absent:
            raise Failed(f"{len(absent)} chunk(s) of {item.oid.short} are in no pack of bucket {bucket}")
        tmp = store.tmp_path()
        try:
            with open(tmp, "xb") as out:
                out.truncate(item.size)
            fd = os.open(tmp, os.O_WRONLY)
            try:
                def place(oid: Sha256, data: bytes | memoryview) -> None:
                    for offset in at[oid]:
                        os.pwrite(fd, data, offset)
                    progress.update(len(data) * len(at[oid]))

                # Chunks an old version in the store shares are copied from it; the rest
                # (and any held copy that no longer hashes right) come from the packs.
                fetch = [oid for oid in at if oid not in held]
                for oid, data in read_held(held):
                    if data is not None:
                        place(oid, data)
                    elif oid in loc.chunks:
                        fetch.append(oid)
                    else:
                        raise Failed(f"a chunk of {item.oid.short} is in no pack of bucket {bucket}, "
                                     f"and its copy in the local store is damaged")
                self._read_slots(bucket, sorted({loc.chunks[oid] for oid in fetch}, key=lambda s: (s.pack, s.offset)),
                                 lambda slot, data: place(slot.oid, data))
            finally:
                os.close(fd)
            try:
                store.adopt(tmp, item.oid, durable=False)  # hashed whole: the manifest's sha256 decides
            except IntegrityError:
                raise Failed(corrupt) from None
            self.local.remember(item.oid, text)
        except TransferError as e:
            raise Failed(e.message) from None
        except OSError as e:
            raise Failed(f"could not rebuild {item.oid.short} in the local store: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return item.size


def _chunk(item: Upload) -> list[Chunk] | str:
    """The item's chunks, or why it cannot be read."""
    try:
        if os.stat(item.source).st_size != item.size:
            return f"{item.source} changed since it was hashed; re-run `git eosvc add`"
        return chunks_of(item.source)
    except OSError as e:
        return f"cannot read {item.source}: {e.strerror or e}"

"""The packed layout's three small text formats, each with exactly one valid encoding, and
the pure rules for cutting packs and coalescing ranged reads (docs/storage.md).

Keys, beside the loose `<repo>/objects/sha256/ab/cd/<hash>` (which stays readable):

- `<repo>/packs/<name>.pack`: bytes of many entries, back to back;
- `<repo>/packs/<name>.idx`: the pack's index (below); `<name>` is the sha256 of this text,
  which names every entry's bytes by hash, so a name fixes the pack's content: a pack is
  never rewritten and two pushes that make the same pack write the same bytes;
- `<repo>/catalogs/<git blob id of a manifest>`: the indexes that hold that manifest's
  packed objects, so a reader who may not list the bucket (anonymous, public section)
  finds them with GetObject alone.

An index::

    eosvc-pack 1
    o <sha256> <offset> <length>     a whole object: the bytes hash to <sha256>
    c <sha256> <offset> <length>     a chunk of a large file: the bytes hash to <sha256>
    f <sha256> <offset> <length>     the recipe of the file whose bytes hash to <sha256>

lines in offset order, contiguous from 0. A recipe::

    eosvc-recipe 1 <file size>
    p <index name>                   the packs that held its chunks when it was written
    <chunk sha256> <length>          in file order; the lengths add up to the size

A catalog::

    eosvc-catalog 1
    <index name>                     sorted, unique
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from .errors import IntegrityError
from .hashing import Sha256, is_sha256

PACK_HEADER = "eosvc-pack 1"
RECIPE_HEADER = "eosvc-recipe 1"
CATALOG_HEADER = "eosvc-catalog 1"
KINDS = ("o", "c", "f")
MiB = 1 << 20


@dataclass(frozen=True)
class Slot:
    """Where one entry's bytes lie: in pack `pack`, `length` bytes from `offset`."""

    kind: str
    oid: Sha256
    pack: str
    offset: int
    length: int


@dataclass(frozen=True)
class Chunk:
    """One content-defined chunk of a file: `length` bytes from `offset`, hashing to `oid`."""

    oid: Sha256
    offset: int
    length: int


def pack_key(repo: str, name: str) -> str:
    return f"{repo}/packs/{name}.pack"


def index_key(repo: str, name: str) -> str:
    return f"{repo}/packs/{name}.idx"


def catalog_key(repo: str, blob_id: str) -> str:
    return f"{repo}/catalogs/{blob_id}"


def index_name(key: str, repo: str) -> str | None:
    """The pack name an index key carries, or None for any other key."""
    prefix = f"{repo}/packs/"
    if not (key.startswith(prefix) and key.endswith(".idx")):
        return None
    name = key[len(prefix):-4]
    return name if is_sha256(name) else None


# ------------------------------------------------------------------------- index


def encode_index(entries: Sequence[tuple[str, Sha256, int]]) -> tuple[str, bytes]:
    """(name, text) of the index of a pack whose entries are (kind, oid, length), in order."""
    lines = [PACK_HEADER]
    offset = 0
    for kind, oid, length in entries:
        lines.append(f"{kind} {oid} {offset} {length}")
        offset += length
    text = ("\n".join(lines) + "\n").encode("ascii")
    return hashlib.sha256(text).hexdigest(), text


_INDEX_LINE = re.compile(rb"([ocf]) ([0-9a-f]{64}) (0|[1-9][0-9]*) (0|[1-9][0-9]*)\n")


def decode_index(name: str, text: bytes) -> list[Slot]:
    """The entries of index `name`; IntegrityError unless `text` is its one valid encoding."""
    if hashlib.sha256(text).hexdigest() != name:
        raise IntegrityError(f"pack index {name} is corrupt (sha256 mismatch); it was not used")
    header = PACK_HEADER.encode("ascii") + b"\n"
    if not text.startswith(header):
        raise IntegrityError(f"pack index {name} does not start with {PACK_HEADER!r}")
    slots: list[Slot] = []
    pos, offset, match = len(header), 0, _INDEX_LINE.match
    while pos < len(text):
        m = match(text, pos)
        if m is None or int(m[3]) != offset:
            raise IntegrityError(f"pack index {name}, line {len(slots) + 2}: not `<kind> <sha256> {offset} <length>`")
        length = int(m[4])
        # the pattern checked the hex: no second validation per entry (an index holds thousands)
        slots.append(Slot(m[1].decode(), str.__new__(Sha256, m[2].decode()), name, offset, length))
        offset += length
        pos = m.end()
    return slots


# ------------------------------------------------------------------------- recipe


def encode_recipe(size: int, chunks: Iterable[Chunk], packs: Iterable[str]) -> bytes:
    lines = [f"{RECIPE_HEADER} {size}"] + [f"p {name}" for name in sorted(set(packs))]
    lines += [f"{c.oid} {c.length}" for c in chunks]
    return ("\n".join(lines) + "\n").encode("ascii")


def decode_recipe(oid: Sha256, size: int, text: bytes) -> tuple[list[Chunk], list[str]]:
    """The chunks that make file `oid` of `size` bytes, and the packs that held them;
    IntegrityError if the recipe is not one (the file it rebuilds is checked against `oid`
    anyway)."""
    bad = IntegrityError(f"the recipe of {oid} is corrupt; it was not used")
    try:
        lines = text.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise bad from None
    if lines[0] != f"{RECIPE_HEADER} {size}" or lines[-1] != "":
        raise bad
    body = lines[1:-1]
    packs = [line[2:] for line in body if line.startswith("p ")]
    if any(not is_sha256(name) for name in packs) or packs != sorted(set(packs)):
        raise bad
    chunks: list[Chunk] = []
    offset = 0
    for line in body[len(packs):]:
        parts = line.split(" ")
        if len(parts) != 2 or not is_sha256(parts[0]) or not parts[1].isdigit() or int(parts[1]) < 1:
            raise bad
        chunks.append(Chunk(Sha256(parts[0]), offset, int(parts[1])))
        offset += int(parts[1])
    if offset != size:
        raise bad
    return chunks, packs


# ------------------------------------------------------------------------- catalog


def encode_catalog(names: Iterable[str]) -> bytes:
    return ("\n".join([CATALOG_HEADER, *sorted(set(names))]) + "\n").encode("ascii")


def decode_catalog(text: bytes) -> list[str]:
    """The index names a catalog lists; a damaged catalog lists nothing (it only saves
    requests: what it would have found is then looked for loose)."""
    try:
        lines = text.decode("ascii").split("\n")
    except UnicodeDecodeError:
        return []
    if lines[0] != CATALOG_HEADER or lines[-1] != "":
        return []
    return [n for n in lines[1:-1] if is_sha256(n)]


# ------------------------------------------------------------------------- planning


class Cutter:
    """Where packs end, entry by entry: a run closes before the entry that would take it
    past `target` bytes (so a run passes `target` only by its last entry). `start` is the
    position of the current run's first entry, for the caller to keep."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.start = 0
        self._total = 0

    def starts_run(self, size: int) -> bool:
        """Count the next entry; True when it opens a new run."""
        new = self._total > 0 and self._total + size > self.target
        self._total = size if new else self._total + size
        return new


def cut_packs(sizes: Sequence[int], target: int) -> list[range]:
    """Consecutive runs of entries (by position), cut as `Cutter` says."""
    cutter = Cutter(target)
    runs: list[range] = []
    for i, size in enumerate(sizes):
        if cutter.starts_run(size):
            runs.append(range(cutter.start, i))
            cutter.start = i
    if cutter.start < len(sizes):
        runs.append(range(cutter.start, len(sizes)))
    return runs


def coalesce(slots: Iterable[Slot], gap: int = MiB, limit: int = 64 * MiB) -> Iterator[tuple[str, int, int, list[Slot]]]:
    """Ranged reads for the slots: (pack, offset, length, slots inside), neighbours in one
    pack merged when at most `gap` bytes lie between them and the read stays under `limit`."""
    by_pack: dict[str, list[Slot]] = {}
    for slot in slots:
        by_pack.setdefault(slot.pack, []).append(slot)
    for pack in sorted(by_pack):
        group = sorted(set(by_pack[pack]), key=lambda s: s.offset)
        start, end, members = group[0].offset, group[0].offset + group[0].length, [group[0]]
        for slot in group[1:]:
            new_end = max(end, slot.offset + slot.length)
            if slot.offset - end <= gap and new_end - start <= limit:
                end = new_end
                members.append(slot)
            else:
                yield pack, start, end - start, members
                start, end, members = slot.offset, slot.offset + slot.length, [slot]
        yield pack, start, end - start, members

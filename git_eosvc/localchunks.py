"""Chunks this clone already holds, inside the large files of its local store.

A push that chunks a file, and a pull that rebuilds one from its recipe, keep the recipe
beside the index cache (`<store>/packs/recipes/<oid>`). Rebuilding a new version of a
file then copies the chunks it shares with an old version from the store and fetches only
the rest: pulling rows appended to a large CSV moves about the appended bytes, as pushing
them does (docs/storage.md).

Old versions are found by the packs their recipes name: a new version reuses the old
one's chunks, so its recipe names some of the same packs. Every copied chunk is checked
against its sha256 first (a damaged store object is fetched around, never copied), and
the rebuilt file is checked whole, as always.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

from .atomic import write_atomic
from .errors import IntegrityError
from .hashing import Sha256, is_sha256
from .packfmt import RECIPE_HEADER, Chunk, decode_recipe

if TYPE_CHECKING:
    from .cache import Store

HEAD_BYTES = 8192  # enough of a recipe for its `p` lines (a few hundred packs)
MAX_SOURCES = 4  # old versions looked into per rebuilt file, most packs in common first


@dataclass(frozen=True)
class Held:
    """A chunk inside a local store object: `length` bytes of `source` from `offset`."""

    source: Path
    offset: int
    length: int


class LocalChunks:
    """The recipes of the store's chunked files, under `root` (None: nothing is kept)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self._packs: dict[Sha256, set[str]] | None = None  # kept recipe -> its packs, read once
        self._lock = threading.Lock()

    def remember(self, oid: Sha256, recipe: bytes) -> None:
        """Keep the recipe of a chunked file the store holds (a cache: failures pass)."""
        if self.root is None:
            return
        try:
            write_atomic(self.root / oid, recipe)
        except OSError:
            return
        with self._lock:
            if self._packs is not None:
                self._packs[oid] = _packs_named(self.root / oid)

    def find(self, store: Store, packs: Iterable[str], wanted: set[Sha256]) -> dict[Sha256, Held]:
        """Where the store holds chunks of `wanted`: inside files whose recipes name any of
        `packs`."""
        if self.root is None or not wanted:
            return {}
        packs = set(packs)
        ranked = [(len(packs & named), oid) for oid, named in self._kept().items()
                  if packs & named and store.has(oid)]
        held: dict[Sha256, Held] = {}
        for _, oid in sorted(ranked, reverse=True)[:MAX_SOURCES]:
            for chunk in _chunks(self.root / oid, oid):
                if chunk.oid in wanted and chunk.oid not in held:
                    held[chunk.oid] = Held(store.object_path(oid), chunk.offset, chunk.length)
        return held


    def _kept(self) -> dict[Sha256, set[str]]:
        """Every kept recipe and the packs it names (listed once per process)."""
        with self._lock:
            if self._packs is None:
                assert self.root is not None
                try:
                    names = [n for n in os.listdir(self.root) if is_sha256(n)]
                except OSError:
                    names = []
                self._packs = {Sha256(n): _packs_named(self.root / n) for n in names}
            return dict(self._packs)


def read_held(held: Mapping[Sha256, Held]) -> Iterator[tuple[Sha256, bytes | None]]:
    """Each held chunk and its bytes from the store, or None unless they still hash to it;
    each store object is opened once, not once per chunk."""
    by_source: dict[Path, list[tuple[Sha256, Held]]] = {}
    for oid, where in held.items():
        by_source.setdefault(where.source, []).append((oid, where))
    for source, members in by_source.items():
        try:
            fd = os.open(source, os.O_RDONLY)
        except OSError:
            yield from ((oid, None) for oid, _ in members)
            continue
        try:
            for oid, where in members:
                try:
                    data = os.pread(fd, where.length, where.offset)
                except OSError:
                    yield oid, None
                    continue
                ok = len(data) == where.length and hashlib.sha256(data).hexdigest() == oid
                yield oid, data if ok else None
        finally:
            os.close(fd)


def _packs_named(path: Path) -> set[str]:
    """The packs a kept recipe names (its `p` lines), read from its head only."""
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError:
        return set()
    lines = head.split(b"\n")[1:-1]
    return {line[2:].decode("ascii", "replace") for line in lines if line.startswith(b"p ")}


def _chunks(path: Path, oid: Sha256) -> list[Chunk]:
    """A kept recipe's chunks; none if it is damaged."""
    try:
        text = path.read_bytes()
        header = text.split(b"\n", 1)[0].decode("ascii")
        if not header.startswith(RECIPE_HEADER + " "):
            return []
        return decode_recipe(oid, int(header[len(RECIPE_HEADER) + 1:]), text)[0]
    except (OSError, UnicodeDecodeError, ValueError, IntegrityError):
        return []


"""The manifest: format, strict parse, canonical encode, diff. Pure functions, no I/O.

The spec is docs/manifest.md. In short:

    eosvc-manifest v1
    <sha256 hex> <size> <path>

one line per file, sorted bytewise by path, LF endings, paths quoted the way git quotes
unusual names. Every set of files has exactly one valid encoding: `decode` rejects any
input that `encode` would not have written byte for byte.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

from .errors import ConflictError, ManifestError
from .hashing import Sha256
from .paths import clashes, path_problem

HEADER = b"eosvc-manifest v1"
SUFFIX = ".eosvc"
_LINE = re.compile(rb"([0-9a-f]{64}) (0|[1-9][0-9]*) (.+)", re.DOTALL)
_CONFLICT_PREFIXES = (b"<<<<<<<", b"=======", b">>>>>>>", b"|||||||")
MAX_SIZE = 2**63 - 1  # off_t: no file is larger, a larger size is damage or a hostile edit

_NAMED = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r",
          0x22: b'\\"', 0x5C: b"\\\\"}
_UNNAMED = {v[1:2]: k for k, v in _NAMED.items()}


@dataclass(frozen=True, slots=True)
class Entry:
    """One file: its path relative to the repo root, its sha256 and its size in bytes."""

    path: str
    oid: Sha256
    size: int


def path_key(path: str) -> bytes:
    """The sort key: the path's bytes as the filesystem sees them."""
    return os.fsencode(path)


# ---------------------------------------------------------------- paths


def check_path(path: str, section: str | None = None) -> None:
    """Refuse a path that is absolute, empty, has `.`/`..`/`.git` components or leaves its section."""
    problem = path_problem(path, section)
    if problem:
        raise ManifestError(f"unsafe path {path!r}: {problem}")


# ---------------------------------------------------------------- quoting


_SPECIAL = re.compile(rb'[\x00-\x1f\x7f"\\]')


def _needs_quoting(raw: bytes) -> bool:
    if raw[:1] == b" " or raw[-1:] == b" " or _SPECIAL.search(raw):
        return True
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


def quote_path(path: str) -> bytes:
    """Git-style C quoting, only where needed; valid UTF-8 stays literal."""
    raw = os.fsencode(path)
    if not _needs_quoting(raw):
        return raw
    out = bytearray(b'"')
    i = 0
    while i < len(raw):
        b = raw[i]
        if b in _NAMED:
            out += _NAMED[b]
        elif b < 0x20 or b == 0x7F:
            out += b"\\%03o" % b
        elif b < 0x80:
            out.append(b)
        else:
            n = _utf8_len(raw, i)
            if n:
                out += raw[i:i + n]
                i += n
                continue
            out += b"\\%03o" % b
        i += 1
    out += b'"'
    return bytes(out)


def _utf8_len(raw: bytes, i: int) -> int:
    """Length of the valid UTF-8 sequence starting at raw[i], or 0."""
    for n in (2, 3, 4):
        try:
            raw[i:i + n].decode("utf-8")
            return n
        except UnicodeDecodeError:
            continue
    return 0


def unquote_path(field: bytes) -> str:
    """Inverse of quote_path; raises ValueError on a malformed quoted field."""
    if not field.startswith(b'"'):
        return os.fsdecode(field)
    if len(field) < 2 or not field.endswith(b'"'):
        raise ValueError("unterminated quoted path")
    body = field[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i:i + 1]
        if c == b'"':
            raise ValueError("unescaped '\"' inside a quoted path")
        if c != b"\\":
            out += c
            i += 1
            continue
        nxt = body[i + 1:i + 2]
        if nxt in _UNNAMED:
            out.append(_UNNAMED[nxt])
            i += 2
        elif re.fullmatch(rb"[0-3][0-7][0-7]", body[i + 1:i + 4]):
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        else:
            raise ValueError(f"unknown escape '\\{nxt.decode(errors='replace')}' in a quoted path")
    return os.fsdecode(bytes(out))


# ---------------------------------------------------------------- manifest


class Manifest(Mapping[str, Entry]):
    """An immutable set of entries keyed by path."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        table: dict[str, Entry] = {}
        for e in entries:
            if e.path in table:
                raise ManifestError(f"duplicate path {e.path!r}")
            table[e.path] = e
        self._entries = table

    def __getitem__(self, path: str) -> Entry:
        return self._entries[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Manifest):
            return self._entries == other._entries
        return NotImplemented

    def __hash__(self) -> int:  # pragma: no cover - Mapping is unhashable by default
        raise TypeError("Manifest is not hashable")

    def __repr__(self) -> str:
        return f"Manifest({len(self)} entries)"

    def sorted(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda e: path_key(e.path))

    @property
    def total_size(self) -> int:
        return sum(e.size for e in self._entries.values())


EMPTY = Manifest()


def encode_entry(entry: Entry) -> bytes:
    if not 0 <= entry.size <= MAX_SIZE:
        raise ManifestError(f"{entry.path!r}: size {entry.size} is not a file size (0 to 2**63-1)")
    return b"%s %d %s" % (entry.oid.encode(), entry.size, quote_path(entry.path))


def encode(manifest: Manifest | Iterable[Entry]) -> bytes:
    """The one valid encoding of a set of entries."""
    m = manifest if isinstance(manifest, Manifest) else Manifest(manifest)
    entries = m.sorted()
    _check_tree(entries, "<manifest>")
    return _lines(entries)


def listing(files: Mapping[str, Entry]) -> bytes:
    """What `encode` writes for these files, without refusing names that clash (the stat
    cache keeps a scan's result this way; a manifest is never written from it)."""
    return _lines(sorted(files.values(), key=lambda e: path_key(e.path)))


def _lines(entries: list[Entry]) -> bytes:
    return b"\n".join([HEADER] + [encode_entry(e) for e in entries]) + b"\n"


_MARKER = re.compile(b"\n(?:" + b"|".join(map(re.escape, _CONFLICT_PREFIXES)) + b")")


def has_conflict_markers(data: bytes) -> bool:
    """A line starting with a merge marker (one search, no split: status asks of every manifest)."""
    return data.startswith(_CONFLICT_PREFIXES) or _MARKER.search(data) is not None


_MEMO: dict[tuple[bytes, str | None], Manifest] = {}
_MEMO_SIZE = 16


def decode(data: bytes, source: str = "<manifest>", section: str | None = None) -> Manifest:
    """Strict parse. Every error names `source` and the line number.

    HEAD's manifest, the working one and the last materialised one are usually the same
    bytes: a parse is remembered (manifests are immutable), so status parses 10,000
    lines once, not three times.
    """
    key = (data, section)
    hit = _MEMO.get(key)
    if hit is not None:
        return hit
    manifest = _decode(data, source, section)
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[key] = manifest
    return manifest


def _decode(data: bytes, source: str, section: str | None) -> Manifest:
    if has_conflict_markers(data):
        raise ConflictError(
            f"{source} has unresolved merge conflicts",
            hint=f"resolve with `git eosvc checkout --ours PATH` / `--theirs PATH`, "
                 f"or edit {source}, then `git add {source}`")
    if not data.endswith(b"\n"):
        raise ManifestError(f"{source}: does not end with a newline" if data
                            else f"{source}: empty file (expected the line {HEADER.decode()!r})")
    lines = data[:-1].split(b"\n")
    if lines[0] != HEADER:
        raise ManifestError(f"{source}:1: expected {HEADER.decode()!r}, found "
                            f"{lines[0][:60].decode('utf-8', 'replace')!r}",
                            hint="this file was not written by git-eosvc, or by a newer version")
    entries: list[Entry] = []
    prev: bytes | None = None
    for lineno, line in enumerate(lines[1:], start=2):
        entry = parse_line(line, f"{source}:{lineno}", section)
        key = entry.path.encode("utf-8", "surrogateescape")
        if prev is not None and key <= prev:
            raise ManifestError(f"{source}:{lineno}: " + ("duplicate path" if key == prev
                                                            else "lines are not sorted by path"))
        prev = key
        entries.append(entry)
    _check_tree(entries, source)
    return Manifest(entries)


def split_line(line: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(sha256, size, path field) of a line that has the entry grammar, else None. The one
    reading of the line format: strict parsing, merging and listings all start here."""
    m = _LINE.fullmatch(line)
    return None if m is None or _too_big(m.group(2)) else (m.group(1), m.group(2), m.group(3))


def _too_big(digits: bytes) -> bool:
    return len(digits) > len(str(MAX_SIZE)) or int(digits) > MAX_SIZE


def parse_line(line: bytes, where: str, section: str | None = None) -> Entry:
    """One entry line, strictly (`where` is 'file:line' for messages)."""
    m = _LINE.fullmatch(line)
    if not m:
        if line.endswith(b"\r"):
            raise ManifestError(f"{where}: CRLF line ending (manifests use LF only)")
        raise ManifestError(f"{where}: malformed line (expected '<sha256> <size> <path>'): "
                            f"{line[:80].decode('utf-8', 'replace')!r}")
    if _too_big(m.group(2)):
        raise ManifestError(f"{where}: size {m.group(2)[:30].decode()}{'...' * (len(m.group(2)) > 30)} "
                            f"is larger than any file can be (the most is 2**63-1 bytes)")
    field = m.group(3)
    if field[:1] == b'"':
        try:
            path = unquote_path(field)
        except ValueError as exc:
            raise ManifestError(f"{where}: {exc}") from None
        canonical = quote_path(path) == field
    else:
        # a plain field is canonical exactly when it needs no quoting
        if field.endswith(b"\r"):
            raise ManifestError(f"{where}: CRLF line ending (manifests use LF only)")
        path = field.decode("utf-8", "surrogateescape")
        canonical = not _needs_quoting(field)
    problem = path_problem(path, section)
    if problem:
        raise ManifestError(f"{where}: unsafe path {path!r}: {problem}",
                            hint="the manifest may have been tampered with; it was not used")
    if not canonical:
        raise ManifestError(f"{where}: path is not in canonical form "
                            f"(quote only names that need it, as git does)")
    # the line pattern already checked the digest: skip Sha256's own validation
    return Entry(path, str.__new__(Sha256, m.group(1).decode("ascii")), int(m.group(2)))


def _check_tree(entries: list[Entry], source: str) -> None:
    """Every path can be written on every file system: none is both a file and a directory,
    no two differ only in case or Unicode form. Names the line that completes a clash."""
    found = clashes(e.path for e in entries)
    if found:
        line = {e.path: n for n, e in enumerate(entries, start=2)}
        c = min(found.values(), key=lambda c: max(line[c.path], line[c.other]))
        raise ManifestError(f"{source}:{max(line[c.path], line[c.other])}: {c}",
                            hint="rename one of them: a manifest must suit every file system")


def lists_exactly(data: bytes, current: Mapping[str, Entry]) -> bool:
    """Whether manifest bytes list exactly `current`: a loose, fast read for the common case
    (10,000 lines in a few ms). Anything unusual (a quoted name, a malformed line) answers
    False, and the caller takes the strict path."""
    lines = data.split(b"\n")
    if lines[0] != HEADER or lines[-1] != b"" or len(lines) - 2 != len(current):
        return False
    get = current.get
    seen: set[str] = set()
    for line in lines[1:-1]:
        fields = split_line(line)
        if fields is None or fields[2][:1] == b'"':
            return False
        oid, size, raw = fields
        path = raw.decode("utf-8", "surrogateescape")
        e = get(path)
        if e is None or e.oid != oid.decode("ascii") or str(e.size).encode() != size or path in seen:
            return False
        seen.add(path)
    return True


# ---------------------------------------------------------------- diff


@dataclass(frozen=True)
class Changes:
    """What turns `old` into `new`: each list sorted by path."""

    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    modified: tuple[tuple[Entry, Entry], ...]  # (old, new)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified)

    def renamed(self) -> tuple[tuple[Entry, Entry], ...]:
        """Removed/added pairs with the same bytes (a rename or move), matched by hash."""
        pool: dict[Sha256, list[Entry]] = {}
        for e in self.removed:
            pool.setdefault(e.oid, []).append(e)
        pairs = []
        for e in self.added:
            if pool.get(e.oid):
                pairs.append((pool[e.oid].pop(0), e))
        return tuple(pairs)


def diff(old: Mapping[str, Entry], new: Mapping[str, Entry]) -> Changes:
    added, removed, modified = [], [], []
    for path, e in new.items():
        o = old.get(path)
        if o is None:
            added.append(e)
        elif o.oid != e.oid or o.size != e.size:
            modified.append((o, e))
    for path, o in old.items():
        if path not in new:
            removed.append(o)
    key = lambda e: path_key(e.path)  # noqa: E731
    return Changes(tuple(sorted(added, key=key)), tuple(sorted(removed, key=key)),
                   tuple(sorted(modified, key=lambda p: path_key(p[1].path))))


def manifest_name(section_dir: str) -> str:
    """`data` -> `data.eosvc`; `model/checkpoints` -> `model/checkpoints.eosvc`."""
    return section_dir + SUFFIX

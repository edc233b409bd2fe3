"""Three-way merge of manifests, per path, and the conflict-marker form. Pure: no I/O.

A manifest is a set of independent lines (one per file), so a merge is a merge of
sets keyed by path, not of text: two branches that touched different files never
conflict, whatever lines sit next to each other. Only a path changed differently on
both sides conflicts (or two paths that could not both be on disk: a file and a
directory of one name, or names only case or Unicode form tells apart), and only that
path's lines get git-style markers:

    <<<<<<< ours
    <our line for data/x, or nothing if we deleted it>
    =======
    <their line for data/x, or nothing if they deleted it>
    >>>>>>> theirs

`parse_conflicted` reads that form back (and also git's own text-merge hunks, which
may cover several paths and may carry a `|||||||` base section), so resolution can
work from what is in the working tree, including a user's partial hand edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Literal, Mapping

from .errors import ManifestError
from .paths import Clash, clashes
from .manifest import (EMPTY, HEADER, SUFFIX, Entry, Manifest, decode, encode, encode_entry,
                       has_conflict_markers, parse_line, path_key)

Side = Literal["ours", "theirs"]
DEFAULT_MARKER_SIZE = 7

# A marker: a run of one of the four marker characters, then nothing or a space and a label.
_MARKER = re.compile(rb"(([<|=>])\2*)(?: (.*))?")

BOTH_MODIFIED = "both modified"
BOTH_ADDED = "both added"
DELETED_BY_US = "deleted by us"
DELETED_BY_THEM = "deleted by them"
FILE_DIRECTORY = "file/directory"
CASE_COLLISION = "case collision"  # two names one on a case-insensitive disk (data/A, data/a)


@dataclass(frozen=True)
class Conflict:
    """One path changed differently on both sides. `kind` uses git status's words."""

    path: str
    base: Entry | None
    ours: Entry | None
    theirs: Entry | None
    kind: str
    base_known: bool = True  # False: the base is itself conflicted (criss-cross) or absent

    def side(self, which: Side) -> Entry | None:
        return self.ours if which == "ours" else self.theirs


@dataclass(frozen=True)
class Style:
    """How markers are written: their length (git's %L) and the side labels."""

    marker_size: int = DEFAULT_MARKER_SIZE
    ours_label: str = "ours"
    theirs_label: str = "theirs"


@dataclass(frozen=True)
class MergeResult:
    """`clean`: every path that merged (conflicting paths excluded); `conflicts` sorted by path."""

    clean: Manifest
    conflicts: tuple[Conflict, ...] = ()
    style: Style = field(default_factory=Style)

    def __bool__(self) -> bool:  # truthy when there is something left to resolve
        return bool(self.conflicts)

    def taking(self, which: Side) -> Manifest:
        """The manifest you get by taking one side for every conflict."""
        entries = dict(self.clean)
        for c in self.conflicts:
            chosen = c.side(which)
            if chosen is not None:
                entries[c.path] = chosen
        return Manifest(entries.values())


def _kind(base: Entry | None, ours: Entry | None, theirs: Entry | None, base_known: bool) -> str:
    if ours is None:
        return DELETED_BY_US
    if theirs is None:
        return DELETED_BY_THEM
    if base is None and base_known:
        return BOTH_ADDED
    return BOTH_MODIFIED


def _pick(base: Entry | None, ours: Entry | None, theirs: Entry | None,
          base_known: bool) -> tuple[bool, Entry | None]:
    """(merged?, result) for one path: the whole 3-way rule."""
    if ours == theirs:  # identical change, both deleted, add/add of the same bytes
        return True, ours
    if base_known:
        if ours == base:
            return True, theirs
        if theirs == base:
            return True, ours
    return False, None


_Sides = tuple[Entry | None, Entry | None, Entry | None, bool]  # base, ours, theirs, base known


def merge3(base: Mapping[str, Entry], ours: Mapping[str, Entry], theirs: Mapping[str, Entry],
           unknown_base: Iterable[str] = ()) -> MergeResult:
    """Merge per path. `unknown_base`: paths whose base is not known (a conflicted virtual base)."""
    unknown = frozenset(unknown_base)
    merged: dict[str, Entry] = {}
    conflicts: dict[str, Conflict] = {}
    sides = {path: (base.get(path), ours.get(path), theirs.get(path), path not in unknown)
             for path in set(base) | set(ours) | set(theirs)}
    for path, four in sides.items():
        _merge_path(path, four, merged, conflicts)
    _refuse(_separate(merged, conflicts, sides), "cannot merge")
    return _result(merged, conflicts)


def _merge_path(path: str, sides: _Sides, clean: dict[str, Entry], conflicts: dict[str, Conflict]) -> None:
    """File one path under `clean` (unless merged away) or under `conflicts`."""
    ok, result = _pick(*sides)
    if not ok:
        conflicts[path] = Conflict(path, *sides[:3], _kind(*sides), sides[3])
    elif result is not None:
        clean[path] = result


def _separate(clean: dict[str, Entry], conflicts: dict[str, Conflict],
              sides: Mapping[str, _Sides]) -> Clash | None:
    """Per-path merging can still pair `data/a` (a file) with `data/a/b`, or `data/A` with
    `data/a` (one file on macOS and Windows). Turn such clean paths that have `sides` into
    conflicts until taking either side for every conflict gives paths that can all be on
    disk. Terminates: conflicts only grow, at worst to every path (each side alone is
    valid). Returns a clash that no widening can undo (invalid input), else None."""
    while True:
        found: dict[str, Clash] = {}
        for side in ("ours", "theirs"):
            found.update(clashes([*clean, *(p for p, c in conflicts.items() if c.side(side) is not None)]))
        grown = [(p, c) for p, c in found.items() if p not in conflicts and p in sides]
        for path, clash in grown:
            kind = CASE_COLLISION if clash.by_case else FILE_DIRECTORY
            conflicts[path] = Conflict(path, *sides[path][:3], kind, sides[path][3])
            clean.pop(path, None)
        if not grown:
            return next(iter(found.values()), None)


def _refuse(clash: Clash | None, where: str,
            hint: str = "keep one of the two paths (edit the file by hand)") -> None:
    if clash is not None:
        raise ManifestError(f"{where}: {clash}", hint=hint)


def _result(clean: Mapping[str, Entry], conflicts: Mapping[str, Conflict], style: Style | None = None) -> MergeResult:
    ordered = tuple(sorted(conflicts.values(), key=lambda c: path_key(c.path)))
    return MergeResult(Manifest(clean.values()), ordered, style or Style())


# ---------------------------------------------------------------- marker form


def render(result: MergeResult, style: Style | None = None) -> bytes:
    """The canonical manifest if nothing conflicts, else the same lines with one marker
    hunk per conflicting path, each at that path's sorted position."""
    if not result.conflicts:
        return encode(result.clean)
    style = style or result.style
    if style.marker_size < 1:
        raise ManifestError(f"conflict marker size must be at least 1, not {style.marker_size}")
    n = style.marker_size
    items: list[tuple[bytes, list[bytes]]] = [(path_key(e.path), [encode_entry(e)])
                                              for e in result.clean.values()]
    for c in result.conflicts:
        hunk = [b"<" * n + b" " + style.ours_label.encode()]
        hunk += [encode_entry(c.ours)] if c.ours is not None else []
        hunk.append(b"=" * n)
        hunk += [encode_entry(c.theirs)] if c.theirs is not None else []
        hunk.append(b">" * n + b" " + style.theirs_label.encode())
        items.append((path_key(c.path), hunk))
    items.sort(key=lambda item: item[0])
    lines = [HEADER] + [line for _, block in items for line in block]
    return b"\n".join(lines) + b"\n"


@dataclass
class _Hunk:
    start: int
    ours: dict[str, Entry] = field(default_factory=dict)
    base: dict[str, Entry] | None = None
    theirs: dict[str, Entry] = field(default_factory=dict)


def parse_conflicted(data: bytes, source: str = "<manifest>", section: str | None = None) -> MergeResult:
    """Read a manifest that may hold conflict markers back into clean entries and conflicts.

    Accepts the hunks `render` writes and git's own text-merge hunks (several paths, an
    optional `|||||||` base section). Inside a hunk, each path is merged again: a path
    equal on both sides, or (with a base section) changed on one side only, is clean.
    Everything else is as strict as `manifest.decode`, except line order.
    """
    if not data.endswith(b"\n"):
        raise ManifestError(f"{source}: does not end with a newline" if data else f"{source}: empty file")
    lines = data[:-1].split(b"\n")
    if lines[0] != HEADER:
        raise ManifestError(f"{source}:1: expected {HEADER.decode()!r}, found "
                            f"{lines[0][:60].decode('utf-8', 'replace')!r}")
    clean: dict[str, Entry] = {}
    line_of: dict[str, int] = {}
    hunks: list[_Hunk] = []
    style: Style | None = None
    hunk: _Hunk | None = None
    target: dict[str, Entry] = clean
    state = "out"  # out, ours, base, theirs
    for lineno, line in enumerate(lines[1:], start=2):
        where = f"{source}:{lineno}"
        m = _MARKER.fullmatch(line) if line[:1] in (b"<", b"|", b"=", b">") else None
        if m is None:
            entry = parse_line(line, where, section)
            if entry.path in target:
                raise ManifestError(f"{where}: duplicate path {entry.path!r}")
            target[entry.path] = entry
            line_of.setdefault(entry.path, lineno)
            continue
        run, char, label = m.group(1), m.group(2), (m.group(3) or b"").decode("utf-8", "replace")
        if char == b"<" and state == "out":
            hunk, state = _Hunk(lineno), "ours"
            target = hunk.ours
            if style is None:
                style = Style(len(run), label or "ours", "theirs")
        elif char == b"|" and state == "ours" and hunk is not None:
            hunk.base, state = {}, "base"
            target = hunk.base
        elif char == b"=" and state in ("ours", "base") and hunk is not None:
            state, target = "theirs", hunk.theirs
        elif char == b">" and state == "theirs" and hunk is not None:
            hunks.append(hunk)
            if style is not None and len(hunks) == 1:
                style = replace(style, theirs_label=label or "theirs")
            hunk, state, target = None, "out", clean
        else:
            raise ManifestError(f"{where}: unexpected conflict marker {line[:20].decode('utf-8', 'replace')!r}",
                                hint="markers must come as <<<<<<< … ======= … >>>>>>> (edit the file by hand)")
    if hunk is not None:
        raise ManifestError(f"{source}:{hunk.start}: conflict hunk is never closed with '>>>>>>>'")

    conflicts: dict[str, Conflict] = {}
    sides: dict[str, _Sides] = {}
    for h in hunks:
        paths = set(h.ours) | set(h.theirs) | set(h.base or ())
        for path in paths:
            if path in clean or path in sides:
                raise ManifestError(f"{source}:{h.start}: {path!r} appears in more than one place",
                                    hint="keep one line per path (edit the file by hand)")
        for path in paths:
            b = h.base.get(path) if h.base is not None else None
            sides[path] = (b, h.ours.get(path), h.theirs.get(path), h.base is not None)
            _merge_path(path, sides[path], clean, conflicts)
    clash = _separate(clean, conflicts, sides)  # lines outside hunks that clash cannot be widened
    if clash is not None:
        _refuse(clash, f"{source}:{max(line_of[clash.path], line_of[clash.other])}")
    return _result(clean, conflicts, style)


def resolve(result: MergeResult, choose: Mapping[str, Side]) -> MergeResult:
    """Take the chosen side for the given conflicting paths; the others stay conflicted."""
    entries = dict(result.clean)
    left: list[Conflict] = []
    for c in result.conflicts:
        which = choose.get(c.path)
        if which is None:
            left.append(c)
            continue
        chosen = c.side(which)
        if chosen is not None:
            entries[c.path] = chosen
    _refuse(next(iter(clashes(entries).values()), None), "the sides taken cannot both be kept",
            hint="take the same side for both paths")
    return MergeResult(Manifest(entries.values()), tuple(left), result.style)


def merge_bytes(base: bytes | None, ours: bytes | None, theirs: bytes | None,
                name: str = "<manifest>", section: str | None = None) -> MergeResult:
    """Merge three manifest files as git hands them over (the merge driver, index stages).

    None or an empty base means no common ancestor (git passes an empty file for add/add);
    None for a side means that side deleted the manifest. A base with markers is the
    virtual ancestor git builds in a criss-cross merge: its conflicted paths have no known
    base, so they merge only if both sides agree. Sides with markers are refused.
    """
    for label, data in (("ours", ours), ("theirs", theirs)):
        if data is not None and has_conflict_markers(data):
            raise ManifestError(f"{name} ({label}) already contains conflict markers",
                                hint=f"resolve {name} on that side first, then merge again")
    base_map, unknown = read_base(base, name, section)
    o = EMPTY if ours is None else decode(ours, f"{name} (ours)", section)
    t = EMPTY if theirs is None else decode(theirs, f"{name} (theirs)", section)
    return merge3(base_map, o, t, unknown)


def read_base(data: bytes | None, name: str = "<manifest>",
              section: str | None = None) -> tuple[Manifest, frozenset[str]]:
    """A base version as (entries, paths whose base is unknown). Empty or None: no common
    ancestor. With markers: a virtual ancestor, its conflicted paths have no known base."""
    if not data:
        return EMPTY, frozenset()
    if has_conflict_markers(data):
        virtual = parse_conflicted(data, f"{name} (base)", section)
        return virtual.clean, frozenset(c.path for c in virtual.conflicts)
    return decode(data, f"{name} (base)", section), frozenset()


def section_of_manifest(name: str) -> str | None:
    """`data.eosvc` -> `data`; `model/checkpoints.eosvc` -> `model/checkpoints`."""
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) and len(name) > len(SUFFIX) else None


def with_base(result: MergeResult, base: Mapping[str, Entry], unknown: Iterable[str] = ()) -> MergeResult:
    """Give conflicts read without a base (marker hunks carry none) the base they had, and
    re-apply the 3-way rule: a path changed on one side only is then clean, unless it
    clashes with another path (file/directory, case collision) and stays in conflict."""
    still_unknown = frozenset(unknown)
    entries = dict(result.clean)
    conflicts: dict[str, Conflict] = {}
    sides: dict[str, _Sides] = {}
    for c in result.conflicts:
        if c.base_known or c.path in still_unknown:
            conflicts[c.path] = c
            continue
        sides[c.path] = (base.get(c.path), c.ours, c.theirs, True)
        _merge_path(c.path, sides[c.path], entries, conflicts)
    _refuse(_separate(entries, conflicts, sides), "cannot merge")
    return _result(entries, conflicts, result.style)

"""Artifact diffs for people and bots: text, JSON, --stat; the textconv listing.

Pure functions over manifests: the CLI reads the manifests and prints what these return.
The JSON form is a stable interface, documented in docs/diff-json.md; the markdown form
(a pull-request comment under GitHub's size limit) is review_md.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Mapping

from .manifest import HEADER, Changes, Entry, diff, path_key, quote_path, split_line, unquote_path
from .ui import human_size

JSON_SCHEMA = "git-eosvc/diff"
JSON_VERSION = 1
KINDS = ("added", "modified", "renamed", "removed")  # the order every format lists them in
PATH_WIDTH = 40  # the listing's path column; fixed so one line never depends on another
SIZE_WIDTH = 10  # "1023.9 KiB"



def display_path(path: str) -> str:
    """A path on one line: the manifest's git-style quoting (UTF-8 stays readable)."""
    return quote_path(path).decode("utf-8")


# ---------------------------------------------------------------- textconv listing


def listing(data: bytes) -> bytes:
    """A manifest as `path  size  short-hash` lines, for `git diff` / `git log -p` / `git show`.

    Every output line depends on its input line only (fixed column widths, no totals), so
    a diff of two listings shows exactly the entries that changed. Never fails: git aborts
    the whole diff when a textconv fails, so marker lines and anything unreadable (a
    mid-merge manifest, a damaged file) pass through as they are.
    """
    out: list[bytes] = []
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        if i == 0 and line == HEADER:
            continue
        fields = split_line(line)
        if fields is None:
            out.append(line)
            continue
        try:
            path = display_path(unquote_path(fields[2]))
        except ValueError:
            out.append(line)
            continue
        size = human_size(int(fields[1]))
        out.append(f"{path:<{PATH_WIDTH}}  {size:>{SIZE_WIDTH}}  {fields[0][:10].decode()}".encode())
    return b"".join(line + b"\n" for line in out)


# ---------------------------------------------------------------- the diff model


@dataclass(frozen=True)
class SectionDiff:
    """What changed in one section; `renamed` pairs are taken out of added/removed."""

    path: str      # data, model/checkpoints, ...
    manifest: str  # data.eosvc, ...
    access: str    # public / private
    added: tuple[Entry, ...]
    removed: tuple[Entry, ...]
    modified: tuple[tuple[Entry, Entry], ...]  # (old, new)
    renamed: tuple[tuple[Entry, Entry], ...]   # (old, new): same bytes, new path
    size_before: int
    size_after: int

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified or self.renamed)

    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "modified": len(self.modified),
                "renamed": len(self.renamed), "removed": len(self.removed)}

    def bytes(self) -> dict[str, int]:
        return {
            "added": sum(e.size for e in self.added),
            "removed": sum(e.size for e in self.removed),
            "modified_before": sum(o.size for o, _ in self.modified),
            "modified_after": sum(n.size for _, n in self.modified),
            "renamed": sum(n.size for _, n in self.renamed),
            "before": self.size_before,
            "after": self.size_after,
            "net": self.size_after - self.size_before,
        }


@dataclass(frozen=True)
class Report:
    """A whole diff: the two sides as the user named them, and every section that changed."""

    old_label: str
    new_label: str
    sections: tuple[SectionDiff, ...]
    old_commit: str | None = None
    new_commit: str | None = None  # None: the working tree

    def __bool__(self) -> bool:
        return any(self.sections)

    def counts(self) -> dict[str, int]:
        return _sum(s.counts() for s in self.sections)

    def bytes(self) -> dict[str, int]:
        return _sum(s.bytes() for s in self.sections)


def _sum(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def section_diff(path: str, manifest: str, access: str,
                 old: Mapping[str, Entry], new: Mapping[str, Entry]) -> SectionDiff:
    ch: Changes = diff(old, new)
    renamed = ch.renamed()
    gone = {o.path for o, _ in renamed}
    came = {n.path for _, n in renamed}
    return SectionDiff(
        path, manifest, access,
        added=tuple(e for e in ch.added if e.path not in came),
        removed=tuple(e for e in ch.removed if e.path not in gone),
        modified=ch.modified,
        renamed=tuple(sorted(renamed, key=lambda p: path_key(p[1].path))),
        size_before=sum(e.size for e in old.values()),
        size_after=sum(e.size for e in new.values()),
    )


# ---------------------------------------------------------------- words


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary(counts: Mapping[str, int], sizes: Mapping[str, int]) -> str:
    """`3 files changed: 1 added, 2 modified; 2.0 MiB → 3.5 MiB (+1.5 MiB)`: the counts, then
    the total size before → after (computed here, never stored in a manifest)."""
    total = sum(counts[k] for k in KINDS)
    parts = ", ".join(f"{counts[k]} {k}" for k in KINDS if counts[k])
    return (f"{_plural(total, 'file')} changed: {parts}; "
            f"{human_size(sizes['before'])} → {human_size(sizes['after'])} ({signed_size(sizes['net'])})")


def signed_size(n: int) -> str:
    return ("+" if n >= 0 else "-") + human_size(abs(n))


def _rows(s: SectionDiff) -> list[tuple[str, str, str]]:
    """(kind, path column, size column) in the order every format uses; a modified row also
    shows both short hashes (the sizes alone may not differ)."""
    rows = [("added", display_path(e.path), human_size(e.size)) for e in s.added]
    rows += [("modified", display_path(n.path),
              f"{human_size(o.size)} → {human_size(n.size)}  ({o.oid.short} → {n.oid.short})")
             for o, n in s.modified]
    rows += [("renamed", f"{display_path(o.path)} → {display_path(n.path)}", human_size(n.size))
             for o, n in s.renamed]
    rows += [("removed", display_path(e.path), human_size(e.size)) for e in s.removed]
    return rows


# ---------------------------------------------------------------- text


def render_text(report: Report, stat: bool = False) -> str:
    """Per section: one line per changed artifact (or, with --stat, one summary line)."""
    changed = [s for s in report.sections if s]
    if not changed:
        return ""
    out: list[str] = []
    if stat:
        width = max(len(s.path) + 1 for s in changed)
        for s in changed:
            out.append(f" {s.path + '/':<{width}}  {summary(s.counts(), s.bytes())}")
        out.append(f" total: {summary(report.counts(), report.bytes())}")
        return "\n".join(out) + "\n"
    for s in changed:
        rows = _rows(s)
        width = max(len(r[1]) for r in rows)
        out.append(f"{s.path}/ ({s.access}): {summary(s.counts(), s.bytes())}")
        out += [f"  {kind:<8}  {path:<{width}}  {size}".rstrip() for kind, path, size in rows]
    if len(changed) > 1:
        out.append(f"total: {summary(report.counts(), report.bytes())}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- json


def json_path(path: str) -> str:
    """The path as text; a name that is not valid UTF-8 is given in the manifest's quoted
    form (unambiguous: a section path never starts with `"`)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return display_path(path)


def entry_json(e: Entry | None) -> dict[str, object] | None:
    return None if e is None else {"path": json_path(e.path), "sha256": str(e.oid), "size": e.size}


def _entry(kind: str, old: Entry | None, new: Entry | None) -> dict[str, object]:
    shown = new if new is not None else old
    assert shown is not None
    return {"change": kind, "path": json_path(shown.path), "old": entry_json(old), "new": entry_json(new)}


def _totals(counts: Mapping[str, int], sizes: Mapping[str, int]) -> dict[str, object]:
    files = dict(counts)
    files["changed"] = sum(counts[k] for k in KINDS)
    return {"files": files, "bytes": dict(sizes)}


def to_json(report: Report, stat: bool = False) -> dict[str, object]:
    """The documented JSON object (docs/diff-json.md); `stat` drops the per-entry lists."""
    sections: list[dict[str, object]] = []
    for s in report.sections:
        if not s:
            continue
        item: dict[str, object] = {"section": s.path, "manifest": s.manifest, "access": s.access,
                                   "totals": _totals(s.counts(), s.bytes())}
        if not stat:
            entries = [_entry("added", None, e) for e in s.added]
            entries += [_entry("modified", o, n) for o, n in s.modified]
            entries += [_entry("renamed", o, n) for o, n in s.renamed]
            entries += [_entry("removed", e, None) for e in s.removed]
            item["entries"] = entries
        sections.append(item)
    return {
        "schema": JSON_SCHEMA,
        "version": JSON_VERSION,
        "old": {"rev": report.old_label, "commit": report.old_commit},
        "new": {"rev": report.new_label, "commit": report.new_commit},
        "sections": sections,
        "totals": _totals(report.counts() or dict.fromkeys(KINDS, 0), report.bytes() or _zero_bytes()),
    }


def _zero_bytes() -> dict[str, int]:
    return dict.fromkeys(("added", "removed", "modified_before", "modified_after", "renamed",
                          "before", "after", "net"), 0)


def dumps(doc: Mapping[str, object]) -> str:
    """The encoding of every JSON output (diff, status, view, verify): sorted keys,
    two-space indent, ASCII only, a final newline: byte-stable for the same content."""
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def render_json(report: Report, stat: bool = False) -> str:
    return dumps(to_json(report, stat))


# markdown (review_md.render_markdown) takes a row cap as well, so the CLI calls it by name
RENDERERS = {"text": render_text, "json": render_json}

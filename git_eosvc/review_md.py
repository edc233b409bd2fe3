"""The pull-request comment: `git eosvc diff --format markdown`.

Pure: a Report in, a string out. A GitHub comment holds at most 65,536 characters, so the
comment stays under BUDGET whatever the change's size: the two commits, a summary (counts
and bytes per section), then the largest changes, then one line for the files that did
not fit. The full list is what the text and JSON formats are for.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import UsageError
from .manifest import Entry, path_key
from .review import KINDS, Report, SectionDiff, display_path, signed_size
from .ui import human_size

BUDGET = 65_000  # UTF-8 bytes, so the limit holds however the host counts characters
DEFAULT_MAX_ROWS = 100  # enough to review; the summary covers the rest
PATH_LIMIT = 160  # characters of a path shown; a longer one loses its middle
LABEL_LIMIT = 80  # characters of a revision as the user typed it
SHORT_COMMIT = 7  # git's shortest abbreviation, which GitHub also links
SECTION_SHARE = 4  # the section table may use at most BUDGET / SECTION_SHARE
MIN_ROW = len("| added | `x` | 0 B |\n")  # the shortest row there can be


@dataclass(frozen=True)
class Change:
    """One changed artifact: `old` is None for added, `new` None for removed."""

    kind: str
    old: Entry | None
    new: Entry | None

    @property
    def entry(self) -> Entry:
        shown = self.new if self.new is not None else self.old
        assert shown is not None
        return shown

    @property
    def changed_bytes(self) -> int:
        """What the change adds or drops: a modified file counts its larger side (a file
        cut from 1 GiB to 1 KiB is a big change); a rename moves no bytes."""
        if self.kind == "renamed":
            return 0
        return max(e.size for e in (self.old, self.new) if e is not None)

    def sort_key(self) -> tuple[int, int, int, bytes]:
        """Largest first; ties by size, then kind, then path, so the order is stable."""
        return (-self.changed_bytes, -self.entry.size, KINDS.index(self.kind), path_key(self.entry.path))


def changes(s: SectionDiff) -> list[Change]:
    """Every change of a section, in KINDS order."""
    out = [Change("added", None, e) for e in s.added]
    out += [Change("modified", o, n) for o, n in s.modified]
    out += [Change("renamed", o, n) for o, n in s.renamed]
    out += [Change("removed", e, None) for e in s.removed]
    return out


def changed_bytes(items: Iterable[Change]) -> int:
    return sum(c.changed_bytes for c in items)


# ---------------------------------------------------------------- escaping


def md_code(text: str) -> str:
    """An inline code span that survives a GFM table: `|` escaped, backticks fenced."""
    text = text.replace("|", "\\|")
    longest = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def clip(text: str, limit: int) -> str:
    """At most `limit` characters: a longer text keeps its start and its end (the section
    and the file name) around a `…`."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 2
    return text[:limit - 1 - tail] + "…" + text[len(text) - tail:]


def one_line(text: str) -> str:
    """A user-typed revision made printable: control characters and undecodable bytes
    (surrogate escapes) become `\\xNN`, so they can neither break a line nor the encoder."""
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= ord(ch) <= 0xDCFF:  # a byte of argv that was not UTF-8
            out.append(f"\\x{ord(ch) - 0xDC00:02x}")
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
    return "".join(out)


def md_path(path: str) -> str:
    return md_code(clip(display_path(path), PATH_LIMIT))


def _size(lines: Sequence[str]) -> int:
    """Bytes the lines take in the output (each ends with a newline)."""
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


# ---------------------------------------------------------------- the two sides and the summary


def side(label: str, commit: str | None) -> str:
    """`main` (abc1234); just the short id if the user typed a commit id; no id for the
    working tree (or an unborn HEAD)."""
    if commit is None:
        return md_code(clip(one_line(label), LABEL_LIMIT))
    short = commit[:SHORT_COMMIT]
    # plain text: GitHub links a commit id only outside code (anything but hex is escaped)
    short = short if re.fullmatch(r"[0-9a-f]+", short) else md_code(one_line(short))
    if re.fullmatch(r"[0-9a-f]{4,40}", label.lower()) and commit.startswith(label.lower()):
        return short
    return f"{md_code(clip(one_line(label), LABEL_LIMIT))} ({short})"


def title(report: Report) -> str:
    return f"### Artifact changes: {side(report.old_label, report.old_commit)} → " \
           f"{side(report.new_label, report.new_commit)}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _kind_cell(items: Sequence[Change]) -> str:
    """`300 (1.2 MiB → 1.5 MiB)` for modified, `900 (3.4 MiB)` for the others, `0`."""
    if not items:
        return "0"
    if items[0].kind == "modified":
        before = sum(c.old.size for c in items if c.old is not None)
        after = sum(c.new.size for c in items if c.new is not None)
        return f"{len(items):,} ({human_size(before)} → {human_size(after)})"
    return f"{len(items):,} ({human_size(sum(c.entry.size for c in items))})"


def _section_row(name: str, items: Sequence[Change], before: int, after: int) -> str:
    cells = [_kind_cell([c for c in items if c.kind == k]) for k in KINDS]
    return (f"| {name} | " + " | ".join(cells) + f" | {human_size(changed_bytes(items))} "
            f"| {human_size(before)} → {human_size(after)} ({signed_size(after - before)}) |")


def _head(report: Report, changed: Sequence[SectionDiff], every: Sequence[Change]) -> list[str]:
    """The title, one line of totals, and a table of counts and bytes per section."""
    counts = report.counts()
    sizes = report.bytes()
    parts = ", ".join(f"{counts[k]:,} {k}" for k in KINDS if counts[k])
    out = [title(report), "",
           (f"**{_plural(len(every), 'file')} changed** ({parts}): {human_size(changed_bytes(every))} changed; "
            f"total size {human_size(sizes['before'])} → {human_size(sizes['after'])} "
            f"({signed_size(sizes['net'])})"), "",
           "| section | added | modified | renamed | removed | changed | total size |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    # At most four sections exist today; the cap only keeps the budget a promise.
    for i, s in enumerate(changed):
        row = _section_row(f"{md_code(clip(s.path + '/', PATH_LIMIT))} ({s.access})", changes(s),
                           s.size_before, s.size_after)
        if _size(out) + _size([row]) > BUDGET // SECTION_SHARE:
            out.append(f"| … {_plural(len(changed) - i, 'more section')} | | | | | | |")
            break
        out.append(row)
    if len(changed) > 1:
        out.append(_section_row("**total**", every, sizes["before"], sizes["after"]))
    return out


# ---------------------------------------------------------------- the rows


def _row(c: Change) -> str:
    if c.kind == "renamed":
        assert c.old is not None and c.new is not None
        return f"| renamed | {md_path(c.old.path)} → {md_path(c.new.path)} | {human_size(c.new.size)} |"
    if c.kind == "modified":
        assert c.old is not None and c.new is not None
        return f"| modified | {md_path(c.new.path)} | {human_size(c.old.size)} → {human_size(c.new.size)} |"
    return f"| {c.kind} | {md_path(c.entry.path)} | {human_size(c.entry.size)} |"


def _more(n: int, size: int) -> list[str]:
    """The line for the files that are not listed (none when all are)."""
    if not n:
        return []
    # No word on --max-rows: the size limit, not the cap, may be what stopped the list.
    return ["", (f"… and **{_plural(n, 'more file')}** ({human_size(size)} changed), not listed here; "
                 "`git eosvc diff --format text` or `--format json` lists every one.")]


def render_markdown(report: Report, stat: bool = False, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """A pull-request comment under BUDGET bytes: summary, the `max_rows` largest changes
    (fewer if the budget runs out), then how many more there are and their size."""
    if max_rows < 0:
        raise UsageError(f"--max-rows must be 0 or more, not {max_rows}")
    changed = [s for s in report.sections if s]
    every = [c for s in changed for c in changes(s)]
    if not changed:
        return f"{title(report)}\n\nNo artifact changes.\n"
    out = _head(report, changed, every)
    if stat:
        return "\n".join(out) + "\n"
    table = ["", "#### Changes, largest first", "", "| change | path | size |", "| --- | --- | ---: |"]
    used = _size(out) + _size(table)
    rest = changed_bytes(every)
    rows: list[str] = []
    # No row is shorter than MIN_ROW, so only that many candidates are ever needed (a
    # partial sort: a million-file change costs no full sort).
    candidates = heapq.nsmallest(min(max_rows, BUDGET // MIN_ROW), every, key=Change.sort_key)
    # Greedy: a row goes in only if the line for everything after it still fits too.
    for c in candidates:
        row = _row(c)
        left = len(every) - len(rows) - 1
        if used + _size([row]) + _size(_more(left, rest - c.changed_bytes)) > BUDGET:
            break
        rows.append(row)
        used += _size([row])
        rest -= c.changed_bytes
    if rows:
        out += table + rows
    out += _more(len(every) - len(rows), rest)
    return "\n".join(out) + "\n"

"""Conflicted manifests: find their unresolved entries, and resolve them by taking a side.

Where "ours" and "theirs" come from: the conflict markers in the working manifest first,
the index stages second.

- Markers are what the user sees and edits. Reading them keeps any hunk the user already
  resolved by hand, still works after a `git add` of a half-resolved file (which wipes
  the index stages), and also reads git's own text-merge hunks (a clone whose merge
  driver was not installed).
- Index stages (`:1:`, `:2:`, `:3:`) cover the cases with no markers in the file: the
  driver could not run or refused its input, or git saw a tree-level conflict (one side
  deleted the manifest). They are re-merged with the same 3-way rule.

This module reads git (Repo) and writes the manifest; materialising the resolved
sections is the caller's job (`sync.checkout`), so the engine can call `conflict_state`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .errors import ManifestError, UsageError
from .manifest import encode, has_conflict_markers
from .merge import (Conflict, MergeResult, Side, merge_bytes, parse_conflicted, read_base, render,
                    resolve, with_base)

if TYPE_CHECKING:
    from .access import Section
    from .repo import Repo
    from .sync import Workspace

def conflict_state(repo: "Repo", manifest: str, section: str) -> MergeResult | None:
    """The section's manifest as clean entries and conflicts; None when it is not conflicted."""
    try:
        data: bytes | None = (repo.workdir / manifest).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        data = None
    stages = index_stages(repo, manifest)
    if data is not None and has_conflict_markers(data):
        parsed = parse_conflicted(data, manifest, section)
        if stages is None:
            return parsed
        # Hunks carry no base; the index's stage 1 still has it (kinds, one-sided changes).
        base, unknown = read_base(stages[0], manifest, section)
        return with_base(parsed, base, unknown)
    if stages is None:
        return None
    return merge_bytes(*stages, name=manifest, section=section)


def index_stages(repo: "Repo", path: str) -> tuple[bytes | None, bytes | None, bytes | None] | None:
    """(base, ours, theirs) blobs of an unmerged index entry; None if the path is merged."""
    index = repo.git.index
    index.read(True)  # the index changes under us (git add, git merge) within one process
    conflicts = index.conflicts
    if conflicts is None:
        return None
    try:
        stages = conflicts[path]
    except KeyError:
        return None
    blobs = [None if e is None else bytes(repo.git[e.id].read_raw()) for e in stages]
    return blobs[0], blobs[1], blobs[2]


@dataclass
class Outcome:
    """What `resolve_paths` did, per manifest."""

    resolved: list[tuple[str, Conflict]] = field(default_factory=list)  # (manifest, conflict)
    finished: list["Section"] = field(default_factory=list)  # now canonical and staged
    remaining: dict[str, tuple[Conflict, ...]] = field(default_factory=dict)
    not_conflicted: list[str] = field(default_factory=list)  # manifests named that had no conflict


def resolve_paths(ws: "Workspace", paths: Sequence[str], side: Side) -> Outcome:
    """Take `side` for every conflicted entry at or under each path (an entry, a directory,
    a section or its manifest). All-or-nothing: everything is checked before anything is
    written. A manifest left without conflicts is written canonically and `git add`ed."""
    if not paths:
        raise UsageError(f"name what to resolve, e.g. `git eosvc checkout --{side} data/file.csv` "
                         f"or `git eosvc checkout --{side} data.eosvc`")
    wanted: dict[str, tuple["Section", list[str] | None]] = {}
    for raw in paths:
        section, sub = _target(ws, raw)
        if section.manifest not in wanted:
            wanted[section.manifest] = (section, None if sub is None else [sub])
        else:
            prev = wanted[section.manifest][1]
            if prev is not None:  # None already means "every conflict in the section"
                wanted[section.manifest] = (section, None if sub is None else prev + [sub])

    outcome = Outcome()
    writes: list[tuple["Section", bytes, bool]] = []  # (section, bytes, finished)
    for manifest, (section, subs) in wanted.items():
        state = conflict_state(ws.repo, manifest, section.path)
        if state is None:
            if subs is not None:
                raise UsageError(f"{subs[0]} is not in conflict: {manifest} has no unresolved entries")
            outcome.not_conflicted.append(manifest)
            continue
        chosen = [c for c in state.conflicts if subs is None or any(_under(c.path, s) for s in subs)]
        for s in subs or ():
            if not any(_under(c.path, s) for c in state.conflicts):
                listed = ", ".join(c.path for c in state.conflicts[:5]) or "none"
                raise UsageError(f"{s} is not a conflicted entry of {manifest}",
                                 hint=f"conflicted entries: {listed}")
        after = resolve(state, {c.path: side for c in chosen})
        outcome.resolved += [(manifest, c) for c in chosen]
        if after.conflicts:
            outcome.remaining[manifest] = after.conflicts
            writes.append((section, render(after), False))
            continue
        try:
            data = encode(after.clean)
        except ManifestError as exc:  # e.g. a file on one side, a directory on the other
            raise ManifestError(f"{manifest}: taking {side} leaves an invalid manifest: {exc.message}",
                                hint=f"take the same side for the related entries, e.g. "
                                     f"`git eosvc checkout --{side} {manifest}`") from None
        writes.append((section, data, True))

    for section, data, finished in writes:
        _write_atomic(ws.workdir / section.manifest, data)
        if finished:
            ws.repo.run("add", "--", section.manifest)
            outcome.finished.append(section)
    return outcome


def _target(ws: "Workspace", raw: str) -> tuple["Section", str | None]:
    """(section, entry or directory inside it; None for the whole section)."""
    rel = ws.relpath(raw)
    for s in ws.access.sections:
        if rel == s.manifest:
            return s, None
    section = ws.access.section_of(rel)
    if section is None:
        allowed = ", ".join(f"{s.manifest}, {s.path}/…" for s in ws.access.sections)
        raise UsageError(f"'{raw}' is neither a manifest nor a path inside a section",
                         hint=f"allowed: {allowed}")
    return section, None if rel == section.path else rel


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)

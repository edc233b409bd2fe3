"""Resolve conflicted manifests by taking a side (`git eosvc checkout --ours|--theirs PATH`).

Reads the conflict state (conflicts.py: markers first, index stages second), writes the
manifest, and stages it once no conflict is left; materialising is the caller's next step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..access import Section
from ..atomic import write_atomic
from ..conflicts import conflict_state
from ..errors import ManifestError, UsageError
from ..manifest import encode
from ..merge import Conflict, Side, render, resolve
from ..paths import under
from .workspace import Workspace


@dataclass
class Outcome:
    """What `resolve_paths` did, per manifest."""

    resolved: list[tuple[str, Conflict]] = field(default_factory=list)  # (manifest, conflict)
    finished: list[Section] = field(default_factory=list)  # now canonical and staged
    remaining: dict[str, tuple[Conflict, ...]] = field(default_factory=dict)
    not_conflicted: list[str] = field(default_factory=list)  # manifests named that had no conflict


def resolve_paths(ws: Workspace, paths: Sequence[str], side: Side) -> Outcome:
    """Take `side` for every conflicted entry at or under each path (an entry, a directory,
    a section or its manifest). All-or-nothing: everything is checked before anything is
    written. A manifest left without conflicts is written canonically and `git add`ed."""
    if not paths:
        raise UsageError(f"name what to resolve, e.g. `git eosvc checkout --{side} data/file.csv` "
                         f"or `git eosvc checkout --{side} data.eosvc`")
    wanted: dict[str, tuple[Section, list[str] | None]] = {}
    for raw in paths:
        section, sub = _target(ws, raw)
        if section.manifest not in wanted:
            wanted[section.manifest] = (section, None if sub is None else [sub])
        else:
            prev = wanted[section.manifest][1]
            if prev is not None:  # None already means "every conflict in the section"
                wanted[section.manifest] = (section, None if sub is None else prev + [sub])

    outcome = Outcome()
    writes: list[tuple[Section, bytes, bool]] = []  # (section, bytes, finished)
    for manifest, (section, subs) in wanted.items():
        state = conflict_state(ws.repo, manifest, section.path)
        if state is None:
            if subs is not None:
                raise UsageError(f"{subs[0]} is not in conflict: {manifest} has no unresolved entries")
            outcome.not_conflicted.append(manifest)
            continue
        chosen = [c for c in state.conflicts if subs is None or any(under(c.path, s) for s in subs)]
        for s in subs or ():
            if not any(under(c.path, s) for c in state.conflicts):
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
        write_atomic(ws.workdir / section.manifest, data)
        if finished:
            ws.repo.run("add", "--", section.manifest)
            outcome.finished.append(section)
    return outcome


def _target(ws: Workspace, raw: str) -> tuple[Section, str | None]:
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

"""`diff`: the artifact-level diff between two sides, as git names them (the CLI's `git eosvc
diff` and the Python API's `Repository.diff` both build it here; review.py renders it)."""

from __future__ import annotations

from typing import Sequence

from ..errors import UsageError
from ..manifest import EMPTY
from ..review import Report, section_diff
from .workspace import Workspace


def build_report(ws: Workspace, revs: Sequence[str]) -> Report:
    """Like `git diff`: no rev = HEAD vs working manifests; one = REV vs working; two = A vs B
    (also `A..B`); `A...B` = the merge base of A and B vs B."""
    old_label, new_label, old, new = sides(ws, revs)
    sections = []
    for s in ws.access.sections:
        before = ws.head_manifest(s, old) if old else EMPTY
        after = ws.working_manifest(s) if new is None else ws.head_manifest(s, new)
        sections.append(section_diff(s.path, s.manifest, s.access, before, after))
    return Report(old_label, new_label, tuple(sections), old, new)


def sides(ws: Workspace, revs: Sequence[str]) -> tuple[str, str, str | None, str | None]:
    """(old label, new label, old commit, new commit); new commit None = working tree."""
    worktree = "working tree"
    if len(revs) > 2:
        raise UsageError("give at most two revisions", hint="e.g. `git eosvc diff main HEAD`")
    if len(revs) == 1 and ".." in revs[0]:
        three = "..." in revs[0]
        a, b = revs[0].split("..." if three else "..", 1)
        a, b = a or "HEAD", b or "HEAD"
        ca, cb = ws.repo.resolve(a), ws.repo.resolve(b)
        if three:
            base = ws.repo.merge_base(ca, cb)
            if base is None:
                raise UsageError(f"{a} and {b} have no common ancestor")
            return f"merge base of {a} and {b}", b, base, cb
        return a, b, ca, cb
    if len(revs) == 2:
        return revs[0], revs[1], ws.repo.resolve(revs[0]), ws.repo.resolve(revs[1])
    if len(revs) == 1:
        return revs[0], worktree, ws.repo.resolve(revs[0]), None
    return "HEAD", worktree, ws.repo.head(), None

"""Conflicted manifests as git shows them: the unresolved entries of a section's manifest.

Where "ours" and "theirs" come from: the conflict markers in the working manifest first,
the index stages second.

- Markers are what the user sees and edits. Reading them keeps any hunk the user already
  resolved by hand, still works after a `git add` of a half-resolved file (which wipes
  the index stages), and also reads git's own text-merge hunks (a clone whose merge
  driver was not installed).
- Index stages (`:1:`, `:2:`, `:3:`) cover the cases with no markers in the file: the
  driver could not run or refused its input, or git saw a tree-level conflict (one side
  deleted the manifest). They are re-merged with the same 3-way rule.
"""

from __future__ import annotations

from .manifest import has_conflict_markers
from .merge import MergeResult, merge_bytes, parse_conflicted, read_base, with_base
from .repo import Repo


def conflict_state(repo: Repo, manifest: str, section: str) -> MergeResult | None:
    """The section's manifest as clean entries and conflicts; None when it is not conflicted."""
    try:
        data: bytes | None = (repo.workdir / manifest).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        data = None
    stages = repo.index_stages(manifest)
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

"""The pre-commit safety net (DESIGN.md §4), against the index being committed: every
object the staged manifests reference is in the local store (so a push can upload it),
and artifacts that changed but were not added are named (or added, with eosvc.autoAdd)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..access import Section
from ..errors import ManifestError
from ..manifest import EMPTY, Changes, Entry, decode, diff
from ..repo import Repo
from .add import add
from .guard import refuse_staged
from .vouch import vouched
from .workspace import Workspace

# state files naming a commit whose entries the commit-to-be is not the first to carry
_PICKED = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD")


@dataclass
class PreCommitReport:
    missing: list[Entry] = field(default_factory=list)  # staged, but not in the local store
    unrecorded: list[tuple[Section, Changes]] = field(default_factory=list)
    auto_added: list[str] = field(default_factory=list)  # manifests re-hashed and staged
    behind: bool = False  # the work tree does not hold what the manifests list: nothing judged


def pre_commit_check(ws: Workspace, index_file: str | None = None) -> PreCommitReport:
    """`index_file` is git's GIT_INDEX_FILE (`git commit -a` and `git commit PATH` commit a
    temporary index, not .git/index). Unchanged files cost one stat each (stat cache)."""
    refuse_staged(ws, index_file)
    report = PreCommitReport()
    # A work tree not yet materialised to its manifests (a reconcile that could not run)
    # holds other commits' bytes: judging, or auto-adding, them would record stale files.
    report.behind = not ws.is_current()
    manifests = [s.manifest for s in ws.access.sections]
    staged = ws.repo.index_blob_ids(manifests, index_file)
    for section in () if report.behind else ws.sections:
        blob_id = staged.get(section.manifest)
        changes = _unrecorded(ws, section, None if blob_id is None else ws.repo.blob(blob_id))
        if changes:
            report.unrecorded.append((section, changes))
    if report.unrecorded and ws.settings.auto_add:
        # Only the changed paths: re-adding whole sections would drop entries of files this
        # clone never downloaded (say, a private section without credentials).
        paths = [str(ws.workdir / e.path) for _, ch in report.unrecorded
                 for e in (*ch.added, *ch.removed, *(n for _, n in ch.modified))]
        report.auto_added = add(ws, paths).changed or [s.manifest for s, _ in report.unrecorded]
        report.unrecorded = []
        staged = ws.repo.index_blob_ids(manifests, index_file)  # `git add` changed the index
    parents = _parent_commits(ws.repo)
    for section in ws.access.sections:
        report.missing += _not_stored(ws, section, staged.get(section.manifest), parents)
    return report


def _unrecorded(ws: Workspace, section: Section, staged: bytes | None) -> Changes | None:
    """Workspace changes the staged manifest does not record, or None."""
    present = (ws.workdir / section.path).is_dir()
    if staged is None and not present:
        return None
    scanned = ws.current_scan(section)
    if staged is not None and scanned.lists(staged):
        return None  # the common case, without parsing the staged manifest strictly
    current = scanned.files
    recorded = decode(staged, f"{section.manifest} (staged)", section.path) if staged else EMPTY
    pending = ws.pending_deletions(section, recorded, current)
    seen = {p: e for p, e in current.items() if p not in pending}
    seen.update(ws.not_materialised(section, recorded, current))
    changes = diff(recorded, seen)
    return changes if changes else None


def _parent_commits(repo: Repo) -> list[str]:
    """The commit-to-be's parents (HEAD, plus MERGE_HEAD while concluding a merge) and the
    commit being picked, reverted or rebased: their entries are not new."""
    ids = [h for h in [repo.head()] if h]
    for name in _PICKED:
        try:
            ids += (repo.git_dir / name).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            pass
    return [c for oid in ids for c in [repo.commit_of(oid)] if c]


def _not_stored(ws: Workspace, section: Section, blob_id: str | None,
                parents: Sequence[str]) -> list[Entry]:
    """Staged entries (the manifest's staged blob) whose objects are neither in the local
    store nor already in a parent commit (checked when that commit was made; may be on S3 only)."""
    if blob_id is None or vouched(ws, blob_id):
        return []  # (vouched: add staged it with every object stored, and none left since)
    parent_blobs = {b for c in parents for b in [ws.repo.blob_id_at(c, section.manifest)] if b}
    if blob_id in parent_blobs:
        return []  # the manifest is not part of this commit's change
    staged = decode(ws.repo.blob(blob_id), f"{section.manifest} (staged)", section.path)
    absent = [e for e in staged.values() if not ws.store.has(e.oid)]
    if not absent:
        return []  # the common case (after `add`): no parent need be read
    known: set[str] = set()
    for blob in parent_blobs:
        try:
            known.update(e.oid for e in decode(ws.repo.blob(blob), section.manifest, section.path).values())
        except ManifestError:
            pass  # an old malformed manifest vouches for nothing
    return [e for e in absent if e.oid not in known]

"""`status`: per section, what the manifests record, what they do not, what is not here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..access import Section
from ..conflicts import conflict_state
from ..gitproc import hash_object
from ..manifest import EMPTY, Changes, Entry, Manifest, diff
from ..merge import Conflict
from .workspace import Workspace


@dataclass
class SectionStatus:
    section: Section
    recorded: Changes  # working manifest vs HEAD (to be committed)
    unrecorded: Changes  # workspace vs working manifest (run add)
    not_uploaded: list[Entry] = field(default_factory=list)
    not_downloaded: list[Entry] = field(default_factory=list)  # never materialised here
    not_deleted: list[Entry] = field(default_factory=list)  # dropped by the manifest, still here
    # of not_downloaded, the ones left out on purpose: `git eosvc drop`, and the clone's
    # eosvc.fetchInclude / fetchExclude
    dropped: list[Entry] = field(default_factory=list)
    excluded: list[Entry] = field(default_factory=list)
    conflicted: bool = False  # the manifest is mid-merge (markers, or unmerged in the index)
    conflicts: list[Conflict] = field(default_factory=list)  # unresolved entries


def status(ws: Workspace, remote: bool = False) -> list[SectionStatus]:
    out: list[SectionStatus] = []
    views: dict[str, Manifest] = {}
    head = ws.repo.head()
    # blob ids, not bytes: a 100,000-line manifest is 9 MB for git to inflate
    head_ids = {s.manifest: ws.repo.blob_id_at(head, s.manifest) for s in ws.sections} if head else {}
    for section in ws.sections:
        state = conflict_state(ws.repo, section.manifest, section.path)
        if state is not None:
            committed = ws.head_manifest(section, head) if head else EMPTY
            # Mid-merge the workspace still holds our side: comparing it with the manifest
            # would report the merge's incoming changes as "not recorded" (and `add` would
            # undo them). Show what the merge brings, and what is left to resolve.
            unresolved = {c.path for c in state.conflicts}
            views[section.manifest] = state.clean
            before = {p: e for p, e in committed.items() if p not in unresolved}
            out.append(SectionStatus(section, diff(before, state.clean), diff(EMPTY, EMPTY),
                                     conflicted=True, conflicts=list(state.conflicts)))
            continue
        present = (ws.workdir / section.path).is_dir()
        scanned = ws.current_scan(section)
        data = _read(ws.workdir / section.manifest)
        head_id = head_ids.get(section.manifest)
        if (data is not None and head_id is not None and hash_object(data, len(head_id)) == head_id
                and scanned.lists(data)):
            # the common case: committed, recorded and on disk alike, without a strict parse
            out.append(SectionStatus(section, diff(EMPTY, EMPTY), diff(EMPTY, EMPTY)))
            views[section.manifest] = ws.working_manifest(section) if remote else Manifest()
            continue
        current = scanned.files
        committed = ws.head_manifest(section, head) if head else EMPTY
        working = ws.working_manifest(section)
        if not present and not working and not committed:
            continue
        views[section.manifest] = working
        absent = ws.not_materialised(section, working, current)
        pending = ws.pending_deletions(section, working, current)
        seen = {p: e for p, e in current.items() if p not in pending}
        seen.update(absent)  # so they show as not downloaded, not as the user's changes
        st = SectionStatus(section, diff(committed, working), diff(working, seen),
                           not_downloaded=sorted(absent.values(), key=lambda e: e.path),
                           not_deleted=sorted(pending.values(), key=lambda e: e.path))
        if st.not_downloaded and ws.left_out(section) is not None:
            dropped, wanted = ws.dropped(section), ws.fetch_filter
            st.dropped = [e for e in st.not_downloaded if e.path in dropped]
            st.excluded = [e for e in st.not_downloaded
                           if e.path not in dropped and wanted and not wanted.wanted(e.path)]
        out.append(st)
    if remote:
        _not_uploaded(ws, out, views)
        from .eosvc_find import hints

        ws.notes += hints(ws)  # an empty section with EOSVC-layout objects: name the import
    return out


def _not_uploaded(ws: Workspace, out: list[SectionStatus], views: dict[str, Manifest]) -> None:
    by_bucket: dict[str, list[tuple[SectionStatus, Entry]]] = {}
    for st in out:
        for e in views[st.section.manifest].values():
            by_bucket.setdefault(ws.bucket(st.section), []).append((st, e))
    from .fetch import catalog_hints  # only `status --remote` needs the pack layer

    r = ws.remote()
    for bucket, items in by_bucket.items():
        missing = r.missing(bucket, {e.oid for _, e in items}, lambda: catalog_hints(ws, list(views.values())))
        for st, e in items:
            if e.oid in missing:
                st.not_uploaded.append(e)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None

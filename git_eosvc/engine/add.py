"""`add`: hash the sections (or paths), store the bytes locally, rewrite and stage the manifests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from ..access import Section
from ..cache import unlink_quiet
from ..durability import make_durable, removal_mark
from ..errors import UsageError
from ..hashing import Sha256
from ..manifest import Entry, Manifest
from ..paths import under_any
from ..scan import ScanResult
from .vouch import vouch
from .workspace import Workspace


@dataclass
class AddResult:
    changed: list[str] = field(default_factory=list)  # manifests rewritten
    files: int = 0
    stored: int = 0


def add(ws: Workspace, paths: Sequence[str] = ()) -> AddResult:
    """Hash the sections (or paths), store the bytes locally, rewrite and stage the manifests.

    Entries of files no checkout wrote here (never downloaded, a failed download) and of
    files that could not be read stably keep their recorded version: they are not the
    user's deletions or edits.
    """
    result = AddResult()
    staged: list[str] = []
    whole: dict[str, bytes] = {}  # manifests whose every object is now in the store
    mark = removal_mark(ws.store.root, create=True)  # before storing: a removal from here voids the word
    was_current = ws.is_current()
    for section, sub in ws.targets(paths):
        manifest_file = ws.workdir / section.manifest
        if not (ws.workdir / section.path).exists() and not manifest_file.exists():
            if sub is not None:
                raise UsageError(f"'{sub}' does not exist")
            continue
        old = ws.working_manifest(section)
        scanned = ws.scan(section, sub, keep=True)
        try:
            if _record(ws, result, section, sub, old, scanned):
                whole[section.manifest] = (ws.workdir / section.manifest).read_bytes()
        finally:
            for tmp in scanned.kept.values():  # the ones store_files did not install
                unlink_quiet(tmp)
        staged.append(section.manifest)
    if staged:
        ws.repo.run("add", "--", *staged)
        vouch(ws, whole, mark)
    if was_current and not ws.is_current():
        # the record now holds what the work tree holds; the manifests also list files never
        # materialised here (left out, not downloaded): nothing for a hook to do about them
        ws.record_attempt(settled=False)
    return result


def _record(ws: Workspace, result: AddResult, section: Section, sub: Sequence[str] | None, old: Manifest,
            scanned: ScanResult) -> bool:
    """One section's part of `add`: the new manifest, its bytes in the store, the record.
    True when every entry of the new manifest is a file it stored."""
    ws.prune_tmp(scanned)
    found = scanned.files
    if sub is None:
        entries = dict(found)
    else:
        entries = {p: e for p, e in old.items() if not under_any(p, sub)}
        entries.update(found)
    for path, _why in scanned.skipped:
        if path in old and path not in found:
            entries[path] = old[path]
    stale = {p: e for p, e in ws.not_materialised(section, old, found).items()
             if sub is None or under_any(p, sub)}
    entries.update(stale)
    # a deletion a checkout has not finished is not an addition (unless named exactly)
    for p in ws.pending_deletions(section, old, found):
        if sub is None or p not in sub:
            entries.pop(p, None)
    new = Manifest(entries.values())
    ours = [e for e in new.values() if e.path in found and found[e.path].oid == e.oid]
    result.stored += store_files(ws, ours, scanned.kept)
    result.files += len(new)
    if ws.write_manifest(section, new):
        result.changed.append(section.manifest)
    # the work tree now holds what it scanned; the record stays as it was elsewhere
    record = ws.record_without_user_writes(section, new)
    for path in list(record):
        if (sub is None or under_any(path, sub)) and path not in found and path not in stale:
            del record[path]
    record.update({p: e for p, e in found.items() if p not in stale})
    ws.record_materialised(section, Manifest(record.values()))
    return len(ours) == len(new)


def store_files(ws: Workspace, entries: Sequence[Entry], kept: Mapping[str, Path] | None = None) -> int:
    """Copy workspace files into the local store (what push uploads from); those the scan
    already wrote to store temp files (`kept`) are renamed into place. Returns how many
    objects were new."""
    unique = {e.oid: ws.workdir / e.path for e in entries}
    staged: list[tuple[Path, Sha256]] = []
    for e in entries:
        tmp = (kept or {}).get(e.path)
        if tmp is not None and e.oid in unique:
            del unique[e.oid]
            staged.append((tmp, e.oid))
    new = sum(not ws.store.has(oid) for _, oid in staged)
    # every one (or promised) before any name points at it: an object present now may be
    # removed by a gc before its install, which then renames this copy into place
    make_durable(ws.store.root, staged, defer=True)
    for tmp, oid in staged:
        ws.store.install(tmp, oid)  # drops tmp if the object is there already
    return new + ws.store.add_files([(path, oid) for oid, path in unique.items()],
                                         jobs=min(8, ws.settings.jobs), defer=True)


"""`drop`: remove local copies of recorded files to save space, keeping them recorded.

A file is removed only when its bytes are safe: the work tree's copy hashes to the
manifest's entry, and that object is in the local store or on S3. A copy modified since
it was recorded is refused, unless `force`: then its bytes are saved in the local store
first. Dropped entries leave the materialised record (so `add` keeps them, `status`
counts them as dropped) and join this work tree's dropped list (`.git/eosvc/dropped/`):
no checkout or hook brings them back until `git eosvc checkout PATH` names them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..errors import UsageError
from ..hashing import Sha256
from ..manifest import Entry, Manifest
from ..paths import safe_dest, under_any
from ..scan import SKIP_TMP
from .fetch import catalog_hints
from .workspace import Workspace


@dataclass
class DropResult:
    dropped: list[str] = field(default_factory=list)  # local copies removed
    absent: list[str] = field(default_factory=list)  # recorded and not here already: marked dropped
    saved: list[tuple[str, Sha256]] = field(default_factory=list)  # --force: modified bytes stored first
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why): left in place
    bytes: int = 0  # size of the copies removed


def drop(ws: Workspace, paths: Sequence[str], force: bool = False, dry_run: bool = False) -> DropResult:
    """Drop the recorded files at `paths` (files or directories inside sections)."""
    if not paths:
        raise UsageError("name what to drop: files or directories inside a section")
    result = DropResult()
    was_current = ws.is_current()
    for section, sub in ws.targets(paths):
        manifest = ws.working_manifest(section)
        chosen = {p: e for p, e in manifest.items() if sub is None or under_any(p, sub)}
        for s in sub or ():
            if not any(under_any(p, [s]) for p in chosen):
                raise UsageError(f"'{s}' is not recorded in {section.manifest}",
                                 hint="`git eosvc drop` removes local copies of recorded files; "
                                      "`git eosvc add` records new ones")
        present = (ws.workdir / section.path).is_dir()
        scanned = ws.scan(section, sub) if present else None
        here = scanned.files if scanned is not None else {}
        blocked = {p for p, why in scanned.skipped if why != SKIP_TMP} if scanned is not None else set()
        remove: list[Entry] = []  # work-tree copies to delete (their hash as found)
        unsure: list[Entry] = []  # same bytes as recorded, not in the local store: ask S3
        marked: list[Entry] = []  # entries that become dropped
        for path, entry in chosen.items():
            found = here.get(path)
            if path in blocked or under_any(path, blocked):
                result.refused.append((path, "could not be read safely; left in place"))
            elif found is None:
                if os.path.lexists(ws.workdir / path):
                    result.refused.append((path, "not a regular file; left in place"))
                    continue
                result.absent.append(path)
                marked.append(entry)
            elif found.oid != entry.oid:
                if not force:
                    result.refused.append((path, "modified since it was recorded; `git eosvc add` records it, "
                                                 "`--force` saves it in the local store and drops it"))
                    continue
                if not dry_run:
                    ws.store.add_file(ws.workdir / path, found.oid)
                result.saved.append((path, found.oid))
                remove.append(found)
                marked.append(entry)
            elif ws.store.has(entry.oid):
                remove.append(found)
                marked.append(entry)
            else:
                unsure.append(entry)
        if unsure:
            if not ws.remote().can_read(ws.bucket(section)):
                result.refused += [(e.path, "not in the local store, and S3 cannot be asked without "
                                            "credentials; left in place") for e in unsure]
            else:
                missing = ws.remote().missing(ws.bucket(section), {e.oid for e in unsure},
                                              lambda: catalog_hints(ws, ()))
                for e in unsure:
                    if e.oid in missing:
                        result.refused.append((e.path, "neither in the local store nor on S3 (push it first); "
                                                       "left in place"))
                    else:
                        remove.append(here[e.path])
                        marked.append(e)
        result.dropped += [e.path for e in remove]
        result.bytes += sum(e.size for e in remove)
        if dry_run or not marked:
            continue
        root = ws.workdir / section.path
        ws.store.settle()  # what another `add` promised since this command began is flushed too
        for e in remove:
            dest = safe_dest(ws.workdir, e.path)
            try:
                dest.unlink()
            except FileNotFoundError:
                pass
            _prune_empty_dirs(root, dest.parent)
        gone = {e.path for e in marked}
        record = ws.record_without_user_writes(section, manifest)
        ws.record_materialised(section, Manifest(e for p, e in record.items() if p not in gone))
        dropped = dict(ws.dropped(section))
        dropped.update({e.path: e for e in marked})
        ws.record_dropped(section, Manifest(dropped.values()))
    if was_current and not dry_run:
        ws.record_attempt(settled=False)  # nothing for the hooks to do until the manifests change
    result.dropped.sort()
    result.absent.sort()
    result.refused.sort()
    return result


def _prune_empty_dirs(top: Path, d: Path) -> None:
    """Remove directories left empty, up to (not including) the section's directory."""
    while d != top and top in d.parents:
        try:
            d.rmdir()
        except OSError:
            return
        d = d.parent

"""`delete --path P`: stop tracking P and remove it from the work tree, staged.

git-backed, unlike EOSVC 1.x's `delete` (which removes the remote copy and keeps the local
one): the manifest entries under P go, the local files go, and the S3 objects stay, because
older commits still name them (only a remote gc may remove them). No local byte is lost:
every file removed from the work tree is first saved in the local store, where
`git eosvc checkout` (after restoring the manifest) or the printed hash brings it back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ..access import Section
from ..errors import UsageError
from ..hashing import Sha256
from ..manifest import Manifest
from ..paths import safe_dest, under
from ..scan import SKIP_TMP
from .workspace import Workspace


@dataclass
class DeleteResult:
    untracked: list[str] = field(default_factory=list)  # manifest entries removed
    removed: list[str] = field(default_factory=list)  # files removed from the work tree
    saved: list[tuple[str, Sha256]] = field(default_factory=list)  # bytes no manifest named, now in the store
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why) left in place
    staged: list[str] = field(default_factory=list)  # manifests rewritten and staged


def delete(ws: Workspace, targets: Sequence[tuple[Section, str]], everything: bool = False) -> DeleteResult:
    """Untrack and remove every (section, path): a path is a file or folder inside the
    section, or the section itself. `everything` (`--path .`) tolerates empty sections."""
    result = DeleteResult()
    for section, rel in targets:
        manifest = ws.working_manifest(section)
        gone = {p: e for p, e in manifest.items() if under(p, rel)}
        sub = None if rel == section.path else [rel]
        scanned = ws.scan(section, sub) if (ws.workdir / section.path).is_dir() else None
        here = scanned.files if scanned is not None else {}
        kept = [(p, why) for p, why in (scanned.skipped if scanned is not None else []) if why != SKIP_TMP]
        if not gone and not here and not kept:
            if everything:
                continue
            raise UsageError(f"'{rel}' is neither recorded in {section.manifest} nor here")
        for path, entry in sorted(here.items()):
            ws.store.add_file(ws.workdir / path, entry.oid)  # first: never lose a byte
            if path not in manifest or manifest[path].oid != entry.oid:
                result.saved.append((path, entry.oid))
        ws.store.settle()  # what another `add` promised since this command began is flushed too
        for path in sorted(here):
            try:
                safe_dest(ws.workdir, path).unlink()
            except FileNotFoundError:
                pass
            result.removed.append(path)
        result.kept += kept
        _prune_dirs(ws.workdir / rel)
        record = ws.record_without_user_writes(section, manifest)
        ws.record_materialised(section, Manifest(e for p, e in record.items() if not under(p, rel)))
        if gone:
            result.untracked += sorted(gone)
            ws.write_manifest(section, Manifest(e for p, e in manifest.items() if p not in gone))
            result.staged.append(section.manifest)
    if result.staged:
        ws.repo.run("add", "--", *result.staged)
    return result


def _prune_dirs(top: Path) -> None:
    """Remove the folders left empty under `top` (and `top`); never one that still holds
    something (a file the scan would not touch: kept)."""
    if not top.is_dir() or top.is_symlink():
        return
    for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass

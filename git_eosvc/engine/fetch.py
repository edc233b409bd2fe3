"""`fetch`: bring objects into the local store, work tree untouched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..access import Section
from ..hashing import Sha256
from ..gitproc import hash_object
from ..manifest import Entry, Manifest, encode
from ..transfer import Download
from .workspace import Workspace


@dataclass
class FetchResult:
    downloaded: int = 0
    skipped_sections: list[str] = field(default_factory=list)  # private sections, no credentials
    failed: dict[Sha256, str] = field(default_factory=dict)
    paths: dict[Sha256, str] = field(default_factory=dict)

    def extend(self, other: "FetchResult") -> None:
        self.downloaded += other.downloaded
        self.skipped_sections += [s for s in other.skipped_sections if s not in self.skipped_sections]
        self.failed.update(other.failed)
        self.paths.update(other.paths)


def download(ws: Workspace, wanted: Iterable[tuple[Section, Entry]],
             manifests: Sequence[Manifest] = ()) -> FetchResult:
    """Bring objects into the local store; private sections without credentials are skipped.
    `manifests` are those the wanted entries come from: a reader who may not list the
    bucket finds their packed objects by these manifests' catalogs (packs.py)."""
    result = FetchResult()
    items: dict[tuple[str, Sha256], Download] = {}
    for section, entry in wanted:
        if ws.store.has(entry.oid):
            continue
        if not section.public and not ws.remote().can_read(ws.bucket(section)):  # S3 without credentials
            if section.path not in result.skipped_sections:
                result.skipped_sections.append(section.path)
            continue
        bucket = ws.bucket(section)
        result.paths.setdefault(entry.oid, entry.path)
        items.setdefault((bucket, entry.oid), Download(bucket, entry.oid, entry.size))
    if items:
        ws.store.prune_tmp()  # what killed transfers left behind
        report = ws.remote().download(list(items.values()), ws.store, lambda: catalog_hints(ws, manifests))
        result.downloaded = len(report.done)
        result.failed.update(report.failed)
    return result


def fetch(ws: Workspace, revs: Sequence[str] = ()) -> FetchResult:
    """Download every object the revisions' manifests reference (default: HEAD), but
    files this clone leaves out (dropped here, eosvc.fetchInclude / fetchExclude)."""
    commits = [ws.repo.resolve(r) for r in revs] or [ws.require_head()]
    left_out = {s.path: ws.left_out(s) for s in ws.access.sections}
    wanted = [(s, e) for c in commits for s in ws.access.sections
              for e in ws.head_manifest(s, c).values()
              if not ((skip := left_out[s.path]) is not None and skip(e.path))]
    manifests = [ws.head_manifest(s, c) for c in commits for s in ws.access.sections if s.public]
    return download(ws, wanted, manifests)


def catalog_hints(ws: Workspace, manifests: Sequence[Manifest]) -> list[str]:
    """The git blob ids of these manifests, and of the public sections' manifests on disk
    and at HEAD: the catalogs a reader who may not list looks for. A manifest has one valid
    encoding, so its blob id follows from its entries."""
    head = ws.repo.head()
    width = len(head) if head else 40
    hints = {hash_object(encode(m), width) for m in manifests}
    for section in ws.access.sections:
        if not section.public:
            continue
        try:
            hints.add(hash_object((ws.workdir / section.manifest).read_bytes(), width))
        except OSError:
            pass
        at_head = ws.repo.blob_id_at(head, section.manifest) if head else None
        if at_head:
            hints.add(at_head)
    return sorted(hints)

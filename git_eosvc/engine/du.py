"""`du`: how many bytes the artifacts of some revisions take, per section (docs/du.md).

For each section and each revision, the files and bytes its manifest records; over the
revisions together, the distinct objects (what storage holds once, deduplicated) split
into those shared by two revisions or more and those only one references; how many of
them the local store holds; and, when asked, what S3 holds under the repo's prefix and
how many of the needed objects are there. Manifests are read once per blob id, so
`--all` over a long history reads each distinct manifest once.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from ..access import Section
from ..errors import EosvcError
from ..hashing import Sha256
from ..manifest import EMPTY, Manifest, decode
from .workspace import Workspace


@dataclass
class Count:
    objects: int = 0
    bytes: int = 0

    def add(self, size: int) -> None:
        self.objects += 1
        self.bytes += size


@dataclass
class RevisionUsage:
    label: str  # as given, or the ref naming the commit (--all)
    commit: str
    files: int  # entries of the manifest
    bytes: int  # their sizes summed (what a checkout writes)
    objects: Count  # distinct objects among them
    only_here: Count  # objects no other of the revisions references


@dataclass
class SectionUsage:
    section: Section
    bucket: str
    revisions: list[RevisionUsage]
    logical: int  # bytes summed over the revisions, duplicates counted each time
    stored: Count  # distinct objects over the revisions: what storage holds once
    shared: Count  # of `stored`, referenced by two revisions or more
    unique: Count  # of `stored`, referenced by one revision only
    local: Count  # of `stored`, in the local store
    remote: Count | None = None  # of `stored`, on S3 (None: not asked, or S3 could not tell)
    sizes: dict[Sha256, int] = field(default_factory=dict, repr=False)  # oid -> size, of `stored`


@dataclass
class BucketUsage:
    bucket: str
    prefix: str
    needed: Count  # distinct objects the revisions keep in this bucket
    present: Count | None = None  # of `needed`, on S3 (None: could not tell)
    listed: Count | None = None  # loose content-addressed objects under the prefix (None: not listable)
    other: Count | None = None  # any other key under the prefix
    packs: Count | None = None  # the keys of packs, their indexes and catalogs (docs/storage.md)
    error: str | None = None  # why something above is None


@dataclass
class Usage:
    revisions: list[tuple[str, str]]  # (label, commit)
    all_refs: bool
    sections: list[SectionUsage]
    logical: int
    stored: Count  # distinct objects over every section (the local store's unit)
    local: Count  # of `stored`, in the local store
    store: Count  # everything the local store holds, needed or not
    buckets: list[BucketUsage] | None = None  # --remote
    notes: list[str] = field(default_factory=list)


def revisions(ws: Workspace, revs: Sequence[str], all_refs: bool) -> list[tuple[str, str]]:
    """(label, commit) of the revisions `du` looks at: those named, every commit reachable
    from a local branch or tag (and HEAD) with `all_refs`, else HEAD; each commit once."""
    out: dict[str, str] = {}
    for rev in revs:
        out.setdefault(ws.repo.resolve(rev), rev)
    if all_refs:
        refs = ws.repo.local_refs()
        names: dict[str, str] = {}
        for name, commit in refs:
            short = name.removeprefix("refs/heads/").removeprefix("refs/tags/")
            names.setdefault(commit, short)
        tips = [c for _, c in refs] + [h for h in [ws.repo.head()] if h]
        for commit in ws.repo.commits(list(dict.fromkeys(tips))):
            out.setdefault(commit, names.get(commit, commit[:10]))
    if not revs and not all_refs:
        out[ws.require_head()] = "HEAD"
    return [(label, commit) for commit, label in out.items()]


def du(ws: Workspace, revs: Sequence[str] = (), all_refs: bool = False, remote: bool = False) -> Usage:
    chosen = revisions(ws, revs, all_refs)
    sections = [_section(ws, s, chosen) for s in ws.access.sections]
    sizes: dict[Sha256, int] = {}
    for su in sections:
        sizes.update(su.sizes)
    local = Count()
    for oid, size in sizes.items():
        if ws.store.has(oid):
            local.add(size)
    store = Count()
    for oid in ws.store.iter_oids():
        try:
            store.add(ws.store.object_path(oid).stat().st_size)
        except OSError:
            continue
    usage = Usage(chosen, all_refs, sections, sum(s.logical for s in sections),
                  Count(len(sizes), sum(sizes.values())), local, store)
    if remote:
        usage.buckets = _remote(ws, sections, chosen)
    return usage


def _section(ws: Workspace, section: Section, chosen: list[tuple[str, str]]) -> SectionUsage:
    blob_of = {commit: ws.repo.blob_id_at(commit, section.manifest) for _, commit in chosen}
    per_blob = Counter(b for b in blob_of.values() if b is not None)
    manifests: dict[str, Manifest] = {
        b: decode(ws.repo.blob(b), f"{next(c for c, x in blob_of.items() if x == b)[:10]}:{section.manifest}",
                  section.path) for b in per_blob}
    sizes: dict[Sha256, int] = {}
    refs: Counter[Sha256] = Counter()  # oid -> how many of the revisions reference it
    for b, manifest in manifests.items():
        oids = {e.oid for e in manifest.values()}
        for e in manifest.values():
            sizes[e.oid] = e.size
        for oid in oids:
            refs[oid] += per_blob[b]
    rows: list[RevisionUsage] = []
    for label, commit in chosen:
        blob = blob_of[commit]
        manifest = manifests[blob] if blob is not None else EMPTY
        objects, only = Count(), Count()
        for oid in {e.oid for e in manifest.values()}:
            objects.add(sizes[oid])
            if refs[oid] == 1:
                only.add(sizes[oid])
        rows.append(RevisionUsage(label, commit, len(manifest), sum(e.size for e in manifest.values()),
                                  objects, only))
    stored, shared, unique, local = Count(), Count(), Count(), Count()
    for oid, size in sizes.items():
        stored.add(size)
        (shared if refs[oid] > 1 else unique).add(size)
        if ws.store.has(oid):
            local.add(size)
    return SectionUsage(section, ws.bucket(section), rows, sum(r.bytes for r in rows), stored, shared, unique,
                        local, sizes=sizes)


def _remote(ws: Workspace, sections: list[SectionUsage], chosen: list[tuple[str, str]]) -> list[BucketUsage]:
    """Per bucket: what S3 holds under the repo's prefix (by listing, where allowed) and how
    many of the needed objects are there: loose ones from the listing, packed ones from the
    packs' indexes, else one question per object."""
    from ..s3client import make_client
    from ..s3list import ListingDenied, prefix_usage
    from .fetch import catalog_hints

    def hints() -> list[str]:
        """Catalog names for a reader who may not list: the chosen revisions' manifests too."""
        found = set(catalog_hints(ws, ()))
        for _, commit in chosen:
            for su in sections:
                blob = ws.repo.blob_id_at(commit, su.section.manifest) if su.section.public else None
                if blob:
                    found.add(blob)
        return sorted(found)

    by_bucket: dict[str, dict[Sha256, int]] = {}
    private: set[str] = set()
    for su in sections:
        by_bucket.setdefault(su.bucket, {}).update(su.sizes)
        if not su.section.public:
            private.add(su.bucket)
    out: list[BucketUsage] = []
    present_in: dict[str, set[Sha256]] = {}
    client = None
    try:
        for bucket, needed in by_bucket.items():
            bu = BucketUsage(bucket, f"{ws.settings.repo}/", Count(len(needed), sum(needed.values())))
            out.append(bu)
            if bucket in private and not ws.remote().can_read(bucket):
                bu.error = f"private, and no credentials were found ({ws.credential_lookup.describe()})"
                continue
            present: set[Sha256] | None = None
            if ws.settings.directory is not None:  # a directory remote: no S3 listing
                bu.error = "not an S3 remote: presence asked object by object"
            elif client is None:
                client = make_client(ws.settings, ws.credentials, max(1, ws.settings.jobs))
            try:
                if client is None:
                    raise ListingDenied()
                pu = prefix_usage(client, bucket, ws.settings.repo, threading.BoundedSemaphore(max(1, ws.settings.jobs)))
                bu.listed = Count(len(pu.objects), sum(pu.objects.values()))
                bu.other = Count(pu.other, pu.other_bytes)
                bu.packs = Count(pu.pack_keys, pu.pack_bytes)
                present = set(pu.objects) & set(needed)
            except ListingDenied:
                bu.error = bu.error or ("S3 does not let these credentials list the bucket; "
                                        "presence asked object by object")
            except EosvcError as exc:
                bu.error = exc.message
            try:
                if present is None and needed:  # not listed: packs' indexes, then object by object
                    present = set(needed) - ws.remote().missing(bucket, needed, hints)
                elif present is not None and bu.packs is not None and bu.packs.objects and len(present) < len(needed):
                    present |= ws.remote().packed(bucket, set(needed) - present, hints)
            except EosvcError as exc:
                bu.error = exc.message
                continue
            present = present or set()
            present_in[bucket] = present
            bu.present = Count(len(present), sum(needed[o] for o in present))
    finally:
        if client is not None:
            client.close()
    for su in sections:
        got = present_in.get(su.bucket)
        if got is not None:
            su.remote = Count()
            for oid, size in su.sizes.items():
                if oid in got:
                    su.remote.add(size)
    return out

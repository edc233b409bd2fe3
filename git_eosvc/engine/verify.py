"""`verify`: re-hash the local store; check every object HEAD needs is on S3."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..hashing import Sha256
from ..plan import Need
from .push import needs_for
from .fetch import catalog_hints
from .workspace import Workspace


@dataclass
class VerifyResult:
    checked: int = 0
    corrupt: list[Sha256] = field(default_factory=list)
    not_on_remote: list[Need] = field(default_factory=list)


def verify(ws: Workspace, remote: bool = True) -> VerifyResult:
    head = ws.require_head()
    needs = needs_for(ws, [head])
    local = sorted({n.oid for n in needs if ws.store.has(n.oid)})
    result = VerifyResult(checked=len(local))
    result.corrupt = ws.store.verify(local, jobs=ws.settings.jobs)
    if remote and needs:
        r = ws.remote()
        by_bucket: dict[str, list[Need]] = {}
        for n in needs:
            if not r.can_read(n.bucket):
                continue
            by_bucket.setdefault(n.bucket, []).append(n)
        for bucket, group in by_bucket.items():
            absent = r.missing(bucket, [n.oid for n in group], lambda: catalog_hints(ws, ()))
            result.not_on_remote += [n for n in group if n.oid in absent]
    return result

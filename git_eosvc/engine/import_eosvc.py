"""`import-eosvc`: bring a repo's EOSVC-layout objects (s3://<bucket>/<repo>/data/train.csv,
latest only) under git-eosvc: hash them, store them under their content-addressed keys,
write and stage the manifests, materialise the work tree. EOSVC's keys are left as they were.

Steps, each finished before the next starts (the plan comes from eosvc_find.find):
1. read every object once, streamed and hashed in parallel into the local store (a failed
   read stops the import before anything is recorded);
2. copy each object inside S3 to s3://<bucket>/<repo>/objects/sha256/ab/cd/<sha256> of its
   section's bucket, unless it is there already; where the server cannot copy, upload it
   from the local store; what could not be placed (no credentials, an S3 error) is left
   for `git push`, which uploads from the local store;
3. write the manifests, materialise them (checkout: a file already in the work tree with
   the same bytes stays, a different one is kept and reported, never overwritten), stage them.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..eosvc_layout import Found
from ..errors import TransferError
from ..hashing import Sha256
from ..manifest import Entry, Manifest
from ..progress import Progress
from ..s3import import CopyRefused, EosvcS3
from ..transfer import Failed, Upload
from . import checkout as checkout_mod
from .checkout import CheckoutResult
from .eosvc_find import ImportPlan, SectionImport
from .workspace import Workspace

_SHOWN_FAILURES = 5
Hashed = dict[tuple[str, str], tuple[Sha256, str | None]]  # (bucket, key) -> (sha256, MD5 if known)


@dataclass
class ImportResult:
    manifests: list[str] = field(default_factory=list)  # written and staged
    files: int = 0
    size: int = 0  # bytes read and hashed
    objects: int = 0  # distinct contents
    copied: int = 0  # copied inside S3 to their content-addressed key
    present: int = 0  # already at their content-addressed key
    uploaded: int = 0  # uploaded from the local store (the server did not copy)
    pending: dict[Sha256, str] = field(default_factory=dict)  # not placed on S3 (why); push uploads them
    copy_refused: str | None = None  # why the server did not copy (the first reason), if it did not
    hash_seconds: float = 0.0
    place_seconds: float = 0.0
    checkout: CheckoutResult = field(default_factory=CheckoutResult)


def run(ws: Workspace, plan: ImportPlan) -> ImportResult:
    """Import what `plan` found (refused keys refuse everything, before any write)."""
    plan.check()
    todo = [si for si in plan.sections if not si.skipped and si.objects]
    result = ImportResult()
    if not todo:
        return result
    started = time.monotonic()
    hashed = _hash_all(ws, [f for si in todo for f in si.objects])
    result.hash_seconds = time.monotonic() - started
    result.files = sum(len(si.objects) for si in todo)
    result.size = sum(si.size for si in todo)
    result.objects = len({oid for oid, _ in hashed.values()})

    started = time.monotonic()
    _place(ws, todo, hashed, result)
    result.place_seconds = time.monotonic() - started

    for si in todo:
        manifest = Manifest(Entry(f.path, hashed[_ident(f)][0], f.obj.size) for f in si.objects)
        ws.write_manifest(si.section, manifest)
        result.manifests.append(si.section.manifest)
    try:  # materialise before staging: the hook `git add` runs then finds nothing to do
        plans = checkout_mod.plan(ws, [str(ws.workdir / si.section.path) for si in todo], hint_eosvc=False)
        result.checkout = checkout_mod.apply(ws, plans)
    finally:
        ws.repo.run("add", "--", *result.manifests)
    for si in todo:
        for url in si.republished:
            ws.notes.append(f"{si.section.path}/ is private here but was public under EOSVC: {url} still "
                            "serves those files to anyone; delete the old keys once everyone has moved")
    return result


def _ident(found: Found) -> tuple[str, str]:
    return found.location.bucket, found.obj.key


def _hash_all(ws: Workspace, found: list[Found]) -> Hashed:
    """Read every object once into the local store, in parallel: (bucket, key) -> (sha256, md5)."""
    unique = list({_ident(f): f for f in found}.values())
    ws.store.prune_tmp()
    out: Hashed = {}
    failed: list[str] = []
    with EosvcS3(ws.settings, ws.credentials) as s3, \
            Progress(sum(f.obj.size for f in unique), "import: read and hash", items=len(unique)) as progress:
        def one(f: Found) -> tuple[Found, tuple[Sha256, str | None] | None, str | None]:
            try:
                got = s3.fetch(f.location.bucket, f.obj, ws.store, progress.update)
                progress.finished(f.obj.size, f.path)  # named at -v
                return f, got, None
            except Failed as e:
                return f, None, str(e)

        with ThreadPoolExecutor(max(1, min(ws.settings.jobs, len(unique))), thread_name_prefix="eosvc-import") as pool:
            for f, got, why in pool.map(one, unique):
                if got is not None:
                    out[_ident(f)] = got
                else:
                    failed.append(why or f.url)
    if failed:
        shown = "; ".join(failed[:_SHOWN_FAILURES])
        more = f"; … and {len(failed) - _SHOWN_FAILURES} more" if len(failed) > _SHOWN_FAILURES else ""
        raise TransferError(f"{len(failed)} of {len(unique)} EOSVC object(s) could not be read: {shown}{more}",
                            hint="run the import again; nothing was recorded")
    return out


def _place(ws: Workspace, todo: list[SectionImport], hashed: Hashed,
           result: ImportResult) -> None:
    """Put every object at its content-addressed key: already there, copied inside S3, or
    uploaded from the local store; what cannot be placed now is left for `git push`."""
    wanted: dict[str, dict[Sha256, Found]] = {}  # destination bucket -> oid -> one source
    for si in todo:
        bucket = ws.bucket(si.section)
        for f in si.objects:
            wanted.setdefault(bucket, {}).setdefault(hashed[_ident(f)][0], f)
    if ws.credentials is None:
        for sources in wanted.values():
            result.pending.update({oid: "no credentials to write to S3" for oid in sources})
        return
    remote = ws.remote()
    fallback: list[Upload] = []
    with EosvcS3(ws.settings, ws.credentials) as s3:
        for bucket, sources in wanted.items():
            try:
                missing = remote.missing(bucket, sources)
            except TransferError as e:
                result.pending.update({oid: e.message for oid in sources})
                continue
            result.present += len(sources) - len(missing)
            todo_copies = sorted(missing)
            total = sum(sources[oid].obj.size for oid in todo_copies)
            with Progress(total, "import: copy in S3") as progress:
                def copy(oid: Sha256) -> tuple[Sha256, str | None, str | None]:
                    f = sources[oid]
                    try:
                        s3.copy(f.location.bucket, f.obj, hashed[_ident(f)][1], bucket, remote.key(oid))
                    except CopyRefused as e:
                        return oid, str(e), None
                    except Failed as e:
                        return oid, None, str(e)
                    progress.update(f.obj.size)
                    return oid, None, None

                with ThreadPoolExecutor(max(1, min(ws.settings.jobs, len(todo_copies) or 1)),
                                        thread_name_prefix="eosvc-copy") as pool:
                    for oid, refused, failed in pool.map(copy, todo_copies):
                        if failed is not None:
                            result.pending[oid] = failed
                        elif refused is not None:
                            result.copy_refused = result.copy_refused or refused
                            fallback.append(Upload(bucket, oid, sources[oid].obj.size, ws.store.object_path(oid)))
                        else:
                            result.copied += 1
    if fallback:
        report = remote.upload(fallback)
        result.uploaded += len(report.done)
        result.pending.update(report.failed)

"""Reading one artifact of any revision, index stage or object id, work tree untouched: what
`cat`, `export` and the Python API's path()/open() of a revision share.

A target is spelled as `git show` spells blobs (docs/cat.md):

    REV:PATH     the file as commit REV's manifest records it (MERGE_HEAD:PATH, v1.0:PATH)
    :PATH        as the index records it (stage 0: what the next commit holds)
    :N:PATH      index stage N of a conflicted manifest: 1 base, 2 ours, 3 theirs
    PATH         as the working manifest records it (relative to the current directory)
    <sha256>     an object by id (the local store first, then the manifests that name it)

PATH after a colon is relative to the repository root (`REV:./PATH`: to the current
directory), as git has it. The bytes come from the local store, downloaded into it
(verified) when missing: nothing in the work tree or the index changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..access import Section
from ..errors import CredentialsError, NotFoundError, TransferError, UsageError
from ..hashing import Sha256, is_sha256
from ..manifest import EMPTY, Entry, Manifest, decode
from ..paths import under, user_relpath
from .fetch import FetchResult, download
from .workspace import Workspace

STAGES = {1: "base", 2: "ours", 3: "theirs"}
_LISTED = 10  # failures named in one error message; the rest are counted


@dataclass(frozen=True)
class Target:
    """What a command-line target names, parsed (git and S3 not asked yet)."""

    text: str
    path: str | None = None  # as typed (None: an object id)
    rev: str | None = None  # a revision; None with a stage, for the working manifest or an object
    stage: int | None = None  # index stage: 0 the index, 1 base, 2 ours, 3 theirs
    oid: Sha256 | None = None
    from_root: bool = False  # PATH is relative to the repository root (after a colon)


@dataclass(frozen=True)
class Located:
    """A target found: its bytes' object and size, the section that says where it lives on S3
    (None: an object only the local store holds), and a description for messages."""

    entry: Entry
    section: Section | None
    where: str


def parse_target(text: str, *, rev: str | None = None, stage: int | None = None) -> Target:
    """The target `text` names; `rev` (from --release) or `stage` (--ours/--theirs) make it a PATH."""
    if not text or "\0" in text:
        raise UsageError(f"not a target: {text!r}", hint="REV:PATH, :PATH, :2:PATH, PATH or an object's sha256")
    if rev is not None or stage is not None:
        if ":" in text and not os.path.lexists(text):
            raise UsageError(f"{text!r}: give a PATH here, not REV:PATH (the option already names the "
                             f"{'revision' if rev is not None else 'side'})")
        return Target(text, path=text, rev=rev, stage=stage)
    if is_sha256(text) and not os.path.lexists(text):
        return Target(text, oid=Sha256(text))
    if text.startswith(":/"):
        raise UsageError(f"{text!r}: git's `:/message` search is not supported here; name the revision")
    if text.startswith(":"):
        rest = text[1:]
        if len(rest) > 2 and rest[0] in "0123" and rest[1] == ":":
            return Target(text, path=rest[2:], stage=int(rest[0]), from_root=True)
        return Target(text, path=rest, stage=0, from_root=True)
    if ":" in text:
        rev_text, _, path = text.partition(":")
        return Target(text, path=path, rev=rev_text, from_root=True)
    return Target(text, path=text)


def locate(ws: Workspace, target: Target) -> Located:
    """The manifest entry (or store object) a target names; UsageError/NotFoundError if none."""
    if target.oid is not None:
        return _object(ws, target.oid)
    raw = target.path or ""
    if not raw:
        raise UsageError(f"{target.text!r} names no path", hint="e.g. HEAD:data/train.csv")
    from_root = target.from_root and not raw.startswith(("./", "../"))
    rel = user_relpath(raw, ws.workdir, cwd=str(ws.workdir) if from_root else None)
    if any(rel == s.manifest for s in ws.access.sections):
        raise UsageError(f"{rel} is a manifest, kept in git: `git show {target.text}` shows it")
    section = ws.access.section_of(rel)
    if section is None:
        roots = ", ".join(s.path + "/" for s in ws.access.sections)
        raise UsageError(f"'{raw}' is not inside a section (sections: {roots})")
    manifest, where = _manifest(ws, section, target)
    entry = manifest.get(rel)
    if entry is None:
        if any(under(p, rel) for p in manifest):
            raise UsageError(f"'{rel}' is a directory {where}; name one file",
                             hint=f"`git eosvc diff` or `git show {_show(target, section)}` lists its files")
        raise NotFoundError(f"'{rel}' is not recorded {where} ({section.manifest})",
                            hint=f"`git show {_show(target, section)}` lists what is recorded")
    return Located(entry, section, where)


def _show(target: Target, section: Section) -> str:
    if target.stage is not None:
        return f":{target.stage}:{section.manifest}" if target.stage else f":{section.manifest}"
    return f"{target.rev}:{section.manifest}" if target.rev is not None else section.manifest


def _manifest(ws: Workspace, section: Section, target: Target) -> tuple[Manifest, str]:
    """The section's manifest the target reads, and how messages call it."""
    name = section.manifest
    if target.rev is not None:
        commit = ws.repo.resolve(target.rev)
        return ws.head_manifest(section, commit), f"at {target.rev}"
    if target.stage is None:
        return ws.working_manifest(section), "in the working manifest"
    if target.stage == 0:
        blob = ws.repo.index_blob_id(name)
        if blob is None:
            if ws.repo.index_stages(name) is not None:
                raise UsageError(f"{name} is in conflict, so the index has no single version of it",
                                 hint="`:2:PATH` is ours, `:3:PATH` theirs (also `--ours` / `--theirs`)")
            return EMPTY, "in the index"
        return decode(ws.repo.blob(blob), f":{name}", section.path), "in the index"
    stages = ws.repo.index_stages(name)
    side = STAGES.get(target.stage, str(target.stage))
    if stages is None:
        raise UsageError(f"{name} is not in conflict: the index has no stage {target.stage} ({side})",
                         hint="outside a merge, name a revision: HEAD:PATH, MERGE_HEAD:PATH, v1.0:PATH")
    data = stages[target.stage - 1]
    if data is None:
        return EMPTY, f"on the {side} side ({name} absent there)"
    return decode(data, f":{target.stage}:{name}", section.path), f"on the {side} side (:{target.stage}:)"


def _object(ws: Workspace, oid: Sha256) -> Located:
    """An object by id: the local store's copy (a saved version, perhaps never uploaded), else
    one the working, staged or HEAD's manifests name (so it can be downloaded from its bucket)."""
    if ws.store.has(oid):
        size = ws.store.object_path(oid).stat().st_size
        return Located(Entry(oid, oid, size), None, f"object {oid.short}")
    head = ws.repo.head()
    for section in ws.access.sections:
        manifests: list[Manifest] = []
        sources: list[bytes | None] = [None if head is None else ws.repo.file_at(head, section.manifest)]
        try:
            sources.append((ws.workdir / section.manifest).read_bytes())
        except OSError:
            pass
        sources += list(ws.repo.index_stages(section.manifest) or ())
        for data in sources:
            if data is None:
                continue
            try:
                manifests.append(decode(data, section.manifest, section.path))
            except UsageError:  # a conflicted or damaged manifest: look in the others
                continue
        for manifest in manifests:
            for e in manifest.values():
                if e.oid == oid:
                    return Located(e, section, f"object {oid.short}")
    raise NotFoundError(f"object {oid} is neither in the local store nor named by the working, staged "
                        "or HEAD's manifests",
                        hint="name it by revision and path instead: REV:PATH")


def fetch_object(ws: Workspace, located: Located) -> Path:
    """The store object holding the bytes, downloaded and verified first if missing."""
    return stored(ws, located.section, located.entry)


def stored(ws: Workspace, section: Section | None, entry: Entry) -> Path:
    """The store object holding `entry`'s bytes, downloaded and verified first if missing."""
    path = ws.store.object_path(entry.oid)
    if ws.store.has(entry.oid) and path.stat().st_size != entry.size:
        ws.store.verify([entry.oid])  # a short object a crash left: removed if damaged, fetched below
    if not ws.store.has(entry.oid):
        if section is None:
            raise NotFoundError(f"object {entry.oid} is not in the local store")
        got = download(ws, [(section, entry)])
        raise_failed(ws, got, [] if ws.store.has(entry.oid) else [entry.path])
    return path


def export(ws: Workspace, located: Located, dest: Path, force: bool = False) -> Path:
    """Write the bytes at `dest` (a directory: a file named like the artifact inside it),
    atomically; an existing file only with `force`. Never a manifest, never inside .git."""
    if dest.is_dir():
        dest = dest / (Path(located.entry.path).name if located.section else located.entry.oid)
    refuse_dest(ws, dest)
    if os.path.lexists(dest) and not force:
        raise UsageError(f"{os.fspath(dest)} exists; not overwritten", hint="--force replaces it")
    source = fetch_object(ws, located)
    ws.store.materialise(located.entry.oid, dest, link_type="copy", size=source.stat().st_size)
    return dest


def refuse_dest(ws: Workspace, dest: Path) -> None:
    """UsageError when `dest` is a section's manifest or lies inside a git directory."""
    real = Path(os.path.realpath(dest))
    gits = {Path(os.path.realpath(d)) for d in (ws.repo.git_dir, ws.repo.common_dir)}
    if any(real == g or g in real.parents for g in gits) or ".git" in real.parts:
        raise UsageError(f"refusing to write {os.fspath(dest)}: it is inside a git directory")
    for s in ws.access.sections:
        if real == Path(os.path.realpath(ws.workdir / s.manifest)):
            raise UsageError(f"refusing to write {os.fspath(dest)}: it is the manifest {s.manifest}",
                             hint="manifests change through `git eosvc add` and `checkout --ours/--theirs`")


def raise_failed(ws: Workspace, fetch: FetchResult, failed: Sequence[str],
                 why: dict[str, str] | None = None) -> None:
    """Raise for the `failed` paths, if any: CredentialsError when all lie in private
    sections skipped for want of credentials, else TransferError naming them."""
    shown = list(dict.fromkeys(failed))
    if not shown:
        return
    private = [s + "/" for s in fetch.skipped_sections if any(under(p, s) for p in shown)]
    if all(any(under(p, s) for s in fetch.skipped_sections) for p in shown):
        raise CredentialsError(f"{', '.join(private)} {'is' if len(private) == 1 else 'are'} private and no "
                               f"credentials were found ({ws.credential_lookup.describe()}); nothing was "
                               "downloaded there", hint=ws.credential_lookup.hint())
    reasons = dict(why or {})
    for oid, message in fetch.failed.items():
        reasons.setdefault(fetch.paths.get(oid, oid), message)
    lines = [f"  {p}: {reasons.get(p, 'not in the local store after the download')}" for p in shown[:_LISTED]]
    more = [f"  … and {len(shown) - _LISTED} more"] if len(shown) > _LISTED else []
    raise TransferError(f"{len(shown)} file(s) could not be brought:\n" + "\n".join(lines + more),
                        hint="check the network and S3 settings (`git eosvc doctor`), then try again")

"""Push: upload what S3 lacks for the commits a push sends. `upload_for_push` is the one
path to S3 for both `git push` (the pre-push hook) and `git eosvc push`.

Which commits: `rev-list <pushed tips> --not <the remote's old tips> <refs/remotes/<remote>/*>`,
intermediate commits included. Which objects: those the commits' manifests reference,
minus what their boundary commits already had (pushed before, so on S3). Which bucket:
public only if the section is public both in this clone's locked access map and in the
access.json of the commit that references it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .. import access as access_mod
from ..access import AccessMap, Section
from ..errors import ConfigError, CredentialsError, OperationError, TransferError, UsageError
from ..hashing import Sha256
from ..manifest import Entry, decode
from ..plan import Need, collect_needs
from ..transfer import Upload
from ..repo import Repo
from .guard import refuse_pushed
from .status import status
from .workspace import Workspace


@dataclass(frozen=True)
class RefUpdate:
    """One line of git's pre-push input: `<local ref> <local oid> <remote ref> <remote oid>`."""

    local_ref: str
    local_oid: str
    remote_ref: str
    remote_oid: str

    @property
    def deletes(self) -> bool:
        return is_zero(self.local_oid)


@dataclass
class UploadResult:
    needed: int = 0
    uploaded: int = 0
    bytes: int = 0


ZERO_OID = "0" * 40  # git's "no object" in hook input (any length of zeros means the same)


def is_zero(oid: str) -> bool:
    return not oid.strip("0")


def upload_for_push(ws: Workspace, updates: Sequence[RefUpdate], remote: str, url: str = "",
                    dry_run: bool = False) -> UploadResult:
    """Upload what S3 lacks for the pushed commits; raise on any failure (the push stops).
    With `dry_run`, S3 is asked what it lacks and nothing is uploaded."""
    needs, overridden, catalogs = _plan(ws, updates, remote, url)
    result = upload_needs(ws, needs, dry_run=dry_run)
    if catalogs and not dry_run:
        # readers who may not list the public bucket find its packs through these
        ws.remote().publish_catalogs(ws.settings.public_bucket, catalogs)
    if overridden and not dry_run:
        ws.lock.settle()  # the deleted lock's override served this push
    return result


def plan_push(ws: Workspace, updates: Sequence[RefUpdate], remote: str, url: str = "") -> list[Need]:
    """The objects the pushed commits need on S3, from local data only (no S3 request).

    Refuses, before anything moves, a commit that tracks files inside a section, one that
    turns a locked-private section public, and private objects without credentials. A
    code-only push needs nothing, and no credentials.
    """
    return _plan(ws, updates, remote, url)[0]


Catalogs = dict[str, list[Sha256]]  # public manifest blob id -> the objects it references


def _plan(ws: Workspace, updates: Sequence[RefUpdate], remote: str, url: str
          ) -> tuple[list[Need], bool, Catalogs]:
    commits = push_commits(ws.repo, updates, remote, url)
    if not commits:
        return [], False, {}
    refuse_pushed(ws, commits)
    overridden = refuse_access_flips(ws, commits)
    catalogs: Catalogs = {}
    needs = push_needs(ws, commits, catalogs)
    if needs and not ws.remote().can_write():  # S3 without credentials
        _refuse_private_without_credentials(ws, needs)
    return needs, overridden, catalogs


def push_commits(repo: Repo, updates: Sequence[RefUpdate], remote: str, url: str) -> list[str]:
    """Every commit a push sends whose objects may need uploading (intermediate commits too).

    Deletions send nothing. A remote tip we do not have locally cannot be excluded: we
    check more, never less.
    """
    include = [c for u in updates if not u.deletes for c in [repo.commit_of(u.local_oid)] if c]
    if not include:
        return []
    # the remote's old tip may be a commit we never fetched: check it is here, never fetch it
    exclude = [c for u in updates if not is_zero(u.remote_oid) and repo.has_local(u.remote_oid)
               for c in [repo.commit_of(u.remote_oid)] if c]
    exclude += tracking_tips(repo, remote, url)
    return repo.commits(include, exclude)


def tracking_tips(repo: Repo, remote: str, url: str) -> list[str]:
    """Tips of refs/remotes/<remote>/*: what the remote had at the last fetch or push.
    A push by URL names no remote; then the remotes configured with that URL count."""
    remotes = repo.remotes()
    chosen = [remote] if remote in remotes else [name for name, urls in remotes.items() if url and url in urls]
    tips: list[str] = []
    for name in chosen:
        tips += repo.ref_tips(f"refs/remotes/{name}/")
    return tips


def push_needs(ws: Workspace, commits: Sequence[str], catalogs: Catalogs | None = None) -> list[Need]:
    """The objects the pushed commits reference, minus those their boundary already had.

    A boundary commit (a parent outside the pushed set) is reachable from what the remote
    has, so its objects were uploaded when it was pushed: a code-only push needs nothing,
    and a push that changes one file of 10,000 asks S3 about one object, not 10,000.
    `catalogs` receives the public manifests the boundary did not have (blob id -> objects).
    """
    pushed = set(commits)
    boundary = {p for c in commits for p in ws.repo.parents(c) if p not in pushed}
    old: Catalogs = {}
    known = {(n.bucket, n.oid) for n in needs_for(ws, sorted(boundary), old)}
    new: Catalogs = {}
    needs = [n for n in needs_for(ws, commits, new) if (n.bucket, n.oid) not in known]
    if catalogs is not None:
        catalogs.update({blob: oids for blob, oids in new.items() if blob not in old})
    return needs


def needs_for(ws: Workspace, commits: Iterable[str], catalogs: Catalogs | None = None) -> list[Need]:
    """Every (bucket, object) the commits' manifests reference; manifests read once per blob.
    `catalogs` receives each public manifest's blob id and objects."""
    seen: set[tuple[str, bool]] = set()
    groups: list[tuple[str, Iterable[Entry]]] = []
    access_at: dict[str, AccessMap | None] = {}
    for commit_id in commits:
        commit_access = _access_at(ws.repo, commit_id, access_at)
        for section in ws.access.sections:
            blob_id = ws.repo.blob_id_at(commit_id, section.manifest)
            if blob_id is None:
                continue
            public = section.public and (commit_access is None or _is_public(commit_access, section))
            if (blob_id, public) in seen:
                continue
            seen.add((blob_id, public))
            manifest = decode(ws.repo.blob(blob_id), f"{commit_id[:10]}:{section.manifest}", section.path)
            groups.append((ws.settings.bucket(public), manifest.values()))
            if public and catalogs is not None:
                catalogs[blob_id] = [e.oid for e in manifest.values()]
    return collect_needs(groups)


def _access_at(repo: Repo, commit_id: str, cache: dict[str, AccessMap | None]) -> AccessMap | None:
    """The access map a commit declares (None: it has no access.json)."""
    blob_id = repo.blob_id_at(commit_id, access_mod.ACCESS_FILE)
    if blob_id is None:
        return None
    if blob_id not in cache:
        try:
            text = repo.blob(blob_id).decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"commit {commit_id[:10]} has an access.json that is not UTF-8") from None
        try:
            cache[blob_id] = access_mod.parse(text, f"{commit_id[:10]}:{access_mod.ACCESS_FILE}")
        except ConfigError as exc:
            raise ConfigError(f"commit {commit_id[:10]} has an invalid access.json: {exc.message}") from None
    return cache[blob_id]


def _is_public(amap: AccessMap, section: Section) -> bool:
    return any(s.path == section.path and s.public for s in amap.sections)


def refuse_access_flips(ws: Workspace, commits: Iterable[str]) -> bool:
    """Refuse to push any commit whose access.json makes public a section the lock keeps private.

    The lock is this clone's record of the access it agreed to; deleting it (deliberately)
    is the only way to accept a private-to-public change, for one push: returns True when
    that override let such a commit through (the push then uses it up).
    """
    locked = ws.lock.locked()
    sections = locked.get("sections") if locked else None
    if not isinstance(sections, dict):
        return False
    private = {path for path, value in sections.items() if value == "private"}
    cache: dict[str, AccessMap | None] = {}
    for commit_id in commits if private else ():
        amap = _access_at(ws.repo, commit_id, cache)
        flipped = [s.path for s in amap.sections if s.public and s.path in private] if amap else []
        if flipped and ws.fresh_lock:
            return True
        if flipped:
            raise ConfigError(
                f"commit {commit_id[:10]} makes {', '.join(p + '/' for p in flipped)} public, "
                f"but the access lock keeps it private; nothing was pushed",
                hint=f"if publishing is intended, delete {ws.lock.shown} and push again "
                     "(not recommended)")
    return False


def _refuse_private_without_credentials(ws: Workspace, needs: Sequence[Need]) -> None:
    """Anonymous callers can neither check nor upload private objects: say so up front,
    instead of letting S3 answer 403 object by object."""
    private = ws.settings.private_bucket
    hidden = [n for n in needs if n.bucket == private and private != ws.settings.public_bucket]
    if not hidden:
        return
    sections = sorted({s.path + "/" for n in hidden for s in [ws.access.section_of(n.path)] if s})
    raise CredentialsError(
        f"the pushed commits need {len(hidden)} object(s) of private section(s) "
        f"{', '.join(sections)} on S3, and no credentials are set to check or upload them "
        f"({ws.credential_lookup.describe()})",
        hint=ws.credential_lookup.hint() + ", then push again")


def upload_needs(ws: Workspace, needs: Sequence[Need], dry_run: bool = False) -> UploadResult:
    """Upload the needed objects S3 lacks, from the local store. Raises on any failure."""
    result = UploadResult(needed=len(needs))
    if not needs:
        return result
    remote = ws.remote()
    missing: list[Need] = []
    by_bucket: dict[str, list[Need]] = {}
    for n in needs:
        by_bucket.setdefault(n.bucket, []).append(n)
    for bucket, group in by_bucket.items():
        absent = remote.missing(bucket, [n.oid for n in group])
        missing += [n for n in group if n.oid in absent]
    if not missing:
        return result
    lost = [n for n in missing if not ws.store.has(n.oid)]
    if lost:
        listed = "\n".join(f"  {n.path} ({n.oid.short})" for n in lost[:10])
        more = f"\n  … and {len(lost) - 10} more" if len(lost) > 10 else ""
        raise OperationError(
            f"{len(lost)} object(s) the pushed commits need are neither in the local store nor on S3:\n"
            f"{listed}{more}",
            hint="run `git eosvc add` in the clone that has these files, commit, and push from there")
    if dry_run:
        result.uploaded = len(missing)
        result.bytes = sum(n.size for n in missing)
        return result
    if not remote.can_write():
        raise CredentialsError(
            f"{len(missing)} object(s) must be uploaded and no credentials are set "
            f"({ws.credential_lookup.describe()})",
            hint=ws.credential_lookup.hint())
    report = remote.upload([Upload(n.bucket, n.oid, n.size, ws.store.object_path(n.oid)) for n in missing])
    no_bucket = sorted({n.bucket for n in missing if "NoSuchBucket" in report.failed.get(n.oid, "")})
    if no_bucket:  # one line for the cause, not one per object
        raise TransferError(
            f"bucket {' and '.join(no_bucket)} does not exist on {ws.settings.endpoint or 'AWS S3'}; "
            "nothing was pushed to git",
            hint="`git eosvc init --create-buckets` creates them (the public one readable by anyone), "
                 "or set eosvc.publicBucket / eosvc.privateBucket to buckets that exist")
    if report.failed:
        paths = {n.oid: n.path for n in missing}
        lines = "\n".join(f"  {paths.get(o, o)}: {why}" for o, why in list(report.failed.items())[:10])
        raise TransferError(f"{len(report.failed)} upload(s) failed:\n{lines}",
                            hint="nothing was pushed to git; fix the cause and run the push again")
    result.uploaded = len(report.done)
    result.bytes = sum(n.size for n in missing if n.oid in report.done)
    return result


# ---------------------------------------------------------------- `git eosvc push`


@dataclass(frozen=True)
class PushTarget:
    """Where `git eosvc push` sends HEAD: a remote, a branch there, and the ref update
    git's pre-push hook will see."""

    remote: str
    branch: str
    update: RefUpdate
    set_upstream: bool


def push_target(ws: Workspace) -> PushTarget:
    """EOSVC's push checks (a clean tree, everything recorded), then where HEAD goes."""
    dirty = ws.repo.is_dirty()
    if dirty:
        shown = "\n".join(f"  {line}" for line in dirty[:10])
        raise UsageError(f"the work tree has uncommitted changes:\n{shown}",
                         hint="commit them (data: `git eosvc add` then `git commit`) or stash them, then push")
    unrecorded = [st for st in status(ws) if st.unrecorded]
    if unrecorded:
        names = ", ".join(st.section.path + "/" for st in unrecorded)
        raise UsageError(f"artifacts changed in {names} but were not recorded",
                         hint="run `git eosvc add` and commit, then push")
    head = ws.require_head()
    branch = ws.repo.current_branch()
    if not branch:
        raise UsageError("HEAD is not on a branch", hint="switch to a branch before pushing")
    cfg = ws.repo.config_get
    remote = cfg(f"branch.{branch}.pushremote") or cfg("remote.pushdefault") \
        or cfg(f"branch.{branch}.remote") or "origin"
    merge = cfg(f"branch.{branch}.merge")
    target = merge.removeprefix("refs/heads/") if merge else branch
    old = ws.repo.commit_of(f"refs/remotes/{remote}/{target}") or ZERO_OID
    update = RefUpdate(f"refs/heads/{branch}", head, f"refs/heads/{target}", old)
    return PushTarget(remote, target, update, set_upstream=cfg(f"branch.{branch}.remote") is None)


def git_push(ws: Workspace, target: PushTarget, quiet: bool = False, capture: bool = False) -> str:
    """`git push <remote> HEAD:refs/heads/<branch>`; git's own output (its hooks' too) goes to
    the terminal, or with `capture` (the Python API, which prints nothing) is returned."""
    args = ["push"] + (["--set-upstream"] if target.set_upstream else []) + (["-q"] if quiet else [])
    proc = ws.repo.run(*args, target.remote, f"HEAD:refs/heads/{target.branch}", check=False, capture=capture)
    words = (proc.stdout or b"").decode(errors="replace") + (proc.stderr or b"").decode(errors="replace")
    if proc.returncode != 0 and capture:
        raise OperationError(f"git push failed: {words.strip()}",
                             hint="uploaded objects stay on S3; run the push again")
    if proc.returncode != 0:
        raise OperationError("git push failed (see git's message above; uploaded objects stay on S3, "
                             "run the push again)")
    return words

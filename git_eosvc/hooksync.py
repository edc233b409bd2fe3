"""The engine's side of the git hooks: which commits a push carries and what they need
uploaded, what a commit must have in the local store, whether the work tree is current.

hookcmd validates git's arguments and prints; this module decides.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .access import Section
from .errors import CredentialsError, ManifestError
from .manifest import EMPTY, Changes, Entry, decode, diff, encode
from .plan import Need
from .repo import Repo
from .sync import (UploadResult, Workspace, add, needs_for, not_materialised,
                   refuse_access_flips, upload_needs)


UPLOADED_ENV = "EOSVC_UPLOADED"  # local commits whose objects `git eosvc push` just uploaded


class _EnvVar:
    """Set one environment variable for the duration of a `with` block."""

    def __init__(self, name: str, value: str) -> None:
        self.name, self.value = name, value
        self.saved: str | None = None

    def __enter__(self) -> None:
        self.saved = os.environ.get(self.name)
        os.environ[self.name] = self.value

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            os.environ.pop(self.name, None)
        else:
            os.environ[self.name] = self.saved


def uploaded_marker(commits: Sequence[str]) -> _EnvVar:
    """Tell the pre-push hook of a `git push` we start that these tips are already uploaded,
    so it does not ask S3 the same questions again (it still checks every other ref)."""
    return _EnvVar(UPLOADED_ENV, " ".join(commits))


def _is_zero(oid: str) -> bool:
    return not oid.strip("0")


def _commit_of(repo: Repo, oid: str) -> str | None:
    """The commit an object id names (annotated tags peeled); None if it is not local or
    not a commit (a tag of a tree or blob carries no manifests)."""
    try:
        obj = repo.git.get(oid)
    except ValueError:
        return None
    if obj is None:
        return None
    if obj.type_str == "commit":
        return str(obj.id)
    if obj.type_str == "tag":
        try:
            return str(obj.peel(_pygit2().Commit).id)
        except Exception:  # noqa: BLE001 - pygit2 raises InvalidSpecError / GitError
            return None
    return None


def _pygit2() -> Any:
    import pygit2

    return pygit2


@dataclass(frozen=True)
class RefUpdate:
    """One line of git's pre-push input: `<local ref> <local oid> <remote ref> <remote oid>`."""

    local_ref: str
    local_oid: str
    remote_ref: str
    remote_oid: str

    @property
    def deletes(self) -> bool:
        return _is_zero(self.local_oid)


def tracking_tips(repo: Repo, remote: str, url: str) -> list[str]:
    """Tips of refs/remotes/<remote>/*: what the remote had at the last fetch or push.

    A push by URL names no remote; then the remotes configured with that URL count.
    """
    git = repo.git
    names = set(git.remotes.names())
    chosen = [remote] if remote in names else [
        r.name for r in git.remotes if url and url in (r.url, r.push_url)]
    prefixes = tuple(f"refs/remotes/{name}/" for name in chosen if name)
    if not prefixes:
        return []
    tips: list[str] = []
    for ref in git.references.iterator():
        if ref.name.startswith(prefixes) and not isinstance(ref.target, str):  # skip symbolic HEAD
            tips.append(str(ref.target))
    return tips


def push_commits(ws: Workspace, updates: Sequence[RefUpdate], remote: str, url: str,
                 uploaded: Iterable[str] = ()) -> list[str]:
    """Every commit a push sends whose objects may need uploading (intermediate commits too).

    `rev-list <local tips> --not <remote's old tips known here> <refs/remotes/<remote>/*>`;
    deletions send nothing; tips in `uploaded` were uploaded by `git eosvc push` already.
    A remote tip we do not have locally cannot be excluded: we check more, never less.
    """
    done = set(uploaded)
    include = [c for u in updates if not u.deletes and u.local_oid not in done
               for c in [_commit_of(ws.repo, u.local_oid)] if c]
    if not include:
        return []
    exclude = [c for u in updates if not _is_zero(u.remote_oid)
               for c in [_commit_of(ws.repo, u.remote_oid)] if c]
    exclude += tracking_tips(ws.repo, remote, url)
    return ws.repo.commits(include, exclude)


def upload_for_push(ws: Workspace, updates: Sequence[RefUpdate], remote: str, url: str,
                    uploaded: Iterable[str] = ()) -> UploadResult:
    """The pre-push hook: upload what S3 lacks for the pushed commits; raise on any failure.

    No S3 request (and no credentials) when the commits add no objects.
    """
    commits = push_commits(ws, updates, remote, url, uploaded)
    if not commits:
        return UploadResult()
    refuse_access_flips(ws, commits)
    needs = push_needs(ws, commits)
    if not needs:
        return UploadResult()  # before credentials are even read: code-only pushes need none
    if ws.credentials is None:
        _refuse_private_without_credentials(ws, needs)
    return upload_needs(ws, needs)


def push_needs(ws: Workspace, commits: Sequence[str]) -> list[Need]:
    """The objects the pushed commits reference, minus those their boundary already had.

    A boundary commit (a parent outside the pushed set) is reachable from what the remote
    has, so its objects were uploaded when it was pushed: a code-only push needs nothing,
    and a push that changes one file of 10,000 asks S3 about one object, not 10,000.
    """
    pushed = set(commits)
    boundary = {str(p) for c in commits for p in ws.repo.commit(c).parent_ids if str(p) not in pushed}
    known = {(n.bucket, n.oid) for n in needs_for(ws, sorted(boundary))}
    return [n for n in needs_for(ws, commits) if (n.bucket, n.oid) not in known]


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
        f"{', '.join(sections)} on S3, and no credentials are set to check or upload them",
        hint="export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (read from the environment only), "
             "then push again")


@dataclass
class PreCommitReport:
    """What the pre-commit hook found."""

    missing: list[Entry] = field(default_factory=list)  # staged, but not in the local store
    unrecorded: list[tuple[Section, Changes]] = field(default_factory=list)
    auto_added: list[str] = field(default_factory=list)  # manifests re-hashed and staged


def pre_commit_check(ws: Workspace, index_path: str | None = None) -> PreCommitReport:
    """The pre-commit safety net (DESIGN.md §4), against the index being committed.

    `index_path` is git's GIT_INDEX_FILE (`git commit -a` and `git commit PATH` commit a
    temporary index, not .git/index). Unchanged files cost one stat each (stat cache).
    """
    report = PreCommitReport()
    index = _read_index(ws, index_path)
    for section in ws.access.sections:
        changes = _unrecorded(ws, section, _staged_bytes(ws, index, section.manifest))
        if changes:
            report.unrecorded.append((section, changes))
    if report.unrecorded and ws.settings.auto_add:
        # Only the changed paths: re-adding whole sections would drop entries of files this
        # clone never downloaded (say, a private section without credentials).
        paths = [str(ws.workdir / e.path) for _, ch in report.unrecorded
                 for e in (*ch.added, *ch.removed, *(n for _, n in ch.modified))]
        report.auto_added = add(ws, paths).changed or [s.manifest for s, _ in report.unrecorded]
        report.unrecorded = []
        index = _read_index(ws, index_path)  # `git add` (same GIT_INDEX_FILE) changed it
    parents = _parent_trees(ws.repo)
    for section in ws.access.sections:
        report.missing += _not_stored(ws, section, index, parents)
    return report


def _read_index(ws: Workspace, index_path: str | None) -> object:
    if not index_path:
        return ws.repo.git.index
    return _pygit2().Index(index_path)


def _staged_bytes(ws: Workspace, index: object, path: str) -> bytes | None:
    try:
        entry = index[path]  # type: ignore[index]
    except KeyError:
        return None
    return ws.repo.blob(entry.id)


def _unrecorded(ws: Workspace, section: Section, staged: bytes | None) -> Changes | None:
    """Workspace changes the staged manifest does not record (manifest.Changes), or None."""
    present = (ws.workdir / section.path).is_dir()
    if staged is None and not present:
        return None
    current = ws.scan(section) if present else {}
    if staged is not None and _lists_exactly(staged, current):
        return None  # the common case, without parsing the staged manifest strictly
    recorded = decode(staged, f"{section.manifest} (staged)", section.path) if staged else EMPTY
    # entries no checkout wrote here (never downloaded, or a failed download) are not the
    # user's deletions or edits
    seen = dict(current)
    seen.update(not_materialised(ws, section, recorded, current))
    changes = diff(recorded, seen)
    return changes if changes else None


def _lists_exactly(data: bytes, current: dict[str, Entry]) -> bool:
    """Whether manifest bytes list exactly `current`: a loose, fast read for the common case
    (10,000 lines in a few ms). Anything unusual (a quoted name, a malformed line) answers
    False, and the caller takes the strict path."""
    from .manifest import HEADER

    lines = data.split(b"\n")
    if lines[0] != HEADER or lines[-1] != b"" or len(lines) - 2 != len(current):
        return False
    get = current.get
    seen: set[str] = set()
    for line in lines[1:-1]:
        oid, _, rest = line.partition(b" ")
        size, _, raw = rest.partition(b" ")
        if raw[:1] == b'"':
            return False
        path = raw.decode("utf-8", "surrogateescape")
        e = get(path)
        if e is None or e.oid != oid.decode("ascii", "replace") or str(e.size).encode() != size \
                or path in seen:
            return False
        seen.add(path)
    return True


def _parent_trees(repo: Repo) -> list[object]:
    """Trees of the commit-to-be's parents (HEAD, plus MERGE_HEAD while concluding a merge)
    and of the commit being picked, reverted or rebased: their entries are not new."""
    ids = [h for h in [repo.head()] if h]
    for name in ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD"):
        try:
            ids += (repo.git_dir / name).read_text(encoding="ascii").split()
        except (OSError, UnicodeDecodeError):
            pass
    return [repo.git[c].tree for oid in ids for c in [_commit_of(repo, oid)] if c]


def _not_stored(ws: Workspace, section: Section, index: object, parents: Sequence[object]) -> list[Entry]:
    """Staged entries whose objects are neither in the local store nor already in a parent
    commit (those were checked when that commit was made, and may be on S3 only)."""
    try:
        blob_id = index[section.manifest].id  # type: ignore[index]
    except KeyError:
        return []
    parent_blobs = set()
    for tree in parents:
        try:
            parent_blobs.add(tree[section.manifest].id)  # type: ignore[index]
        except KeyError:
            pass
    if blob_id in parent_blobs:
        return []  # the manifest is not part of this commit's change
    staged = decode(ws.repo.blob(blob_id), f"{section.manifest} (staged)", section.path)
    known: set[str] = set()
    for blob in parent_blobs:
        try:
            known.update(e.oid for e in decode(ws.repo.blob(blob), section.manifest, section.path).values())
        except ManifestError:
            pass  # an old malformed manifest vouches for nothing
    return [e for e in staged.values() if e.oid not in known and not ws.store.has(e.oid)]


def materialised_is_current(ws: Workspace) -> bool:
    """True when every working manifest is byte-identical to what the work tree was last
    materialised to: a hook after git has nothing to do (no parse, no scan)."""
    empty = encode(EMPTY)
    for section in ws.access.sections:
        sides: list[bytes] = []
        for path in (ws.workdir / section.manifest, ws._record_path(section)):
            try:
                sides.append(path.read_bytes())
            except FileNotFoundError:
                sides.append(empty)
            except OSError:
                return False  # let checkout report it
        if sides[0] != sides[1]:
            return False
    return True

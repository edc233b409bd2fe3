"""Local gc: remove the local store's objects that nothing here needs and S3 has.

The roots (docs/gc.md): every ref (branches, tags, remote-tracking refs, refs/eosvc/* with
the work-in-progress refs, refs/stash), every entry of refs/stash's reflog with its index
and untracked commits, every other reflog entry younger than the grace period, each
worktree's HEAD, in-progress operations (MERGE_HEAD, ORIG_HEAD, a rebase's onto, …) and
index (stages 0-3 of the manifests), the manifests on disk in each worktree, what each
work tree was last materialised to, and the files in the work trees (the stat cache's
entries for paths that exist). With `history`, every commit reachable from the commit
roots counts too. Never removed, needed or not: objects younger than the grace period,
objects hard-linked into a work tree, and objects S3 does not have (or could not say).
`plan_local` (gcplan.py, pure) decides; `gc_local` gathers the facts and applies.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from ..access import MANIFESTS
from ..durability import removing
from ..errors import EosvcError, UsageError
from ..gcplan import LocalPlan, StoreObject, local_candidates, manifest_oids, plan_local
from ..gitproc import run_git
from ..hashing import Sha256
from ..progress import Progress
from ..repo import Repo
from .workspace import Workspace

_HEX = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64})\b", re.MULTILINE)
_ID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
# in-progress operations whose commits a `--continue` or `--abort` goes back to
_PSEUDO = ("HEAD", "ORIG_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD", "REVERT_HEAD", "REBASE_HEAD",
           "BISECT_HEAD", "AUTO_MERGE", "rebase-merge/orig-head", "rebase-merge/onto", "rebase-merge/amend",
           "rebase-merge/stopped-sha", "rebase-apply/orig-head", "rebase-apply/onto")
_RECORDS = ("materialised", "attempted", "left-out")  # engine/workspace.py: what a work tree holds
STASH_LOG = "refs/stash"


@dataclass
class Roots:
    """What local gc keeps, before reading any commit."""

    commits: set[str] = field(default_factory=set)   # commits whose manifests are needed
    blobs: set[str] = field(default_factory=set)     # manifest blobs (index entries)
    oids: set[Sha256] = field(default_factory=set)   # objects named directly (work trees, records)
    refs: int = 0
    reflog_entries: int = 0   # entries that count (young ones, and every stash entry)
    worktrees: int = 0


class ManifestReader:
    """The objects the manifests of many commits name; every tree and manifest blob read
    once (most commits share their manifests)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.oids: set[Sha256] = set()
        self._trees: set[str] = set()
        self._blobs: set[str] = set()
        self.commits = 0

    def add_commits(self, commits: Iterable[str], progress: Progress | None = None) -> None:
        for commit in commits:
            self.commits += 1
            if progress is not None:
                progress.update(0, items=1)
            tree = self.repo.commit(commit).tree_id
            if tree in self._trees:
                continue
            self._trees.add(tree)
            self.add_blobs(b for b in (self.repo.blob_id_at(tree, m) for m in MANIFESTS) if b)

    def add_blobs(self, blobs: Iterable[str]) -> None:
        for blob in blobs:
            if blob not in self._blobs:
                self._blobs.add(blob)
                self.oids |= manifest_oids(self.repo.blob(blob))

    @property
    def manifests(self) -> int:
        return len(self._blobs)


@dataclass
class LocalResult:
    plan: LocalPlan
    grace: float
    dry_run: bool
    roots: Roots
    commits: int = 0       # commits whose manifests were read
    manifests: int = 0     # distinct manifest blobs read
    removed: int = 0
    freed: int = 0
    failed: list[tuple[Sha256, str]] = field(default_factory=list)
    tmp_removed: int = 0
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- roots


def git_dirs(repo: Repo) -> list[Path]:
    """The main git dir and every linked worktree's, pruned or not."""
    dirs = [repo.common_dir]
    try:
        dirs += sorted(p for p in (repo.common_dir / "worktrees").iterdir() if p.is_dir())
    except OSError:
        pass
    return dirs


def worktree_paths(repo: Repo) -> list[Path]:
    """Every work tree that exists (`git worktree list`)."""
    out = repo.run("worktree", "list", "--porcelain", "-z").stdout
    paths = [Path(os.fsdecode(rec[9:])) for rec in out.split(b"\0") if rec.startswith(b"worktree ")]
    return [p for p in paths if p.is_dir()]


def all_refs(repo: Repo, skip_prefix: str | None = None) -> list[str]:
    """Every ref's commit (tags peeled; refs of trees and blobs left out)."""
    out = repo.run("for-each-ref", "--format=%(refname) %(objecttype) %(objectname) %(*objecttype) %(*objectname)"
                   ).stdout.decode(errors="replace")
    commits: list[str] = []
    for line in out.splitlines():
        name, kind, oid, peeled_kind, peeled = (line.split(" ") + ["", "", "", ""])[:5]
        if skip_prefix and name.startswith(skip_prefix):
            continue
        if kind == "commit":
            commits.append(oid)
        elif peeled_kind == "commit":
            commits.append(peeled)
    return list(dict.fromkeys(commits))


def reflog_roots(git_dir: Path, cutoff: float) -> tuple[list[str], list[str], int]:
    """(young commits, stash commits, entries counted) of the reflogs under `git_dir/logs`:
    both sides of every entry written at or after `cutoff`, and every stash entry."""
    young: list[str] = []
    stash: list[str] = []
    counted = 0
    for dirpath, _dirs, files in os.walk(git_dir / "logs"):
        for name in files:
            path = Path(dirpath, name)
            is_stash = path.relative_to(git_dir / "logs").as_posix() == STASH_LOG
            try:
                lines = path.read_bytes().splitlines()
            except OSError:
                continue
            for line in lines:
                head = line.split(b"\t", 1)[0].split(b" ")
                if len(head) < 4:
                    continue
                try:
                    when = float(head[-2])
                except ValueError:
                    when = float("inf")  # unreadable: count it
                if not (is_stash or when >= cutoff):
                    continue
                counted += 1
                # a stash entry is its new side (the old one is the entry below it)
                sides = [h.decode() for h in (head[1:2] if is_stash else head[:2])
                         if h.strip(b"0") and _ID.fullmatch(h)]
                (stash if is_stash else young).extend(sides)
    return young, stash, counted


def _pseudo_refs(git_dir: Path) -> list[str]:
    found: list[str] = []
    for name in _PSEUDO:
        try:
            data = (git_dir / name).read_bytes()
        except OSError:
            continue
        found += [m.decode() for m in _HEX.findall(data)]
    return found


def index_blobs(repo: Repo, index: Path) -> set[str]:
    """The manifest blobs an index file stages (stages 0 to 3: conflicts too)."""
    env = {**os.environ, "GIT_INDEX_FILE": os.fspath(index)}
    proc = run_git(["--literal-pathspecs", "ls-files", "-s", "-z", "--", *MANIFESTS], repo.workdir,
                   check=False, env=env)
    blobs: set[str] = set()
    for rec in proc.stdout.split(b"\0") if proc.returncode == 0 else []:
        meta = rec.partition(b"\t")[0].split(b" ")
        if len(meta) == 3 and meta[0] not in (b"040000", b"160000"):
            blobs.add(meta[1].decode())
    return blobs


def _read_oids(path: Path) -> set[Sha256]:
    try:
        return manifest_oids(path.read_bytes())
    except OSError:
        return set()


def local_roots(ws: Workspace, now: float, grace: float) -> Roots:
    repo = ws.repo
    roots = Roots()
    refs = all_refs(repo)
    roots.refs = len(refs)
    candidates = list(refs)
    stash_commits: list[str] = []
    for gd in git_dirs(repo):
        young, stashed, counted = reflog_roots(gd, now - grace)
        roots.reflog_entries += counted
        candidates += young + stashed
        stash_commits += stashed
        candidates += _pseudo_refs(gd)
        for index in (gd / "index", gd / "index.lock"):
            if index.is_file():
                roots.blobs |= index_blobs(repo, index)
        for kind in _RECORDS:
            records = gd / "eosvc" / kind
            if records.is_dir():
                for record in records.iterdir():
                    roots.oids |= _read_oids(record)
    # a stash entry is three commits: the work tree, the index (2nd parent), untracked files (3rd)
    for stash in dict.fromkeys(stash_commits):
        if repo.commit_of(stash):
            candidates += repo.parents(stash)
    roots.commits = {c for c in (repo.commit_of(x) for x in dict.fromkeys(candidates)) if c}
    paths = worktree_paths(repo)
    roots.worktrees = len(paths)
    for wt in paths:
        for manifest in MANIFESTS:
            roots.oids |= _read_oids(wt / manifest)
        rows = ws.stat_cache.load_rows(os.fspath(wt) + os.sep)
        roots.oids |= {Sha256(r[6]) for p, r in rows.items() if r[6] is not None and os.path.lexists(p)}
    return roots


def reachable(repo: Repo, tips: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """Every commit reachable from `tips` but not from `exclude` (one rev-list)."""
    if not tips:
        return []
    data = "".join(f"{t}\n" for t in tips) + "".join(f"^{x}\n" for x in exclude)
    out = repo.run("rev-list", "--ignore-missing", "--missing=allow-any", "--stdin", input=data.encode()).stdout
    return [line for line in out.decode().split("\n") if line]


# ---------------------------------------------------------------- the store and S3


def store_objects(ws: Workspace) -> list[StoreObject]:
    out: list[StoreObject] = []
    for oid in ws.store.iter_oids():
        try:
            st = os.lstat(ws.store.object_path(oid))
        except OSError:
            continue
        out.append(StoreObject(oid, st.st_size, st.st_mtime, st.st_nlink))
    return out


def on_s3(ws: Workspace, oids: Iterable[Sha256]) -> tuple[set[Sha256], list[str]]:
    """Which of `oids` S3 has, in either bucket; objects S3 could not answer for are not
    counted as there (notes say why)."""
    todo = set(oids)
    found: set[Sha256] = set()
    notes: list[str] = []
    public, private = ws.settings.public_bucket, ws.settings.private_bucket
    for bucket in dict.fromkeys([public, private]):
        if not todo:
            break
        if bucket == private and bucket != public and not ws.remote().can_read(bucket):
            notes.append(f"no credentials to check the private bucket {private}: {len(todo)} object(s) "
                         "not known to be on S3 were kept")
            break
        try:
            absent = ws.remote().missing(bucket, todo)
        except EosvcError as exc:
            notes.append(f"could not ask S3 about bucket {bucket} ({exc.message}); the objects it would "
                         "have to hold were kept")
            continue
        found |= todo - absent
        todo = absent
    return found, notes


# ---------------------------------------------------------------- gc


def gc_local(ws: Workspace, grace: float, dry_run: bool = False, history: bool = False,
             shared_store: bool = False) -> LocalResult:
    """Plan (and unless `dry_run`, apply) the removal of local store objects nobody needs."""
    if ws.settings.cache_dir and not shared_store:
        raise UsageError(f"the local store {ws.settings.cache_dir} is shared (EOSVC_CACHE_DIR / eosvc.cacheDir): "
                         "gc here cannot see what the other clones need",
                         hint="add --shared-store to go ahead: other clones then download again what they "
                              "need and was removed (only objects on S3 are ever removed)")
    now = time.time()
    roots = local_roots(ws, now, grace)
    reader = ManifestReader(ws.repo)
    commits = reachable(ws.repo, sorted(roots.commits)) if history else sorted(roots.commits)
    with Progress(0, "gc: read manifests", items=len(commits)) as progress:
        reader.add_commits(commits, progress)
    reader.add_blobs(sorted(roots.blobs))
    needed = reader.oids | roots.oids
    objects = store_objects(ws)
    candidates = local_candidates(objects, needed, now, grace)
    present, notes = on_s3(ws, [o.oid for o in candidates]) if candidates else (set(), [])
    plan = plan_local(objects, needed, present, now, grace)
    result = LocalResult(plan, grace, dry_run, roots, commits=reader.commits, manifests=reader.manifests,
                         notes=notes)
    if dry_run:
        return result
    cutoff = now - grace
    # what add vouched for (engine/vouch.py) is void from the first removal on
    with removing(ws.store.root) if plan.remove else nullcontext(), \
            Progress(0, "gc: remove", items=len(plan.remove)) as progress:
        for o in plan.remove:
            path = ws.store.object_path(o.oid)
            try:
                st = os.lstat(path)
                if st.st_mtime >= cutoff or st.st_nlink > 1:
                    continue  # stored again, or linked, since the plan
                os.unlink(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                result.failed.append((o.oid, exc.strerror or str(exc)))
                continue
            result.removed += 1
            result.freed += o.size
            progress.update(0, items=1)
    result.tmp_removed = ws.store.prune_tmp(max(grace, 24 * 3600.0))
    return result

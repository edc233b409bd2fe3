"""Work-in-progress refs: where `watch` records a section's uploaded state while a job runs,
and how another machine gets it back (`recover`).

One ref per branch and section, `refs/eosvc/wip/<branch>/<section, / as ->` (a detached
HEAD records under `HEAD`), pushed beside the branch. Its commit is HEAD's tree with that
section's manifest replaced by what the watcher uploaded, built with plumbing only
(hash-object, mktree, commit-tree: no index is written, so no hook runs); parents: HEAD,
and the previous WIP commit while HEAD has not moved. Crash safety is the order: the
objects go to S3 first (`push.upload_for_push`, the one path to S3), then the local ref
moves, then the ref is pushed; a ref therefore never names bytes S3 lacks. engine/recover.py
brings a WIP back into a work tree.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Sequence

from ..access import Section
from ..errors import OperationError, UsageError
from ..gitproc import git_said, run_git
from ..manifest import Manifest, encode
from ..repo import Repo
from ..ui import human_size
from .push import ZERO_OID, RefUpdate, UploadResult, upload_for_push
from .workspace import Workspace

WIP_PREFIX = "refs/eosvc/wip/"
_TREE_MODE, _BLOB_MODE = "040000", "100644"
# what a WIP commit of a branch with no commit yet carries, so it stands alone
_REPO_FILES = ("access.json", ".eosvcconfig", ".gitattributes", ".gitignore")


def slug(section: Section) -> str:
    """The section in a ref name: model/checkpoints -> model-checkpoints."""
    return section.path.replace("/", "-")


def branch_of(repo: Repo) -> str:
    """The branch HEAD is on; `HEAD` when detached (no branch can be named so)."""
    return repo.current_branch() or "HEAD"


def wip_ref(branch: str, section: Section) -> str:
    return f"{WIP_PREFIX}{branch}/{slug(section)}"


def choose_remote(repo: Repo, branch: str, wanted: str | None) -> str | None:
    """The git remote a WIP ref goes to: `wanted`, else where the branch pushes (as `git
    push` chooses: pushRemote, remote.pushDefault, its upstream, origin); None when the
    clone has no such remote (the ref then stays local)."""
    remotes = repo.remotes()
    if wanted:
        if wanted not in remotes:
            raise UsageError(f"no git remote named {wanted!r}",
                             hint=f"remotes here: {', '.join(remotes) or 'none'} (`git remote -v`)")
        return wanted
    cfg = repo.config_get
    name = (cfg(f"branch.{branch}.pushremote") or cfg("remote.pushdefault")
            or cfg(f"branch.{branch}.remote") or "origin")
    return name if name in remotes else None


def _git(repo: Repo, *args: str, input: bytes | None = None) -> str:
    return run_git(args, repo.workdir, input=input).stdout.decode().strip()


def _with_blob(repo: Repo, tree: str | None, parts: Sequence[str], blob: str) -> str:
    """The id of `tree` (None: empty) with the file at `parts` set to `blob` (mktree)."""
    entries: dict[bytes, bytes] = {}
    if tree:
        for rec in run_git(["ls-tree", "-z", tree], repo.workdir).stdout.split(b"\0"):
            if rec:
                meta, _, name = rec.partition(b"\t")
                entries[name] = meta
    name = os.fsencode(parts[0])
    if len(parts) == 1:
        entries[name] = f"{_BLOB_MODE} blob {blob}".encode()
    else:
        fields = entries.get(name, b"").split(b" ")
        sub = fields[2].decode() if len(fields) == 3 and fields[1] == b"tree" else None
        entries[name] = f"{_TREE_MODE} tree {_with_blob(repo, sub, parts[1:], blob)}".encode()
    text = b"".join(meta + b"\t" + n + b"\0" for n, meta in entries.items())
    return _git(repo, "mktree", "-z", input=text)


def commit_env(repo: Repo) -> dict[str, str]:
    """The environment for commit-tree: a machine without user.name / user.email (a
    training node) still records progress, as `git-eosvc watch <git-eosvc@localhost>`."""
    env = dict(os.environ)
    for key, fallback in (("name", "git-eosvc watch"), ("email", "git-eosvc@localhost")):
        if repo.config_get(f"user.{key}") is None:
            for kind in ("AUTHOR", "COMMITTER"):
                env.setdefault(f"GIT_{kind}_{key.upper()}", fallback)
    return env


def build_commit(ws: Workspace, section: Section, manifest: Manifest, parents: Sequence[str],
                 message: str, env: dict[str, str] | None = None) -> str:
    """A commit whose tree is HEAD's (a new branch: the repo's own files from the work tree)
    with the section's manifest set to `manifest`. No index, no ref is touched."""
    repo = ws.repo
    head = repo.head()
    tree = repo.commit(head).tree_id if head else None
    if head is None:
        for name in _REPO_FILES:
            if (ws.workdir / name).is_file():
                tree = _with_blob(repo, tree, [name], _git(repo, "hash-object", "-w", "--", name))
    blob = _git(repo, "hash-object", "-w", "--stdin", input=encode(manifest))
    tree = _with_blob(repo, tree, section.manifest.split("/"), blob)
    args = ["commit-tree", tree, "-m", message]
    for p in parents:
        args += ["-p", p]
    return run_git(args, repo.workdir, env=env if env is not None else commit_env(repo)).stdout.decode().strip()


@dataclass
class Published:
    commit: str
    ref: str
    upload: UploadResult
    pushed_to: str | None  # the git remote that has the ref now (None: local only)


class WipRef:
    """The WIP ref of one section on the current branch, and where it is pushed."""

    def __init__(self, ws: Workspace, section: Section, remote: str | None = None) -> None:
        self.section = section
        self.branch = branch_of(ws.repo)
        self.ref = wip_ref(self.branch, section)
        self.remote = choose_remote(ws.repo, self.branch, remote)
        # the local ref moves only once its objects are on S3: its commit needs no upload
        self.uploaded = ws.repo.commit_of(self.ref)
        self.pushed: str | None = None  # the commit the git remote has (this session)
        self._env = commit_env(ws.repo)

    def publish(self, ws: Workspace, manifest: Manifest) -> Published:
        """Record `manifest` as the section's WIP: commit, upload what S3 lacks, move the
        local ref, push it. Raises on any failure; what was done stays done."""
        repo = ws.repo
        head = repo.head()
        parents = [head] if head else []
        prev = self.uploaded
        if prev and (repo.parents(prev)[:1] == parents[:1]):
            parents.append(prev)  # same base: one chain per job, each sync on the last
        size = human_size(manifest.total_size)
        message = (f"git-eosvc watch: {self.section.path}/ on {self.branch}, {len(manifest)} file(s), {size}\n\n"
                   f"Work in progress recorded by `git eosvc watch` on {socket.gethostname()}; "
                   f"`git eosvc recover {self.section.path}` brings it into a work tree.\n")
        commit = build_commit(ws, self.section, manifest, parents, message, self._env)
        update = RefUpdate(self.ref, commit, self.ref, self.uploaded or ZERO_OID)
        uploaded = upload_for_push(ws, [update], self.remote or "")  # bytes first ...
        run_git(["update-ref", "-m", "git-eosvc watch", self.ref, commit], repo.workdir)
        self.uploaded = commit
        if self.remote is not None:  # ... then the ref that names them
            self.push(ws, commit)
        return Published(commit, self.ref, uploaded, self.remote)

    def push(self, ws: Workspace, commit: str) -> None:
        """Force-push the ref; the objects were uploaded by `publish`, so the pre-push hook
        (and any other) is skipped: it would do the same work again on every sync."""
        env = dict(os.environ, GIT_TERMINAL_PROMPT="0")  # a background push must never ask
        proc = run_git(["push", "--no-verify", "-q", str(self.remote), f"+{commit}:{self.ref}"],
                       ws.workdir, check=False, env=env)
        if proc.returncode != 0:
            err = git_said(proc.stderr).splitlines()
            raise OperationError(f"could not push {self.ref} to {self.remote}: {err[-1] if err else 'git push failed'}",
                                 hint="the objects are on S3; the next sync pushes the ref again")
        self.pushed = commit

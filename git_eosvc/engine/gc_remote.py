"""Remote gc: delete the S3 objects under this repo's prefix that no commit needs.

Order (docs/gc.md): (1) note the start time and list both buckets; (2) fetch every ref of
the git remote (branches, tags, refs/eosvc/wip/*, pull-request refs: `refs/*`) into a
temporary namespace, and take every local ref too; (3) the needed set is what the
manifests of every commit reachable from those refs name, in either bucket; (4) delete a
listed key only if its object is not needed and it was written before start - grace.
A push uploads its objects before it moves the ref, so an object a push in flight has
uploaded but not yet referenced is younger than the grace period; before each batch of
deletions the remote's refs are read again (`git ls-remote`) and any new commits' needs
are taken out of the batch. Dry run unless `apply`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import CredentialsError, OperationError, UsageError
from ..gcplan import Listed, RemotePlan, by_bucket, plan_remote, still_unneeded
from ..gitproc import git_said
from ..progress import Progress
BATCH = 1000  # objects per deletion step: the refs are checked again before each
from .gc import ManifestReader, all_refs, reachable
from .workspace import Workspace

TMP_NAMESPACE = "refs/eosvc/gc-tmp/"


@dataclass
class RemoteResult:
    plan: RemotePlan
    remote: str
    grace: float
    applied: bool
    commits: int = 0        # commits whose manifests were read
    manifests: int = 0
    refreshed: int = 0      # times the remote's refs moved during the gc and were read again
    deleted: int = 0
    freed: int = 0
    spared: int = 0         # planned deletions a ref that appeared meanwhile needed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (s3 url, why)


def choose_remote(ws: Workspace, wanted: str | None) -> str:
    """`wanted`, else the current branch's remote, else origin, else the only remote."""
    remotes = ws.repo.remotes()
    if wanted:
        if wanted not in remotes:
            raise UsageError(f"no git remote named {wanted!r}",
                             hint=f"remotes here: {', '.join(remotes) or 'none'} (`git remote -v`)")
        return wanted
    branch = ws.repo.current_branch()
    upstream = ws.repo.config_get(f"branch.{branch}.remote") if branch else None
    for name in (upstream, "origin"):
        if name and name in remotes:
            return name
    if len(remotes) == 1:
        return next(iter(remotes))
    raise UsageError("no git remote to read the refs of" if not remotes else
                     f"several git remotes ({', '.join(remotes)}) and none is origin",
                     hint="name one with --from REMOTE")


class _RemoteRefs:
    """The git remote's refs, fetched into a temporary namespace; removed by `close`."""

    def __init__(self, ws: Workspace, remote: str) -> None:
        self.ws = ws
        self.remote = remote
        self.namespace = f"{TMP_NAMESPACE}{os.getpid()}-{os.urandom(4).hex()}/"
        self.tips: set[str] = set()

    def advertised(self) -> set[str]:
        proc = self.ws.repo.run("ls-remote", "--", self.remote, check=False)
        if proc.returncode != 0:
            raise OperationError(f"git ls-remote {self.remote} failed: "
                                 f"{git_said(proc.stderr)}",
                                 hint="remote gc must read the remote's refs; nothing was deleted")
        return {line.split("\t", 1)[0] for line in proc.stdout.decode(errors="replace").splitlines()
                if "\t" in line and not line.endswith("^{}")}

    def fetch(self) -> None:
        proc = self.ws.repo.run("-c", "gc.auto=0", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                                "--no-recurse-submodules", "--", self.remote,
                                f"+refs/*:{self.namespace}*", check=False)
        if proc.returncode != 0:
            raise OperationError(f"could not fetch the refs of {self.remote}: "
                                 f"{git_said(proc.stderr)}",
                                 hint="remote gc needs every commit the remote has; nothing was deleted")
        out = self.ws.repo.run("for-each-ref", "--format=%(objectname)", self.namespace).stdout
        self.tips = set(out.decode().split())

    def moved(self) -> bool:
        return not self.advertised() <= self.tips

    def close(self) -> None:
        out = self.ws.repo.run("for-each-ref", "--format=%(refname)", self.namespace, check=False).stdout
        refs = [r for r in out.decode(errors="replace").splitlines() if r]
        if refs:
            self.ws.repo.run("update-ref", "--stdin", input="".join(f"delete {r}\n" for r in refs).encode(),
                             check=False)


def gc_remote(ws: Workspace, remote: str | None, grace: float, apply: bool = False,
              before_delete: Callable[[], None] | None = None) -> RemoteResult:
    """Plan (and with `apply`, carry out) the deletion of S3 objects no commit needs.
    `before_delete` runs just before the first deletion (tests use it to push meanwhile)."""
    name = choose_remote(ws, remote)
    store = ws.remote()
    if not store.can_write():
        raise CredentialsError(f"remote gc lists and deletes in both buckets and needs credentials "
                               f"({ws.credential_lookup.describe()})", hint=ws.credential_lookup.hint())
    if ws.repo.run("rev-parse", "--is-shallow-repository").stdout.strip() == b"true":
        raise UsageError("this clone is shallow: remote gc cannot see every commit that needs an object",
                         hint="run `git fetch --unshallow`, then gc again")
    start = time.time()
    listed: list[Listed] = []
    for bucket in dict.fromkeys([ws.settings.public_bucket, ws.settings.private_bucket]):
        listed += [Listed(bucket, store.key(o.oid), o.oid, o.size, o.modified) for o in store.list(bucket)]
    refs = _RemoteRefs(ws, name)
    try:
        refs.fetch()
        reader = ManifestReader(ws.repo)
        tips = all_refs(ws.repo)  # the fetched refs, and every local one
        commits = reachable(ws.repo, tips)
        with Progress(0, "gc: read manifests", items=len(commits)) as progress:
            reader.add_commits(commits, progress)
        plan = plan_remote(listed, reader.oids, start - grace)
        result = RemoteResult(plan, name, grace, apply)
        if apply and plan.delete:
            if before_delete is not None:
                before_delete()
            _delete(ws, refs, reader, tips, plan, result)
        result.commits, result.manifests = reader.commits, reader.manifests
    finally:
        refs.close()
    return result


def _delete(ws: Workspace, refs: _RemoteRefs, reader: ManifestReader, tips: list[str],
            plan: RemotePlan, result: RemoteResult) -> None:
    with Progress(plan.bytes, "gc: delete", items=len(plan.delete)) as progress:
        for bucket, items in by_bucket(plan.delete).items():
            for i in range(0, len(items), BATCH):
                batch = items[i:i + BATCH]
                if refs.moved():  # a push landed meanwhile: its commits' objects stay
                    refs.fetch()
                    result.refreshed += 1
                    new_tips = all_refs(ws.repo)
                    reader.add_commits(reachable(ws.repo, new_tips, exclude=tips))
                    tips = new_tips
                    kept = still_unneeded(batch, reader.oids)
                    result.spared += len(batch) - len(kept)
                    batch = kept
                failed = ws.remote().delete(bucket, [o.oid for o in batch])
                for o in batch:
                    if o.oid in failed:
                        result.failed.append((ws.remote().url(bucket, o.oid), failed[o.oid]))
                    else:
                        result.deleted += 1
                        result.freed += o.size
                        progress.update(o.size, items=1)

"""`recover`: bring the last state `watch` uploaded (a work-in-progress ref, engine/wip.py)
into this work tree, from the git remote or this clone's own refs. The section's manifest
in the work tree becomes the recorded one (not staged, not committed) and is materialised
under the no-loss rule of every checkout (plan.plan_checkout): bytes come from the store
or S3, a local file in the way that is not safely stored is kept and reported."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

from ..access import Section
from ..errors import OperationError, UsageError
from ..gitproc import git_said, run_git
from ..manifest import Manifest
from .checkout import CheckoutResult, apply, plan
from .watch import stat_walk
from .wip import WIP_PREFIX, branch_of, choose_remote, slug, wip_ref
from .workspace import Workspace

FETCHED_PREFIX = "refs/eosvc/remotes/"  # <remote>/wip/<branch>/<section>: what recover fetched


@dataclass
class Recovered:
    section: Section
    ref: str
    commit: str
    files: int
    size: int
    same_base: bool  # recorded on the commit this work tree has checked out
    unrecorded: list[str] = field(default_factory=list)  # here, not in it: written after the last upload?


@dataclass
class RecoverResult:
    source: str  # the git remote the refs came from, or "local"
    branch: str
    recovered: list[Recovered] = field(default_factory=list)
    absent: list[Section] = field(default_factory=list)  # no WIP recorded for these
    checkout: CheckoutResult = field(default_factory=CheckoutResult)


def recover(ws: Workspace, paths: Sequence[str] = (), remote: str | None = None,
            branch: str | None = None, force: bool = False) -> RecoverResult:
    """Fetch the WIP refs of `branch` (default: the current one) from `remote` (default:
    where the branch pushes; `.`: this clone's own refs), then write and materialise each
    recorded manifest of the sections (or of those `paths` are in). A manifest with
    changes not yet committed is not replaced unless `force`."""
    repo = ws.repo
    branch = branch or branch_of(repo)
    source = None if remote == "." else choose_remote(repo, branch, remote)
    sections = [s for s, _ in ws.targets(paths)]
    if source is not None:
        dest = f"{FETCHED_PREFIX}{source}/wip/{branch}/"
        proc = run_git(["fetch", "--no-tags", "--prune", "--no-write-fetch-head", "-q", source,
                        f"+{WIP_PREFIX}{branch}/*:{dest}*"], repo.workdir, check=False,
                       env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
        if proc.returncode != 0:
            err = git_said(proc.stderr)
            raise OperationError(f"could not fetch the work in progress of {branch} from {source}: {err}")
    result = RecoverResult(source or "local", branch)
    found: list[tuple[Section, str, str, Manifest]] = []
    for section in sections:
        ref = f"{FETCHED_PREFIX}{source}/wip/{branch}/{slug(section)}" if source else wip_ref(branch, section)
        commit = repo.commit_of(ref)
        if commit is None:
            result.absent.append(section)
            continue
        found.append((section, ref, commit, repo.manifest_at(commit, section.manifest, section.path)))
    changed = [s.manifest for s, _, _, wip in found
               if not force and (m := ws.working_manifest(s)) != wip and m != ws.head_manifest(s)]
    if changed:
        raise UsageError(f"{', '.join(changed)}: changes not committed yet; recovering would replace them",
                         hint="commit them first, or run again with --force (files are never lost: local "
                              "work in the way is kept)")
    head = repo.head()
    for section, ref, commit, wip in found:
        ws.write_manifest(section, wip)
        same = head is None or repo.parents(commit)[:1] == [head]  # no commit yet: no other base
        result.recovered.append(Recovered(section, ref, commit, len(wip), wip.total_size, same))
    if found:
        result.checkout = apply(ws, plan(ws, [str(ws.workdir / s.path) for s, _, _, _ in found],
                                         hint_eosvc=False))
    for r in result.recovered:  # what the job wrote after the last upload (maybe half-written)
        here = stat_walk(str(ws.workdir / r.section.path), r.section.path)
        wip = ws.working_manifest(r.section)
        r.unrecorded = sorted(p for p in here if p not in wip)
    return result

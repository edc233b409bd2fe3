"""Nothing git tracks lives inside a section, nor under `.eosvc/`.

Sections hold artifacts that git ignores; a file `git add -f`-ed there (a mistake, a
hostile commit, a symlink) would let a later checkout or merge overwrite a colleague's
unsaved, ignored artifact of the same name, and git would leave its bytes nowhere. So
pre-commit and pre-push refuse such commits, and when a fetch brings one anyway (a clone
that bypassed the hooks), the local bytes git could overwrite are saved in the store first.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import UsageError
from ..paths import under
from .workspace import Workspace

LOCAL_STATE = ".eosvc"  # never committed: git-eosvc's (and EOSVC's) local state
_TREE = 0o040000  # a tree entry's mode


def guarded(ws: Workspace) -> list[str]:
    """The paths under which git must track nothing."""
    return [s.path for s in ws.access.sections] + [LOCAL_STATE]


def refuse_staged(ws: Workspace, index_file: str | None = None) -> None:
    """pre-commit: refuse a commit whose index tracks anything under a section or `.eosvc/`,
    or a file or link where a section or one of its parents must be a directory."""
    found = ws.repo.tracked(guarded(ws), index_file=index_file)
    found += sorted(ws.repo.index_blob_ids(_ancestors(ws), index_file))
    if found:
        raise _refusal(found, "this commit would track", staged=True)


def refuse_pushed(ws: Workspace, commits: Iterable[str]) -> None:
    """pre-push: refuse when any pushed commit tracks anything under a section or `.eosvc/`,
    or a file or link in place of a section's parent directory."""
    paths = guarded(ws)
    for commit in commits:
        found = _blocking(ws, commit, paths)
        if found:
            raise _refusal(found, f"commit {commit[:10]} tracks", staged=False)


def _ancestors(ws: Workspace) -> list[str]:
    """The directories above the sections (`model`, `model/framework`): they must stay directories."""
    return sorted({s.path.rsplit("/", i)[0] for s in ws.access.sections
                   for i in range(1, s.path.count("/") + 1)})


def _blocking(ws: Workspace, commit: str, paths: Sequence[str]) -> list[str]:
    """What `commit` tracks inside or in place of the guarded paths (empty: nothing)."""
    if any(ws.repo.entry_at(commit, p) is not None for p in paths):
        return ws.repo.tracked(paths, rev=commit)
    return [a for a in _ancestors(ws) if (ws.repo.entry_at(commit, a) or (_TREE, ""))[0] != _TREE]


def _refusal(found: Sequence[str], what: str, staged: bool) -> UsageError:
    listed = "\n".join(f"  {p}" for p in found[:10]) + (f"\n  … and {len(found) - 10} more" if len(found) > 10 else "")
    state = [p for p in found if p == LOCAL_STATE or p.startswith(LOCAL_STATE + "/")]
    fix = ("`git rm -r --cached -- <path>` keeps the file and stops git tracking it; then "
           "`git eosvc add <path>` records an artifact in its section's manifest")
    if not staged:
        fix += "; rewrite the commits that added them (e.g. `git rebase -i`), then push"
    if state:
        fix += f"; {LOCAL_STATE}/ is local state and is never committed"
    return UsageError(f"{what} {len(found)} path(s) inside a section or {LOCAL_STATE}/, where only "
                      f"git-eosvc's manifests may record files:\n{listed}", hint=fix)


def save_before_overwrite(ws: Workspace, tips: Iterable[str]) -> list[tuple[str, str]]:
    """Fetched commits that track files inside a section, or a file in place of a section
    (or of its parent): save the work tree's own bytes there (ignored artifacts git would
    overwrite or remove without asking) in the store. Returns (path, sha256) of what was saved."""
    paths = guarded(ws)
    saved: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tip in tips:
        found = _blocking(ws, tip, paths)
        if not found:
            continue
        # a section git would replace wholesale: everything in it is at risk
        whole = [s.path for s in ws.access.sections if any(under(s.path, f) for f in found)]
        for rel in found + [p for w in whole for p in _files_under(ws.workdir, w)]:
            if rel in seen:
                continue
            seen.add(rel)
            try:
                st = os.lstat(ws.workdir / rel)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                saved.append((rel, ws.store.add_file(ws.workdir / rel)))
    return saved


def _files_under(workdir: Path, section: str) -> list[str]:
    out: list[str] = []
    for dirpath, dirs, files in os.walk(workdir / section):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
        out += [Path(dirpath, f).relative_to(workdir).as_posix() for f in files]
    return out

"""Git access: the work tree, revisions, manifests at a revision, the clone's config.

Reads go through pygit2 in-process (imported lazily: hooks run on every checkout);
commands that change git state go through the real `git` binary.
"""

from __future__ import annotations

import os
import subprocess
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from .errors import ManifestError, OperationError, UsageError
from .manifest import EMPTY, Manifest, decode

if TYPE_CHECKING:
    import pygit2

def run_git(args: Sequence[str], cwd: Path, check: bool = True, input: bytes | None = None,
            capture: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run the real git binary; on failure raise OperationError with git's own words."""
    proc = subprocess.run(["git", *args], cwd=cwd, input=input,
                          stdout=subprocess.PIPE if capture else None,
                          stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        err = (proc.stderr or b"").decode(errors="replace").strip()
        raise OperationError(f"git {' '.join(args)} failed" + (f": {err}" if err else ""))
    return proc


class Repo:
    """One git work tree (linked worktrees share `common_dir`)."""

    def __init__(self, git_dir: Path, workdir: Path) -> None:
        self.git_dir = git_dir
        self.workdir = workdir

    @classmethod
    def discover(cls, start: Path | None = None) -> "Repo":
        import pygit2

        start = Path(start or os.getcwd())
        found = pygit2.discover_repository(str(start))
        if not found:
            raise UsageError(f"not a git repository: {start}",
                             hint="run this inside a clone (or `git eosvc clone NAME`)")
        repo = cls(Path(found).resolve(), Path())
        if repo.git.is_bare or repo.git.workdir is None:
            raise UsageError("git-eosvc needs a work tree; this is a bare repository")
        repo.workdir = Path(repo.git.workdir).resolve()
        return repo

    @cached_property
    def git(self) -> "pygit2.Repository":
        import pygit2

        return pygit2.Repository(str(self.git_dir))

    @cached_property
    def common_dir(self) -> Path:
        """The directory linked worktrees share (`git rev-parse --git-common-dir`)."""
        pointer = self.git_dir / "commondir"
        if pointer.is_file():
            return (self.git_dir / pointer.read_text().strip()).resolve()
        return self.git_dir

    @property
    def state_dir(self) -> Path:
        return self.common_dir / "eosvc"

    def rel(self, path: Path) -> str:
        return path.resolve().relative_to(self.workdir).as_posix()

    # -------------------------------------------------------------- revisions

    def head(self) -> str | None:
        """HEAD's commit id, or None on an unborn branch."""
        try:
            return str(self.git.head.target) if not self.git.head_is_unborn else None
        except Exception:  # noqa: BLE001 - pygit2 raises GitError for a broken HEAD
            return None

    def resolve(self, rev: str) -> str:
        try:
            obj = self.git.revparse_single(rev)
            return str(obj.peel(_commit_type()).id)
        except (KeyError, ValueError, Exception) as exc:  # noqa: BLE001 - GitError is not exported stably
            raise UsageError(f"unknown revision {rev!r}") from exc

    def has_commit(self, oid: str) -> bool:
        try:
            obj = self.git.get(oid)
        except ValueError:
            return False
        return obj is not None and obj.type_str == "commit"

    def commits(self, include: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
        """`git rev-list include --not exclude`: every commit reachable from include only."""
        import pygit2

        walker = None
        for oid in include:
            if walker is None:
                walker = self.git.walk(oid, pygit2.enums.SortMode.NONE)
            else:
                walker.push(oid)
        if walker is None:
            return []
        for oid in exclude:
            if self.has_commit(oid):
                walker.hide(oid)
        return [str(c.id) for c in walker]

    def blob(self, oid: object) -> bytes:
        """The bytes of a blob by id (an id from a tree or the index)."""
        import pygit2

        obj = self.git[oid]  # type: ignore[index]
        if not isinstance(obj, pygit2.Blob):
            raise OperationError(f"git object {oid} is not a file")
        return obj.data

    def commit(self, oid: str) -> "pygit2.Commit":
        import pygit2

        obj = self.git[oid]
        if not isinstance(obj, pygit2.Commit):
            raise UsageError(f"{oid} is not a commit")
        return obj

    def file_at(self, rev: str | None, path: str) -> bytes | None:
        """A file's bytes at a revision (None: no such file, or no revision)."""
        import pygit2

        if rev is None:
            return None
        obj = self.git.get(rev) if len(rev) == 40 else None
        commit = obj if isinstance(obj, pygit2.Commit) else self.git.revparse_single(rev).peel(pygit2.Commit)
        try:
            entry = commit.tree[path]
        except KeyError:
            return None
        blob = self.git[entry.id]
        return blob.data if isinstance(blob, pygit2.Blob) else None

    def manifest_at(self, rev: str | None, manifest_path: str, section: str) -> Manifest:
        data = self.file_at(rev, manifest_path)
        if data is None:
            return EMPTY
        return decode(data, f"{rev[:10] if rev else ''}:{manifest_path}", section)

    def working_manifest(self, manifest_path: str, section: str) -> Manifest:
        try:
            data = (self.workdir / manifest_path).read_bytes()
        except FileNotFoundError:
            return EMPTY
        except IsADirectoryError:
            raise ManifestError(f"{manifest_path} is a directory, expected a manifest file") from None
        return decode(data, manifest_path, section)

    # -------------------------------------------------------------- state

    def operation_in_progress(self) -> str | None:
        """rebase / merge / cherry-pick / revert / bisect, while git is in the middle of one."""
        d = self.git_dir
        if (d / "rebase-merge").exists() or (d / "rebase-apply").exists():
            return "rebase"
        for name, what in (("MERGE_HEAD", "merge"), ("CHERRY_PICK_HEAD", "cherry-pick"),
                           ("REVERT_HEAD", "revert"), ("BISECT_LOG", "bisect")):
            if (d / name).exists():
                return what
        return None

    def config_values(self, prefix: str = "eosvc.") -> dict[str, str]:
        """The clone's git config (all levels) under `prefix`, keys lowercased."""
        out: dict[str, str] = {}
        for entry in self.git.config:
            name = entry.name.lower()
            if name.startswith(prefix):
                out[name] = entry.value or ""
        return out

    def default_name(self) -> str:
        return self.workdir.name

    def run(self, *args: str, check: bool = True, capture: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return run_git(args, self.workdir, check=check, capture=capture, input=input)

    def is_dirty(self) -> list[str]:
        """Tracked or untracked-not-ignored changes, as `git status --porcelain` lines."""
        out = self.run("status", "--porcelain", "-z").stdout.decode(errors="replace")
        return [x for x in out.split("\0") if x]


def _commit_type() -> type:
    import pygit2

    return pygit2.Commit

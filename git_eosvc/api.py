"""The public Python API (docs/api.md): a clone's artifacts from code — notebooks,
pipelines, threads — without a command line.

    repo = git_eosvc.open_repo("path/to/clone")
    with repo.open("data/train.csv", rev="v1.0") as f: ...

Every method returns a typed value (api_results.py), raises only `errors.EosvcError`
subclasses, prints nothing (progress goes to an optional `on_progress` callback), and
opens the repository afresh, as each command does: it sees the work tree, config and
credentials as they are at that moment, and shares no git process or database handle
with other threads. Only the S3 remote is kept across calls (thread-safe; a botocore
client costs ~0.1 s to make), while settings and credentials stay the same. Methods that
change the work tree or the index (add, checkout, commit, push, and `path` without `rev`)
take a per-Repository lock; reads run in parallel.
"""

from __future__ import annotations

import builtins
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator, Mapping, Sequence, Union

from . import progress
from .access import ACCESS_FILE, Section
from .api_results import (AddResult, CheckoutResult, FetchResult, PushResult, Status, add_of,
                          checkout_of, fetch_of, status_of)
from .config import Settings
from .credentials import Credentials
from .engine import checkout as checkout_mod
from .engine.add import add as engine_add
from .engine.diff import build_report
from .engine.fetch import FetchResult as EngineFetch
from .engine.fetch import fetch as engine_fetch
from .engine.push import git_push, push_target, upload_for_push
from .engine.read import raise_failed as _raise_failed
from .engine.read import stored as _stored
from .engine.status import status as engine_status
from .engine.watch import Uploader, uploading
from .engine.workspace import Workspace
from .errors import ConfigError, NotFoundError, OperationError, UsageError
from .manifest import Entry
from .paths import under, user_relpath
from .progress import ProgressCallback
from .remote import Remote
from .review import Report

PathLike = Union[str, "os.PathLike[str]"]


class Repository:
    """One clone with git-eosvc set up (an `access.json` at its root)."""

    def __init__(self, path: PathLike | None = None) -> None:
        """The repository around `path` (default: the current directory). Raises UsageError
        outside a git work tree, ConfigError without access.json or on an access-lock mismatch."""
        with Workspace.open(Path(path) if path is not None else None) as ws:
            self.root: Path = ws.workdir
        self._lock = threading.RLock()  # one writer of the work tree and index at a time
        self._remotes = _Remotes()

    def close(self) -> None:
        """Release the S3 connections kept across calls (the next call makes new ones)."""
        self._remotes.close()

    def __enter__(self) -> "Repository":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Repository({str(self.root)!r})"

    @classmethod
    def clone(cls, url: str, dest: PathLike, *, install: bool = True, checkout: bool = True,
              on_progress: ProgressCallback | None = None) -> "Repository":
        """`git clone url dest`, then (`install`) the hooks and drivers, so plain git commands
        move the bytes, then (`checkout`) HEAD's artifacts; what `git eosvc clone --url` does.
        `repo.checkout()` afterwards reports what was written, kept or skipped."""
        from . import eosvc
        from .install import install as install_hooks
        from .repo import Repo

        target = eosvc.clone(Path(dest).name, "", Path(dest), url, quiet=True)
        if not (target / ACCESS_FILE).exists():
            raise ConfigError(f"{url} has no {ACCESS_FILE}: cloned into {target} as a plain git repository",
                              hint="`git eosvc init` there sets it up")
        if install:
            with Repo.discover(target) as repo:
                install_hooks(repo)
        cloned = cls(target)
        if checkout and os.environ.get("EOSVC_SKIP") != "1":
            cloned._checkout((), False, on_progress, hints=False)  # as `git eosvc clone`: no S3 hint search
        return cloned

    # -------------------------------------------------------------- reading artifacts

    def path(self, p: PathLike, rev: str | None = None, *,
             on_progress: ProgressCallback | None = None) -> Path:
        """A local path holding the bytes of `p` (relative to the repository root, or absolute).

        Without `rev`: the work tree's file (or directory), first brought up to date with
        the working manifest under the no-loss rule (a missing file is downloaded and
        written; a locally modified one is left as it is). With `rev` (any revision git
        takes): the object in the local store, downloaded if needed; the work tree is not
        touched. Store objects are read-only: copy one before changing it.
        """
        with self._session(on_progress) as ws:
            rel, section = _locate(ws, p)
            if rev is not None:
                return _stored(ws, section, _entry_at(ws, section, rel, rev))
            with self._lock:
                return _materialised(ws, section, rel)

    def open(self, p: PathLike, rev: str | None = None, *,
             on_progress: ProgressCallback | None = None) -> BinaryIO:
        """`p` opened for binary reading, never changing the work tree.

        Without `rev`: the work tree's file if it is there, else the working manifest's
        version. With `rev`: that revision's version. Those come from the local store,
        downloaded (and verified) first when missing, so the file is seekable (zip, parquet
        and HDF5 readers seek) and a second read costs no transfer.
        """
        with self._session(on_progress) as ws:
            rel, section = _locate(ws, p)
            if rev is None and (ws.workdir / rel).is_file():
                return builtins.open(ws.workdir / rel, "rb")
            entry = _entry_at(ws, section, rel, rev) if rev is not None else \
                _entry_in(ws.working_manifest(section), rel, "in the working manifest", section)
            return builtins.open(_stored(ws, section, entry), "rb")

    def files(self, prefix: PathLike | None = None, rev: str | None = None) -> list[Entry]:
        """The recorded files (`path`, `oid` = sha256, `size`), under `prefix` if given: of the
        working manifests, or of revision `rev`."""
        with self._session() as ws:
            rel = _relpath(ws, prefix) if prefix is not None else None
            commit = ws.repo.resolve(rev) if rev is not None else None
            out: list[Entry] = []
            for s in ws.access.sections:
                if rel is not None and not (under(rel, s.path) or under(s.path, rel)):
                    continue
                manifest = ws.working_manifest(s) if commit is None else ws.head_manifest(s, commit)
                out += [e for e in manifest.values() if rel is None or under(e.path, rel)]
            return out

    def status(self, *, remote: bool = False) -> Status:
        """Per section: what the manifests record, what they do not yet, what is not here;
        with `remote`, also what is not on S3 (asks S3)."""
        with self._session() as ws:
            return status_of(engine_status(ws, remote=remote), ws.notes)

    def diff(self, a: str | None = None, b: str | None = None) -> Report:
        """The artifact-level diff, as `git eosvc diff` computes it: `a` (default HEAD) against
        `b` (default the working manifests); `a` may also be `A..B` or `A...B`. Render it with
        `git_eosvc.review.render_text` or `to_json`."""
        revs = [a or "HEAD", b] if b is not None else [a] if a is not None else []
        with self._session() as ws:
            return build_report(ws, revs)

    # -------------------------------------------------------------- changing the clone

    def add(self, paths: Sequence[PathLike] = ()) -> AddResult:
        """Hash the sections (or `paths`), store the bytes locally, rewrite and stage the manifests."""
        with self._lock, self._session() as ws:
            return add_of(engine_add(ws, _absolute(self.root, paths)), ws.notes)

    def checkout(self, paths: Sequence[PathLike] = (), *, force: bool = False,
                 on_progress: ProgressCallback | None = None) -> CheckoutResult:
        """Materialise the working manifests (or `paths`), downloading what is missing. Local
        edits are kept (`force`: saved in the store, then replaced). Raises TransferError when
        a download failed, after writing everything else."""
        return self._checkout(paths, force, on_progress)

    def _checkout(self, paths: Sequence[PathLike], force: bool, on_progress: ProgressCallback | None,
                  hints: bool = True) -> CheckoutResult:
        with self._lock, self._session(on_progress) as ws:
            plans = checkout_mod.plan(ws, _absolute(self.root, paths), discard=force, hint_eosvc=hints)
            result = checkout_mod.apply(ws, plans)
            _raise_failed(ws, result.fetch, result.failed + [p for p, _ in result.errors], dict(result.errors))
            return checkout_of(result, ws.notes + _skipped_notes(result.fetch))

    def fetch(self, revs: Sequence[str] = (), *, on_progress: ProgressCallback | None = None) -> FetchResult:
        """Download the objects the revisions (default HEAD) need into the local store."""
        with self._session(on_progress) as ws:
            result = engine_fetch(ws, list(revs))
            _raise_failed(ws, result, [result.paths.get(oid, oid) for oid in result.failed])
            return fetch_of(result, ws.notes + _skipped_notes(result))

    def commit(self, message: str) -> str:
        """`git commit -m message` (the hooks run, git's words are kept); the new commit's id."""
        with self._lock, self._session() as ws:
            proc = ws.repo.run("commit", "-q", "-m", message, check=False)
            if proc.returncode != 0:
                said = (proc.stdout + proc.stderr).decode(errors="replace").strip()
                raise OperationError(f"git commit failed: {said or 'exit ' + str(proc.returncode)}")
            return ws.require_head()

    def push(self, *, on_progress: ProgressCallback | None = None) -> PushResult:
        """`git eosvc push`: refuse a dirty tree or unrecorded artifacts, upload what the new
        commits need (through the same function as the pre-push hook), then `git push`.

        The upload runs here, not only in the hook, so `on_progress` sees it and the result
        counts it; the hook then finds everything on S3.
        """
        with self._lock, self._session(on_progress) as ws:
            target = push_target(ws)
            uploaded = upload_for_push(ws, [target.update], target.remote)
            output = git_push(ws, target, capture=True)
            return PushResult(target.remote, target.branch, target.update.local_oid, uploaded.uploaded,
                              uploaded.bytes, output, tuple(ws.notes))

    def uploading(self, section: PathLike, every: float = 300.0, remote: str | None = None) -> Uploader:
        """`with repo.uploading("model/checkpoints", every=300): train()`: upload the section's
        stable files every `every` seconds while the job runs, and once more at the end (also
        on an exception or SIGTERM); `git eosvc recover` brings the last upload to another
        clone (docs/watch.md)."""
        return uploading(self.root, str(section), every=every, remote=remote)

    # -------------------------------------------------------------- plumbing

    @contextmanager
    def _session(self, on_progress: ProgressCallback | None = None) -> Iterator[Workspace]:
        """A workspace for one call, its progress routed to `on_progress` (or nowhere)."""
        with progress.routed(on_progress), _Session.open(self.root) as ws:
            assert isinstance(ws, _Session)
            ws.remotes = self._remotes
            yield ws


class _Remotes:
    """The S3 remote of the latest (settings, credentials), shared by a Repository's calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[Settings, Credentials | None, Remote] | None = None

    def get(self, settings: Settings, credentials: Credentials | None) -> Remote:
        with self._lock:
            if self._current is not None and self._current[:2] == (settings, credentials):
                return self._current[2]
            # changed settings or keys: a new remote; the old one is left to calls still using it
            self._current = (settings, credentials, Remote(settings, credentials))
            return self._current[2]

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current[2].close()
                self._current = None


class _Session(Workspace):
    """A workspace for one API call whose S3 remote is the Repository's (not closed with it)."""

    remotes: _Remotes | None = None

    def remote(self) -> Remote:
        return super().remote() if self.remotes is None else self.remotes.get(self.settings, self.remote_credentials)


def open_repo(path: PathLike | None = None) -> Repository:
    """The repository around `path` (default: the current directory)."""
    return Repository(path)


def _relpath(ws: Workspace, p: PathLike) -> str:
    """`p` (relative to the repository root, or absolute) as a clean repo-relative path."""
    return user_relpath(os.fspath(p), ws.workdir, cwd=str(ws.workdir))


def _absolute(root: Path, paths: Sequence[PathLike]) -> list[str]:
    """Paths as the engine takes them (it reads relative ones from the cwd, as a command does)."""
    return [str(root / p) for p in paths]


def _locate(ws: Workspace, p: PathLike) -> tuple[str, Section]:
    rel = _relpath(ws, p)
    section = ws.access.section_of(rel)
    if section is None:
        roots = ", ".join(s.path + "/" for s in ws.access.sections)
        raise UsageError(f"'{os.fspath(p)}' is not inside a section (sections: {roots})")
    return rel, section


def _entry_in(manifest: Mapping[str, Entry], rel: str, where: str, section: Section) -> Entry:
    entry = manifest.get(rel)
    if entry is not None:
        return entry
    if any(under(q, rel) for q in manifest):
        raise UsageError(f"'{rel}' is a directory {where}; path() and open() of a revision take one file",
                         hint="files(prefix, rev) lists the files under it")
    raise NotFoundError(f"'{rel}' is not recorded {where} ({section.manifest})",
                        hint="files(rev=...) lists what is recorded")


def _entry_at(ws: Workspace, section: Section, rel: str, rev: str) -> Entry:
    return _entry_in(ws.head_manifest(section, ws.repo.resolve(rev)), rel, f"at {rev}", section)


def _materialised(ws: Workspace, section: Section, rel: str) -> Path:
    here = ws.workdir / rel
    manifest = ws.working_manifest(section)
    if not any(under(q, rel) for q in manifest):
        if os.path.lexists(here):
            return here  # not recorded, but the work tree has it: that is what is here
        raise NotFoundError(f"'{rel}' is neither recorded in {section.manifest} nor in the work tree",
                            hint="files() lists what is recorded; add() records new files")
    result = checkout_mod.apply(ws, checkout_mod.plan(ws, [str(here)], hint_eosvc=False))
    skipped = [rel] if section.path in result.skipped_sections else []
    _raise_failed(ws, result.fetch, result.failed + [p for p, _ in result.errors] + skipped, dict(result.errors))
    return here


def _skipped_notes(fetch: EngineFetch) -> list[str]:
    return [f"skipped private section {p}/: no credentials" for p in fetch.skipped_sections]

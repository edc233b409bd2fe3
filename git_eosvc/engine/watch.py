"""Background upload for long jobs: `with uploading(repo, "model/checkpoints", every=300): train()`
(and `git eosvc watch`, its command-line twin).

A thread looks at the section every `every` seconds. An unchanged section costs one stat
walk (no hashing, no database, no git, no network). A file is *stable* once its stat
(inode, size, mtime, ctime) has not changed for `settle` seconds (its own timestamps say
so, or the watcher saw the same stat that long ago); files still being written wait. Each
stable new or changed file is hashed (stat cache), copied into the local store (verified)
and uploaded; then the section's state is recorded as a WIP commit and pushed
(engine/wip.py: bytes on S3 first, then the ref that names them). On leaving the block —
normally, on an exception, or on SIGTERM — a final sync takes every file as it is: the
writer has finished. The work tree's manifests, index and materialised record are never
touched: `git eosvc add` afterwards records the files, and `git push` finds them on S3.
"""

from __future__ import annotations

import math
import os
import signal
import stat as _stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Callable, TypeVar

from ..access import Section
from ..cache import WORKSPACE_TMP_PREFIX
from ..errors import EosvcError, UsageError
from ..manifest import Entry, Manifest
from ..paths import under, user_relpath
from ..scan import scan
from .wip import WipRef
from .workspace import Workspace

T = TypeVar("T")
_Key = tuple[int, int, int, int, int]  # (dev, inode, size, mtime_ns, ctime_ns)
_FULL_SCAN = 2000  # more changed files than this: one walk of the scope hashes them


@dataclass
class SyncResult:
    """What one sync did. `commit` is None when nothing changed since the last one."""

    section: str
    files: int = 0  # entries of the recorded manifest
    hashed: int = 0  # new or changed stable files read this sync
    stored: int = 0  # objects new to the local store
    uploaded: int = 0  # objects uploaded to S3
    bytes: int = 0  # bytes uploaded
    pending: int = 0  # files still being written, left for a later sync
    commit: str | None = None
    ref: str = ""
    pushed_to: str | None = None  # the git remote that has the ref (None: local only)
    final: bool = False


def resolve_scope(ws: Workspace, section: str) -> tuple[Section, str]:
    """A section (name or path) or a path inside one: (section, the watched path in it).
    Relative paths are from the repo root; absolute ones must lie inside the work tree."""
    text = section.strip().rstrip("/") or section
    for s in ws.access.sections:
        if text in (s.name, s.path):
            return s, s.path
    rel = user_relpath(text, ws.workdir, cwd=str(ws.workdir))
    found = ws.access.section_of(rel)
    if found is None:
        roots = ", ".join(s.path + "/" for s in ws.access.sections)
        raise UsageError(f"{section!r} is not inside a section", hint=f"sections of this repo: {roots}")
    return found, rel


def stat_walk(root: str, rel_root: str) -> dict[str, _Key]:
    """rel path -> stat key of every regular file below root, as `scan` sees them (no
    symlinks, no nested .git, no git-eosvc temp files); one lstat per file, nothing else."""
    out: dict[str, _Key] = {}
    dirs = [(root, rel_root)]
    is_reg = _stat.S_ISREG
    while dirs:
        d_abs, d_rel = dirs.pop()
        try:
            with os.scandir(d_abs) as it:
                for e in it:
                    name = e.name
                    if name[0] == "." and (name.lower() == ".git" or name.startswith(WORKSPACE_TMP_PREFIX)):
                        continue
                    try:
                        if e.is_dir(follow_symlinks=False):
                            dirs.append((e.path, f"{d_rel}/{name}"))
                            continue
                        st = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if is_reg(st.st_mode):
                        out[f"{d_rel}/{name}"] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except OSError:
            continue  # vanished or unreadable: its files keep their last recorded version
    return out


class Uploader:
    """Uploads a section in the background while a job writes it; a context manager.

    `on_sync(result)` is called after each sync that recorded something (and after the
    final one), `on_error(exc)` when a background sync failed (the next one retries),
    both from the watcher's thread. The engine prints nothing.
    """

    def __init__(self, where: Path | str | Workspace, section: str, every: float = 300.0,
                 remote: str | None = None, settle: float | None = None,
                 on_sync: Callable[[SyncResult], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 handle_sigterm: bool = True) -> None:
        if not every > 0:
            raise UsageError(f"the interval must be more than 0 seconds, not {every}")
        self.every = float(every)
        self.settle = min(self.every, 10.0) if settle is None else max(0.0, float(settle))
        start = where.workdir if isinstance(where, Workspace) else Path(where)
        # a workspace of its own: the caller's may be in use on another thread meanwhile
        self._ws = Workspace.open(start)
        try:
            self.section, self.scope = resolve_scope(self._ws, section)
            _refuse_links(self._ws.workdir, self.scope)
            if not self._ws.remote().can_write():
                raise self._no_credentials()
            self._wip = WipRef(self._ws, self.section, remote)
        except BaseException:
            self._ws.close()
            raise
        self.on_sync, self.on_error = on_sync, on_error
        self.errors: list[BaseException] = []
        self.last: SyncResult | None = None  # the last sync that recorded something
        self._handle_sigterm = handle_sigterm
        self._old_sigterm: object = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._final_error: BaseException | None = None
        self._closed = False
        base = self._ws.working_manifest(self.section)  # what `add` would start from
        self._base, self._last = base, base
        self._snap: dict[str, _Key] | None = None
        self._seen: dict[str, tuple[_Key, float]] = {}  # stat, and when the watcher first saw it
        self._hashed: dict[str, tuple[_Key, Entry]] = {}  # stable, hashed and in the store
        self._pending: dict[str, float] = {}  # still being written: when it may be stable
        self._dirty = True  # the first sync records the state even if nothing changed

    def _no_credentials(self) -> EosvcError:
        from ..errors import CredentialsError

        lookup = self._ws.credential_lookup
        return CredentialsError(f"watching uploads to S3, and no credentials are set ({lookup.describe()})",
                                hint=lookup.hint())

    @property
    def ref(self) -> str:
        """The WIP ref this watcher records to."""
        return self._wip.ref

    @property
    def remote(self) -> str | None:
        """The git remote the WIP ref is pushed to (None: no remote; it stays local)."""
        return self._wip.remote

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "Uploader":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="eosvc-watch", daemon=True)
            self._thread.start()
        return self

    def close(self) -> SyncResult | None:
        """Stop, after a final sync of everything present; raises what that sync raised."""
        if self._closed:
            return self.last
        self._closed = True
        try:
            if self._thread is not None:
                self._stop.set()
                self._thread.join()
            else:
                self._final()
        finally:
            self._ws.close()
        if self._final_error is not None:
            raise self._final_error
        return self.last

    def __enter__(self) -> "Uploader":
        if self._handle_sigterm and threading.current_thread() is threading.main_thread() \
                and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            # SIGTERM ends the block like an exception would, so the final sync runs
            self._old_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self.close()
        except Exception as flush_error:
            if exc is None:
                raise
            exc.add_note(f"git-eosvc: the final upload failed too: {flush_error}")
        finally:
            if self._old_sigterm is not None:
                signal.signal(signal.SIGTERM, self._old_sigterm)  # type: ignore[arg-type]
                self._old_sigterm = None

    # ------------------------------------------------------------ the thread

    def _loop(self) -> None:
        begun = time.monotonic()
        next_tick = begun
        recheck = math.inf
        while not self._stop.wait(max(0.0, min(next_tick, recheck) - time.monotonic())):
            now = time.monotonic()
            if now >= next_tick:  # the next regular tick; missed ones are not made up
                next_tick = begun + self.every * (math.floor((now - begun) / self.every) + 1)
            try:
                self._report(self.sync())
            except Exception as exc:  # noqa: BLE001 - one failed sync must not end the watch
                self.errors.append(exc)
                if self.on_error is not None:
                    _quietly(self.on_error, exc)
            recheck = math.inf
            if self._pending:  # look again when the first of them may have settled
                wait = max(min(self._pending.values()) - time.time(), min(self.every, 0.25)) + 0.05
                recheck = time.monotonic() + wait
        self._final()

    def _final(self) -> None:
        try:
            result = self.sync(final=True)
            if result is None:  # nothing new: the last recorded state stands
                result = SyncResult(self.section.path, files=len(self._last), ref=self.ref,
                                    pushed_to=self._wip.remote if self._wip.pushed else None, final=True)
            self._report(result)
        except BaseException as exc:  # noqa: BLE001 - handed to close()
            self._final_error = exc

    def _report(self, result: SyncResult | None) -> None:
        if result is not None:
            if result.commit is not None:
                self.last = result
            if self.on_sync is not None:
                _quietly(self.on_sync, result)

    # ------------------------------------------------------------ one sync

    def sync(self, final: bool = False) -> SyncResult | None:
        """Look at the section once; store, upload and record what is stable. None when
        nothing changed (the cheap path: one stat walk). `final`: every file is done."""
        ws, section = self._ws, self.section
        snap = stat_walk(str(ws.workdir / self.scope), self.scope)
        ignore, base = ws.ignore, self._base  # .eosvcignore: as `add`, but what the manifest records
        snap = {r: k for r, k in snap.items() if r in base or not ignore.ignored(r, below=section.path)}
        if snap == self._snap and not self._pending and not self._dirty and not final:
            return None
        self._snap = snap
        stable = self._stable(snap, final)
        result = SyncResult(section.path, pending=len(self._pending), ref=self.ref, final=final)
        self._hash_and_store(snap, stable, result)
        manifest = self._compose(snap)
        result.files = len(manifest)
        if not self._dirty and manifest == self._last:
            return None
        self._dirty = True  # until recorded and pushed: a failure is retried by the next sync
        published = self._wip.publish(ws, manifest)
        self._dirty, self._last = False, manifest
        result.commit, result.pushed_to = published.commit, published.pushed_to
        result.uploaded, result.bytes = published.upload.uploaded, published.upload.bytes
        return result

    def _stable(self, snap: dict[str, _Key], final: bool) -> list[str]:
        """The files whose stat has not changed for `settle` seconds (all of them: `final`);
        the others go to `_pending` with the time they may be stable."""
        now = time.time()
        seen, settle = self._seen, self.settle
        stable: list[str] = []
        pending: dict[str, float] = {}
        for rel, key in snap.items():
            got = seen.get(rel)
            if got is None or got[0] != key:
                got = seen[rel] = (key, now)
            changed = max(key[3], key[4]) / 1e9  # mtime, and ctime (a rename, a touch -d)
            if final or now - changed >= settle or now - got[1] >= settle:
                stable.append(rel)
            else:
                pending[rel] = min(changed, got[1]) + settle
        for rel in [r for r in seen if r not in snap]:
            del seen[rel]
        for rel in [r for r in self._hashed if r not in snap]:
            del self._hashed[rel]
        self._pending = pending
        return stable

    def _hash_and_store(self, snap: dict[str, _Key], stable: list[str], result: SyncResult) -> None:
        """Hash the stable files not hashed at this stat yet (stat cache first), then copy
        them into the store, verified; a file that changed meanwhile waits (pending)."""
        ws = self._ws
        todo = [rel for rel in stable if (self._hashed.get(rel) or (None,))[0] != snap[rel]]
        if not todo:
            return
        scanned = scan(ws.workdir, self.section.path, ws.stat_cache, jobs=ws.settings.jobs,
                       paths=todo if len(todo) <= _FULL_SCAN else [self.scope])
        store = ws.store
        for rel in todo:
            entry = scanned.files.get(rel)
            path = ws.workdir / rel
            try:
                if entry is None or _key(os.lstat(path)) != snap[rel]:
                    raise OSError("changed")  # changed since the walk: not stable after all
                if not store.has(entry.oid):
                    store.add_file(path, entry.oid)  # re-hashed: must still be these bytes
                    result.stored += 1
            except (OSError, EosvcError):
                self._pending[rel] = time.time() + self.settle
                continue
            self._hashed[rel] = (snap[rel], entry)
            result.hashed += 1
        result.pending = len(self._pending)

    def _compose(self, snap: dict[str, _Key]) -> Manifest:
        """The section as recorded now: stable files as hashed; files still being written
        at their last recorded version (new ones not yet); outside the watched path, and
        entries no checkout brought here, as `add` would keep them."""
        ws, section, scope, last = self._ws, self.section, self.scope, self._last
        out = {p: e for p, e in last.items() if not under(p, scope)}
        current: dict[str, Entry] = {}
        for rel, key in snap.items():
            done = self._hashed.get(rel)
            if done is not None and done[0] == key:
                out[rel] = current[rel] = done[1]
            elif rel in last:
                out[rel] = last[rel]
        for p, e in last.items():  # in scope, here but not a regular file we read (a symlink, ...)
            if p not in snap and under(p, scope) and os.path.lexists(ws.workdir / p):
                out[p] = e
        out.update({p: e for p, e in ws.not_materialised(section, self._base, current).items() if under(p, scope)})
        for p in ws.pending_deletions(section, self._base, current):
            out.pop(p, None)
        return Manifest(out.values())


def _refuse_links(workdir: Path, scope: str) -> None:
    """The watched path and its parents must be real directories (or absent): `scan`
    refuses to follow symlinks, and so does the watcher, before the job starts."""
    cur = workdir
    for part in scope.split("/"):
        cur = cur / part
        if cur.is_symlink():
            raise UsageError(f"refusing to watch {scope!r}: {cur.relative_to(workdir).as_posix()!r} is a symlink",
                             hint="git-eosvc does not follow symlinks; use a real directory")


def _key(st: os.stat_result) -> _Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _quietly(fn: Callable[[T], None], arg: T) -> None:
    try:
        fn(arg)
    except Exception:  # noqa: BLE001 - a caller's callback must not stop the uploads
        pass


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def uploading(path_or_workspace: Path | str | Workspace, section: str, every: float = 300.0,
              remote: str | None = None) -> Uploader:
    """`with uploading(".", "model/checkpoints", every=300): train()`: upload the section's
    stable files every `every` seconds and once more at the end (also on an exception or
    SIGTERM); `git eosvc recover` brings the last uploaded state to another clone."""
    return Uploader(path_or_workspace, section, every=every, remote=remote)

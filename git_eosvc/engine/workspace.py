"""The Workspace: one work tree with its repo, access map, settings, local store, stat
cache and S3 remote; plus the materialised record (what the work tree was last
materialised to) and the manifests as the work tree and the commits have them."""

from __future__ import annotations

import os
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

from .. import access as access_mod
from .. import config as config_mod
from ..access import AccessMap, Section
from ..atomic import write_atomic
from ..cache import Store
from ..errors import ManifestError, UsageError
from ..ignore import FetchFilter, Patterns, load_ignore, split_list
from ..lock import AccessLock
from ..manifest import EMPTY, Entry, Manifest, check_path, decode, encode
from ..paths import user_relpath
from ..credentials import Credentials, Lookup, find
from ..repo import Repo
from ..scan import SKIP_TMP, ScanResult, scan
from ..staging import Staging
from ..statcache import StatCache
from .leftovers import written_after

if TYPE_CHECKING:  # imported when a command first needs it: a no-op status or hook never does
    from ..remote import Remote


class Workspace:
    """One work tree with its access map, settings, local store and stat cache.

    `notes` collects warnings for the person (files a scan could not read); the CLI and
    hook layers print them, the engine never does.
    """

    def __init__(self, repo: Repo, access: AccessMap, settings: config_mod.Settings,
                 fresh_lock: bool = False) -> None:
        self.repo = repo
        self.access = access
        self.settings = settings
        self.lock = AccessLock(repo.state_dir, repo.workdir)
        # the user deleted the lock to accept an access change; the next push may carry it
        self.fresh_lock = fresh_lock
        self.notes: list[str] = []
        self.clone_config: dict[str, str] = {}  # the clone's eosvc.* git config, as read at open
        self._stat_cache: StatCache | None = None
        self._remote: Remote | None = None

    @classmethod
    def open(cls, start: Path | None = None, check_lock: bool = True,
             repo: Repo | None = None, settle: bool = True) -> "Workspace":
        """The workspace of `repo`, or of the repository around `start` (default: cwd).
        The store keeps add's deferred promises first (durability.py): objects a crash
        damaged are removed, and with `settle` (all but add, status and pre-commit, which
        never make a store copy the only one) the rest are flushed to disk."""
        repo = repo or Repo.discover(start)
        access = access_mod.load(repo.workdir)
        committed = config_mod.read_config_file(repo.workdir / config_mod.CONFIG_FILE)
        clone_config = repo.config_values()
        settings = config_mod.resolve(os.environ, clone_config, committed, repo.default_name())
        # the lock also pins where the committed config sends data, so a pulled commit
        # cannot quietly redirect private objects to another bucket or endpoint
        ws = cls(repo, access, settings)
        ws.clone_config = clone_config
        if damaged := ws.store.settle(sync=settle):
            ws.notes.append(f"{len(damaged)} object(s) `add` stored just before the machine went down were "
                            "damaged and removed from the local store; `git eosvc add` stores them again "
                            "from the work tree (or `git eosvc checkout` fetches them)")
        if check_lock:
            ws.fresh_lock = ws.lock.check(access, config_mod.storage_of(committed),
                                          tracked=lambda p: repo.index_blob_id(p) is not None)
        return ws

    @property
    def workdir(self) -> Path:
        return self.repo.workdir

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.cache_dir or self.repo.state_dir / "objects")

    @property
    def stat_cache(self) -> StatCache:
        if self._stat_cache is None:
            self.repo.state_dir.mkdir(parents=True, exist_ok=True)
            self._stat_cache = StatCache(self.repo.state_dir / "stat.db")
        return self._stat_cache

    @cached_property
    def credential_lookup(self) -> Lookup:
        """Credentials from the explicit sources (credentials.py), looked up when first needed:
        a hook with nothing to transfer reads no ~/.aws or ~/.eosvc file."""
        return find(os.environ, self.settings.profile, self.settings.profile_source, self.workdir)

    @property
    def credentials(self) -> Credentials | None:
        return self.credential_lookup.credentials

    @property
    def remote_credentials(self) -> Credentials | None:
        """The credentials the remote uses: none for a directory remote (file permissions
        decide; nothing is looked up), else `credentials`."""
        return None if self.settings.directory is not None else self.credentials

    def remote(self) -> Remote:
        """One remote per workspace (S3, or a directory): its clients and connection pools
        serve every transfer. Ask it, not `credentials`, whether a bucket can be read or
        written (`can_read`, `can_write`)."""
        if self._remote is None:
            from ..remote import Remote

            self._remote = Remote(self.settings, self.remote_credentials, index_cache=self.store.root / "packs")
        return self._remote

    def bucket(self, section: Section) -> str:
        return self.settings.bucket(section.public)

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
            self._remote = None
        if self._stat_cache is not None:
            self._stat_cache.close()
            self._stat_cache = None
        self.repo.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        """The sections this work tree holds: a section whose manifest a sparse checkout
        left out (skip-worktree) is not here, so nothing in it is added, deleted or written."""
        return tuple(s for s in self.access.sections
                     if (self.workdir / s.manifest).exists() or not self.repo.skip_worktree(s.manifest))

    # -------------------------------------------------------------- paths

    def relpath(self, raw: str) -> str:
        return user_relpath(raw, self.workdir)

    def targets(self, paths: Sequence[str]) -> list[tuple[Section, list[str] | None]]:
        """Sections to work on, each with the repo-relative paths inside it (None: all)."""
        if not paths:
            return [(s, None) for s in self.sections]
        chosen: dict[str, tuple[Section, list[str] | None]] = {}
        for raw in paths:
            rel = self.relpath(raw)
            section = self.access.section_of(rel)
            if section is None:
                roots = ", ".join(s.path + "/" for s in self.access.sections)
                raise UsageError(f"Unsupported path '{raw}'. Allowed roots: {roots}")
            sub = None if rel == section.path else rel
            if sub is not None:
                check_path(sub, section.path)
            prev = chosen.get(section.path)
            if prev is None:
                chosen[section.path] = (section, None if sub is None else [sub])
            elif prev[1] is not None:
                chosen[section.path] = (section, None if sub is None else prev[1] + [sub])
        return list(chosen.values())

    def require_head(self) -> str:
        head = self.repo.head()
        if head is None:
            raise UsageError("this branch has no commits yet")
        return head

    # -------------------------------------------------------------- manifests

    def working_manifest(self, section: Section) -> Manifest:
        return self.repo.working_manifest(section.manifest, section.path)

    def head_manifest(self, section: Section, rev: str | None = None) -> Manifest:
        return self.repo.manifest_at(rev or self.repo.head(), section.manifest, section.path)

    def write_manifest(self, section: Section, manifest: Manifest) -> bool:
        """Write the section's manifest if its bytes change; return whether they did."""
        path = self.workdir / section.manifest
        data = encode(manifest)
        try:
            if path.read_bytes() == data:
                return False
        except FileNotFoundError:
            pass
        write_atomic(path, data)
        return True

    # -------------------------------------------------------------- the materialised record

    def record_path(self, section: Section) -> Path:
        return self.repo.git_dir / "eosvc" / "materialised" / section.manifest.replace("/", "%2F")

    def materialised(self, section: Section) -> Manifest:
        """What this work tree was last materialised to (the 'old' side of a checkout)."""
        for path in (self.record_path(section), self._left_out_path(section)):
            try:
                return decode(path.read_bytes(), str(path), section.path)
            except FileNotFoundError:
                continue
            except ManifestError:
                return EMPTY  # a damaged record only costs safety checks against the store
        return EMPTY

    def record_materialised(self, section: Section, manifest: Manifest) -> None:
        write_atomic(self.record_path(section), encode(manifest))
        self._left_out_path(section).unlink(missing_ok=True)

    def attempt_path(self, section: Section) -> Path:
        return self.repo.git_dir / "eosvc" / "attempted" / section.manifest.replace("/", "%2F")

    def is_current(self) -> bool:
        """Every working manifest is byte-identical to what the work tree was last
        materialised to, or to what the last reconcile already tried and reported (files
        kept, downloads skipped or failed): a hook after git has nothing to do (no parse,
        no scan). The hooks' sh fast path checks the same (hookscript._fast_path)."""
        for section in self.sections:
            try:
                manifest = (self.workdir / section.manifest).read_bytes()
            except FileNotFoundError:
                manifest = None
            except OSError:
                return False  # let checkout report it
            if not any(_same(manifest, path) for path in (self.record_path(section), self.attempt_path(section))):
                return False
        return True

    def forget_left_out(self) -> None:
        """A section a sparse checkout left out has no manifest here: its record moves aside
        (eosvc/left-out/), so the hooks' fast path sees the work tree as current, and comes
        back as the 'old' side when the manifest does (its files are still ours to update)."""
        for section in self.access.sections:
            if section not in self.sections:
                self.attempt_path(section).unlink(missing_ok=True)
                record = self.record_path(section)
                if record.exists():
                    aside = self._left_out_path(section)
                    aside.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(record, aside)

    def _left_out_path(self, section: Section) -> Path:
        return self.repo.git_dir / "eosvc" / "left-out" / section.manifest.replace("/", "%2F")

    def record_attempt(self, settled: bool) -> None:
        """After a reconcile: when it left something waiting on the user (`settled` False:
        kept edits, private sections without credentials, conflicts), remember the manifests
        it tried, so the next hooks do not retry and re-report until they change;
        `git eosvc checkout` always retries."""
        self.forget_left_out()
        for section in self.sections:
            path = self.attempt_path(section)
            if settled:
                path.unlink(missing_ok=True)
                continue
            try:
                write_atomic(path, (self.workdir / section.manifest).read_bytes())
            except FileNotFoundError:
                path.unlink(missing_ok=True)

    # -------------------------------------------------------------- left out on purpose

    def dropped_path(self, section: Section) -> Path:
        return self.repo.git_dir / "eosvc" / "dropped" / section.manifest.replace("/", "%2F")

    def dropped(self, section: Section) -> Manifest:
        """Entries `git eosvc drop` removed from this work tree (per work tree, until
        `git eosvc checkout PATH` brings them back): no checkout or hook writes them again."""
        path = self.dropped_path(section)
        try:
            return decode(path.read_bytes(), str(path), section.path)
        except (FileNotFoundError, ManifestError):
            return EMPTY

    def record_dropped(self, section: Section, manifest: Manifest) -> None:
        if manifest:
            write_atomic(self.dropped_path(section), encode(manifest))
        else:
            self.dropped_path(section).unlink(missing_ok=True)

    @cached_property
    def fetch_filter(self) -> FetchFilter:
        """`eosvc.fetchInclude` / `eosvc.fetchExclude` of this clone (or EOSVC_FETCH_INCLUDE /
        EOSVC_FETCH_EXCLUDE): comma-separated gitignore-style patterns, as in Git LFS."""
        def value(name: str) -> list[str]:
            env = os.environ.get(f"EOSVC_FETCH_{name.upper()}")
            return split_list(env if env is not None else self.clone_config.get(f"eosvc.fetch{name}"))
        return FetchFilter(value("include"), value("exclude"))

    def left_out(self, section: Section) -> Callable[[str], bool] | None:
        """Paths a checkout does not bring here unless named (`git eosvc checkout PATH`):
        dropped, or outside the clone's fetch filter. None: nothing is left out."""
        dropped = self.dropped(section)
        wanted = self.fetch_filter
        if not dropped and not wanted:
            return None
        return lambda p: p in dropped or (bool(wanted) and not wanted.wanted(p))

    # -------------------------------------------------------------- the work tree

    @cached_property
    def ignore(self) -> Patterns:
        """.eosvcignore at the top, after the built-in defaults (ignore.DEFAULTS)."""
        return load_ignore(self.workdir)

    def _tracked(self, section: Section) -> Callable[[str, bool], bool]:
        """Whether the manifests (working, or last materialised) record a path, or a path
        below a directory: read only when the scan first meets an ignored name."""
        known: list[tuple[set[str], set[str]]] = []

        def tracked(path: str, is_dir: bool) -> bool:
            if not known:
                try:
                    files = set(self.working_manifest(section))
                except ManifestError:
                    files = set()  # conflict markers: what was materialised still counts
                files |= set(self.materialised(section))
                dirs = {f[:i] for f in files for i in range(len(f)) if f[i] == "/"}
                known.append((files, dirs))
            return path in known[0][1 if is_dir else 0]
        return tracked

    def scan(self, section: Section, paths: Sequence[str] | None = None, keep: bool = False) -> ScanResult:
        """Hash the section's files (stat cache first); unreadable files become notes;
        ignored ones (.eosvcignore) are left out unless the manifests record them. `keep`:
        large files hashed are also written to store temp files (scan's `kept`)."""
        result = scan(self.workdir, section.path, self.stat_cache, jobs=self.settings.jobs, paths=paths,
                      ignore=self.ignore, tracked=self._tracked(section),
                      keep=(lambda: Staging(self.store)) if keep else None)
        self.notes += [f"{path}: {why}" for path, why in result.skipped if why != SKIP_TMP]
        return result

    def prune_tmp(self, scanned: ScanResult, older_than: float = 3600) -> list[str]:
        """Remove our temporary files a killed copy left in the work tree (a live copy's is
        younger than `older_than` seconds). Returns the paths removed."""
        removed: list[str] = []
        limit = time.time() - older_than
        for path, why in scanned.skipped:
            if why != SKIP_TMP:
                continue
            try:
                target = self.workdir / path
                if target.lstat().st_mtime < limit:
                    target.unlink()
                    removed.append(path)
            except OSError:
                pass  # gone already, or not ours to remove: the next scan sees it again
        return removed

    def current(self, section: Section) -> dict[str, Entry]:
        """The section's files as the work tree has them now (empty when it has no directory)."""
        return self.current_scan(section).files

    def current_scan(self, section: Section) -> ScanResult:
        """`current` as a scan result: `lists(manifest bytes)` answers the common question
        without building an Entry per file when the stat cache vouches for the whole walk."""
        return self.scan(section) if (self.workdir / section.path).is_dir() else ScanResult()

    def not_materialised(self, section: Section, manifest: Mapping[str, Entry],
                         current: Mapping[str, Entry]) -> dict[str, Entry]:
        """Manifest entries the work tree does not hold because no checkout wrote them: absent
        and never materialised here (a private section read without credentials, a partial
        download), or still the version last materialised (a download failed). These are not
        the user's deletions or edits, and `add` must not record them as such."""
        record = self.materialised(section)
        out: dict[str, Entry] = {}
        for p, e in manifest.items():
            here = current.get(p)
            if here is None:
                if p not in record and not os.path.lexists(self.workdir / p):
                    out[p] = e
            elif here.oid != e.oid and p in record and record[p].oid == here.oid:
                out[p] = e
        return out

    def pending_deletions(self, section: Section, manifest: Mapping[str, Entry],
                          current: Mapping[str, Entry]) -> dict[str, Entry]:
        """Files the manifest dropped that are still here exactly as last materialised and
        untouched since (a checkout killed, failed or skipped before deleting them): not the
        user's additions, and `add` must not revive them. A file written here after the
        record, even with the same bytes, is the user's (`written_since_record`)."""
        record = self.materialised(section)
        left = {p: e for p, e in current.items()
                if p not in manifest and p in record and record[p].oid == e.oid}
        rewritten = self.written_since_record(section, left.values())
        return {p: e for p, e in left.items() if p not in rewritten}

    def record_without_user_writes(self, section: Section, listed: Mapping[str, Entry]) -> dict[str, Entry]:
        """The record, less the files the manifest (`listed`) does not list that were written
        after it: a rewrite of the record must not make the user's files look like a
        checkout's leftovers (which `add` skips and the next checkout deletes)."""
        record = dict(self.materialised(section))
        for path in self.written_since_record(section, (e for p, e in record.items() if p not in listed)):
            del record[path]
        return record

    def written_since_record(self, section: Section, entries: Iterable[Entry]) -> set[str]:
        """Of `entries`' paths, the files the user wrote after the section's record was
        written (engine/leftovers.py has the rule)."""
        return written_after(self.workdir, entries, (self.record_path(section), self._left_out_path(section)),
                             self.store.object_path)

def _same(manifest: bytes | None, record: Path) -> bool:
    """A manifest (None: absent) equals a record file (absent: the empty manifest)."""
    try:
        data = record.read_bytes()
    except FileNotFoundError:
        return manifest is None or manifest == encode(EMPTY)
    except OSError:
        return False
    return manifest == data or (manifest is None and data == encode(EMPTY))

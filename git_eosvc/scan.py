"""Walk a section directory and hash its files, skipping the ones a stat cache vouches for.

The stat cache (SQLite, shared by worktrees) maps an absolute path and its stat tuple
(dev, inode, size, mtime_ns, ctime_ns) to the sha256 read at that state. An entry is only
trusted when the file's last change (max of mtime and ctime) is older than the moment the
hashing started by more than RACY_NS: otherwise a write in the same timestamp tick as the
read could have changed the bytes without changing the stat tuple (git's "racy git"
problem). ctime joins mtime because users can set mtime back (`touch -d`, `cp -p`,
`tar`, `os.utime`) but not ctime.

Only the standard library is imported at module level, and sqlite3/concurrent.futures
only when needed: this runs inside git hooks, where startup time is the budget.
"""

from __future__ import annotations

import os
import stat as _stat
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from .cache import WORKSPACE_TMP_PREFIX
from .errors import ManifestError, UsageError
from .hashing import CHUNK, Sha256, hash_file, is_sha256
from .manifest import Entry, check_path, path_problem

RACY_NS = 2_000_000_000  # coarser than any filesystem timestamp granularity we meet (FAT: 2 s)
_SCHEMA = 1
_U64 = (1 << 64) - 1

SKIP_SYMLINK = "symlinks are not tracked"
SKIP_GIT = "nested .git is not tracked"
SKIP_SPECIAL = "not a regular file (socket, fifo or device)"
SKIP_TMP = "git-eosvc temporary file"
SKIP_UNSTABLE = "changed while being hashed (still being written?)"

# (path bytes, dev, ino, size, mtime_ns, ctime_ns, sha256 if trusted else None); dev/ino
# as stored (signed 64-bit).
_Row = tuple[bytes, int, int, int, int, int, "str | None"]
_FS_ENCODING = (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
_new_str = str.__new__  # Sha256 without re-validating: the digests were checked in bulk


def _s64(v: int) -> int:
    """SQLite integers are signed 64-bit; some filesystems hand out inodes above 2**63."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _is_corrupt(exc: BaseException) -> bool:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    msg = str(exc).lower()
    return "malformed" in msg or "not a database" in msg or "no such table" in msg


class StatCache:
    """SQLite stat cache at db_path (WAL, safe for concurrent processes).

    Only a cache: a corrupt database is deleted and rebuilt, a locked or unwritable one
    is skipped; neither ever reaches the user as an error.
    """

    def __init__(self, db_path: Path, racy_ns: int = RACY_NS) -> None:
        self.db_path = Path(db_path)
        self.racy_ns = racy_ns
        self._db: Any = None  # sqlite3.Connection, imported lazily
        self._disabled = False
        self._rebuilt = False

    def __enter__(self) -> "StatCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            finally:
                self._db = None

    # ------------------------------------------------------------ connection

    def _conn(self) -> Any:
        if self._db is not None or self._disabled:
            return self._db
        import sqlite3

        for attempt in (0, 1):
            db = None
            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(os.fspath(self.db_path), timeout=5.0, isolation_level=None,
                                     check_same_thread=False)
                self._init(db)
                self._db = db
                return db
            except sqlite3.DatabaseError as exc:
                if db is not None:
                    db.close()
                if attempt == 0 and _is_corrupt(exc):
                    self._delete_files()
                    continue
                break
            except OSError:
                break
        self._disabled = True  # unusable (read-only dir, locked for >5 s): run uncached
        return None

    @staticmethod
    def _init(db: Any) -> None:
        if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA:
            db.execute("BEGIN IMMEDIATE")
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA:  # lost a race?
                    db.execute("DROP TABLE IF EXISTS stat")
                    # path is a BLOB: names need not be UTF-8; WITHOUT ROWID keeps the range scan on the key.
                    db.execute("CREATE TABLE stat (path BLOB PRIMARY KEY, dev INTEGER, ino INTEGER, "
                               "size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, oid TEXT, "
                               "written_ns INTEGER) WITHOUT ROWID")
                    db.execute(f"PRAGMA user_version = {_SCHEMA}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        try:
            db.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
        except Exception:  # e.g. a filesystem without shared memory: the default journal works
            pass
        db.execute("PRAGMA synchronous = NORMAL")  # a lost cache row only costs a re-hash

    def _delete_files(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(os.fspath(self.db_path) + suffix)
            except OSError:
                pass

    def _failed(self, exc: BaseException) -> None:
        """An error mid-use: rebuild once if the file is corrupt, otherwise carry on uncached."""
        self.close()
        if _is_corrupt(exc) and not self._rebuilt:
            self._rebuilt = True
            self._delete_files()
        else:
            self._disabled = True

    # ------------------------------------------------------------ reads

    def _load(self, prefix: str) -> dict[str, _Row]:
        """Every row whose path starts with prefix, in one range query on the primary key.

        The racy check runs in SQL: a row's oid comes back as None unless the row is
        trusted (fewer Python objects per row: this query is most of a no-op `status`).
        """
        import sqlite3

        lo = os.fsencode(prefix)
        if not lo:
            return {}
        hi = lo[:-1] + bytes([lo[-1] + 1]) if lo[-1] < 255 else lo + b"\xff" * 8
        for _ in (0, 1):
            db = self._conn()
            if db is None:
                return {}
            try:
                rows = db.execute(
                    "SELECT path, dev, ino, size, mtime_ns, ctime_ns, CASE WHEN written_ns - ? > "
                    "max(mtime_ns, ctime_ns) AND length(oid) = 64 THEN oid END "
                    "FROM stat WHERE path >= ? AND path < ?", (self.racy_ns, lo, hi)).fetchall()
                break
            except sqlite3.DatabaseError as exc:
                self._failed(exc)
        else:
            return {}
        # Validate every digest at once (non-hex characters survive the translate)
        # instead of 10,000 Sha256() regex matches; length was checked in SQL.
        oids = [r[6] for r in rows if r[6] is not None]
        if oids and "".join(oids).encode("ascii", "replace").translate(None, b"0123456789abcdef"):
            rows = [r if r[6] is None or is_sha256(r[6]) else (*r[:6], None) for r in rows]
        enc, errs = _FS_ENCODING
        return {r[0].decode(enc, errs): r for r in rows}

    def get_many(self, prefix: str) -> dict[str, tuple[int, int, int, int, int, str]]:
        """abspath -> (dev, ino, size, mtime_ns, ctime_ns, sha256) for the rows under prefix
        that pass the racy check; the caller still compares the stat tuple."""
        return {p: (r[1] & _U64, r[2] & _U64, r[3], r[4], r[5], r[6])
                for p, r in self._load(prefix).items() if r[6] is not None}

    def lookup(self, abspath: str, st: os.stat_result) -> Sha256 | None:
        """The cached sha256 of abspath if the entry matches st and is trusted."""
        import sqlite3

        db = self._conn()
        if db is None:
            return None
        try:
            row = db.execute("SELECT dev, ino, size, mtime_ns, ctime_ns, oid, written_ns FROM stat "
                             "WHERE path = ?", (os.fsencode(abspath),)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._failed(exc)
            return None
        if row is None:
            return None
        dev, ino, size, m, c, oid, written = row
        if (dev & _U64, ino & _U64, size, m, c) != _key(st) or max(m, c) + self.racy_ns >= written:
            return None
        try:
            return Sha256(oid)
        except ManifestError:  # a damaged row: just a miss
            return None

    # ------------------------------------------------------------ writes

    def record(self, items: Iterable[tuple[str, os.stat_result, Sha256]],
               written_ns: int | None = None, forget: Iterable[str] = ()) -> None:
        """Store (abspath, stat, sha256) rows and drop `forget` paths, in one transaction.

        written_ns is when the hashing *started* (default: now); scan passes its start
        time so a write racing the read can never be trusted.
        """
        import sqlite3

        w = time.time_ns() if written_ns is None else written_ns
        fsencode = os.fsencode
        rows = [(fsencode(p), _s64(st.st_dev), _s64(st.st_ino), st.st_size, st.st_mtime_ns,
                 st.st_ctime_ns, str(oid), w) for p, st, oid in items]
        gone = [(fsencode(p),) for p in forget]
        if not rows and not gone:
            return
        for _ in (0, 1):
            db = self._conn()
            if db is None:
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany("INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                    db.executemany("DELETE FROM stat WHERE path = ?", gone)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                return
            except sqlite3.OperationalError as exc:
                if not _is_corrupt(exc):  # busy for >5 s: skip; the next scan re-hashes
                    return
                self._failed(exc)
            except sqlite3.DatabaseError as exc:
                self._failed(exc)


# ---------------------------------------------------------------- scanning


@dataclass
class ScanResult:
    files: dict[str, Entry] = field(default_factory=dict)  # repo-relative posix path -> Entry
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    hashed: int = 0  # files actually read this time (0 on a no-op re-scan)


def _check_dirs(root: str, rel: str, upto: int, what: str) -> str | None:
    """Refuse symlinks among the first `upto` components of rel (below root).
    Returns the absolute path, or None if a component does not exist."""
    parts = rel.split("/")
    cur = root
    for i, part in enumerate(parts[:upto]):
        cur = os.path.join(cur, part)
        sub = "/".join(parts[: i + 1])
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            return None
        if _stat.S_ISLNK(st.st_mode):
            raise UsageError(f"refusing to scan {what!r}: {sub!r} is a symlink",
                             hint="git-eosvc does not follow symlinks; use a real directory")
        if not _stat.S_ISDIR(st.st_mode):
            raise UsageError(f"cannot scan {what!r}: {sub!r} is not a directory")
    return os.path.join(root, *parts)


class _Unstable(Exception):
    """A file kept changing while it was read: its hash would describe no real state."""


def _hash_stable(abspath: str, st: os.stat_result) -> tuple[Sha256, int, os.stat_result] | str | None:
    """Hash a regular file and make sure it did not change or get swapped meanwhile.
    Returns (sha256, size, stat after); a skip reason if it stopped being a regular file
    (say, replaced by a symlink: its target must not be hashed); None if it vanished."""
    for _ in range(3):
        oid, size = hash_file(abspath)
        try:
            after = os.lstat(abspath)
        except FileNotFoundError:
            return None
        if _stat.S_ISLNK(after.st_mode):
            return SKIP_SYMLINK
        if not _stat.S_ISREG(after.st_mode):
            return SKIP_SPECIAL
        if _key(after) == _key(st) and size == after.st_size:
            return oid, size, after
        st = after  # changed between listing and reading, or while reading: read again
    raise _Unstable()


def scan(workdir: Path, section: str, stat_cache: StatCache | None, jobs: int = 8,
         paths: Sequence[str] | None = None) -> ScanResult:
    """Hash every regular file under workdir/section (or only under `paths`).

    `paths` are repo-relative files or directories inside the section (the section itself
    means all of it); one that does not exist contributes nothing, one below a symlinked
    directory is refused. Symlinks, nested .git, sockets/fifos/devices, unreadable entries,
    files that kept changing while read and git-eosvc temp files are reported in `skipped`,
    never followed or hashed: callers should leave their manifest entries alone rather than
    treat them as deleted. A missing section yields no files; a section that is (or sits
    below) a symlink is refused (UsageError).
    """
    started = time.time_ns()  # before any read: the racy check compares against this
    problem = path_problem(section)
    if problem:
        raise UsageError(f"bad section {section!r}: path {problem}")
    root = os.path.abspath(workdir)
    result = ScanResult()
    skipped = result.skipped
    sec_abs = _check_dirs(root, section, section.count("/") + 1, section)
    if sec_abs is None:
        return result

    dirs: list[tuple[str, str]] = []  # (abspath, relpath) still to list
    candidates: list[tuple[str, str, os.stat_result]] = []  # (abspath, relpath, lstat)
    if paths is None:
        dirs.append((sec_abs, section))
    else:
        wanted: list[str] = []
        for p in paths:
            p = p.rstrip("/") or p  # `data/sub/` from shell completion
            if p == section:
                wanted = [section]
                break
            check_path(p, section)
            wanted.append(p)
        wanted.sort(key=os.fsencode)
        kept: list[str] = []
        for p in wanted:  # drop paths inside another requested directory
            if kept and p.startswith(kept[-1] + "/"):
                continue
            kept.append(p)
        for p in kept:
            if p == section:
                dirs.append((sec_abs, section))
                continue
            ab = _check_dirs(root, p, p.count("/"), p)  # parents: no symlinks
            if ab is None:
                continue
            name = p.rsplit("/", 1)[-1]
            if name.startswith(WORKSPACE_TMP_PREFIX):
                skipped.append((p, SKIP_TMP))
                continue
            try:
                st = os.lstat(ab)
            except FileNotFoundError:
                continue
            except OSError as exc:
                skipped.append((p, f"unreadable: {exc.strerror}"))
                continue
            if _stat.S_ISLNK(st.st_mode):
                skipped.append((p, SKIP_SYMLINK))
            elif _stat.S_ISDIR(st.st_mode):
                dirs.append((ab, p))
            elif _stat.S_ISREG(st.st_mode):
                candidates.append((ab, p, st))
            else:
                skipped.append((p, SKIP_SPECIAL))

    # One query for the whole section; each listed file is then checked against it.
    rows = stat_cache._load(sec_abs + os.sep) if stat_cache is not None else {}
    get_row = rows.get
    files = result.files
    to_hash: list[tuple[str, str, os.stat_result]] = []
    present: list[str] = []

    def consider(ab: str, rel: str, st: os.stat_result) -> None:
        present.append(ab)
        r = get_row(ab)
        # r[6] is None unless the row passed the racy check; dev/ino may be stored signed.
        if (r is not None and r[6] is not None and r[3] == st.st_size and r[4] == st.st_mtime_ns
                and r[5] == st.st_ctime_ns and (r[2] == st.st_ino or r[2] & _U64 == st.st_ino)
                and (r[1] == st.st_dev or r[1] & _U64 == st.st_dev)):
            files[rel] = Entry(rel, _new_str(Sha256, r[6]), st.st_size)
        else:
            to_hash.append((ab, rel, st))

    for c in candidates:
        consider(*c)

    # Iterative walk: scandir's d_type answers symlink/dir for free; one lstat per file.
    S_ISREG = _stat.S_ISREG
    while dirs:
        d_abs, d_rel = dirs.pop()
        try:
            it = os.scandir(d_abs)
        except (FileNotFoundError, NotADirectoryError):
            continue  # vanished since it was listed
        except OSError as exc:
            skipped.append((d_rel, f"unreadable: {exc.strerror}"))
            continue
        with it:
            while True:
                try:
                    e = next(it)
                except StopIteration:
                    break
                except OSError as exc:
                    skipped.append((d_rel, f"unreadable: {exc.strerror}"))
                    break
                name = e.name
                rel = f"{d_rel}/{name}"
                if name[0] == ".":
                    if name.lower() == ".git":
                        skipped.append((rel, SKIP_GIT))
                        continue
                    if name.startswith(WORKSPACE_TMP_PREFIX):
                        skipped.append((rel, SKIP_TMP))
                        continue
                try:
                    if e.is_symlink():
                        skipped.append((rel, SKIP_SYMLINK))
                        continue
                    if e.is_dir(follow_symlinks=False):
                        dirs.append((e.path, rel))
                        continue
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    skipped.append((rel, f"unreadable: {exc.strerror}"))
                    continue
                if S_ISREG(st.st_mode):
                    consider(e.path, rel, st)
                else:
                    skipped.append((rel, SKIP_SPECIAL))

    fresh: list[tuple[str, os.stat_result, Sha256]] = []
    if to_hash:
        for ab, rel, outcome in _hash_all(to_hash, jobs):
            if isinstance(outcome, str):
                skipped.append((rel, outcome))
            elif outcome is not None:
                oid, size, after = outcome
                files[rel] = Entry(rel, oid, size)
                fresh.append((ab, after, oid))
        result.hashed = len(to_hash)

    if stat_cache is not None:
        # A full scan also forgets rows of files that are gone, so the db does not grow forever.
        forget: list[str] = []
        if paths is None and len(rows) > len(present) - len(to_hash):
            seen = set(present)
            forget = [p for p in rows if p not in seen]
        stat_cache.record(fresh, written_ns=started, forget=forget)
    skipped.sort(key=lambda s: os.fsencode(s[0]))
    return result


def _hash_all(todo: list[tuple[str, str, os.stat_result]], jobs: int
              ) -> list[tuple[str, str, tuple[Sha256, int, os.stat_result] | str | None]]:
    """Hash files in a thread pool (hashlib and read() release the GIL). Small files go
    in batches so the pool's per-task cost does not dominate."""

    def one(item: tuple[str, str, os.stat_result]
            ) -> tuple[str, str, tuple[Sha256, int, os.stat_result] | str | None]:
        ab, rel, st = item
        try:
            return ab, rel, _hash_stable(ab, st)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return ab, rel, None  # vanished between listing and hashing: simply absent
        except _Unstable:
            return ab, rel, SKIP_UNSTABLE
        except OSError as exc:
            return ab, rel, f"unreadable: {exc.strerror}"

    total = sum(t[2].st_size for t in todo)
    if jobs <= 1 or len(todo) == 1 or total < 4 * CHUNK:
        return [one(t) for t in todo]

    batches: list[list[tuple[str, str, os.stat_result]]] = []
    small: list[tuple[str, str, os.stat_result]] = []
    for t in sorted(todo, key=lambda t: -t[2].st_size):  # big first: better load balance
        if t[2].st_size >= CHUNK:
            batches.append([t])
        else:
            small.append(t)
            if len(small) == 64:
                batches.append(small)
                small = []
    if small:
        batches.append(small)

    from concurrent.futures import ThreadPoolExecutor  # ~10 ms import: only when hashing

    out: list[tuple[str, str, tuple[Sha256, int, os.stat_result] | str | None]] = []
    with ThreadPoolExecutor(max_workers=min(jobs, len(batches))) as pool:
        for done in pool.map(lambda b: [one(t) for t in b], batches):
            out.extend(done)
    return out

"""The stat cache (SQLite, shared by worktrees): an absolute path and its stat tuple
(dev, inode, size, mtime_ns, ctime_ns) → the sha256 read at that state. An entry is only
trusted when the file's last change (max of mtime and ctime) is older than the moment the
hashing started by more than RACY_NS (git's "racy git" problem; see scan.py).

sqlite3 is imported when the cache is first used: hooks pay only for what they touch.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable

from .errors import ManifestError
from .hashing import Sha256, is_sha256

RACY_NS = 2_000_000_000  # coarser than any filesystem timestamp granularity we meet (FAT: 2 s)
# Timestamps with a sub-second part come from a filesystem that keeps them finely (ext4,
# xfs, btrfs, tmpfs, APFS, NTFS): their tick is the kernel's coarse clock, at most 10 ms
# (HZ >= 100), so a file last changed 20 ms before the hashing began cannot change again
# inside the same tick unseen. Whole-second timestamps (FAT, HFS+, ext3, some network
# filesystems) keep the 2 s window: a freshly written file is then re-read, never trusted.
FINE_RACY_NS = 20_000_000
_SECOND = 1_000_000_000
_SCHEMA = 2
U64 = (1 << 64) - 1

# (path bytes, dev, ino, size, mtime_ns, ctime_ns, sha256 if trusted else None); dev/ino
# as stored (signed 64-bit).
_Row = tuple[bytes, int, int, int, int, int, "str | None"]
_FS_ENCODING = (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
_new_str = str.__new__  # Sha256 without re-validating: the digests were checked in bulk


def _s64(v: int) -> int:
    """SQLite integers are signed 64-bit; some filesystems hand out inodes above 2**63."""
    return v - (1 << 64) if v >= 1 << 63 else v


def stat_key(st: os.stat_result) -> tuple[int, int, int, int, int]:
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
        self.racy_ns = racy_ns  # for whole-second timestamps
        self.fine_ns = min(racy_ns, FINE_RACY_NS)  # for timestamps with a sub-second part
        self._db: Any = None  # sqlite3.Connection, imported lazily
        self._disabled = False
        self._rebuilt = False

    def window(self, mtime_ns: int, ctime_ns: int) -> int:
        """How long after its last change a file's hash can be trusted (FINE_RACY_NS says why)."""
        return self.racy_ns if mtime_ns % _SECOND == 0 and ctime_ns % _SECOND == 0 else self.fine_ns

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
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != _SCHEMA:  # lost a race?
                    if version != 1:  # schema 1 had the same stat table: its rows stay good
                        db.execute("DROP TABLE IF EXISTS stat")
                        # path is a BLOB: names need not be UTF-8; WITHOUT ROWID keeps the range scan on the key.
                        db.execute("CREATE TABLE stat (path BLOB PRIMARY KEY, dev INTEGER, ino INTEGER, "
                                   "size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, oid TEXT, "
                                   "written_ns INTEGER) WITHOUT ROWID")
                    # one row per section: a digest of a whole walk's stat tuples, and the listing
                    # (manifest.listing) its files had, every one of them past the racy window
                    db.execute("DROP TABLE IF EXISTS tree")
                    db.execute("CREATE TABLE tree (root BLOB PRIMARY KEY, digest BLOB, listing BLOB)")
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

    def load_rows(self, prefix: str) -> dict[str, _Row]:
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
                    "SELECT path, dev, ino, size, mtime_ns, ctime_ns, CASE WHEN written_ns - "
                    "(CASE WHEN mtime_ns % ? = 0 AND ctime_ns % ? = 0 THEN ? ELSE ? END) > "
                    "max(mtime_ns, ctime_ns) AND length(oid) = 64 THEN oid END "
                    "FROM stat WHERE path >= ? AND path < ?",
                    (_SECOND, _SECOND, self.racy_ns, self.fine_ns, lo, hi)).fetchall()
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
        if (dev & U64, ino & U64, size, m, c) != stat_key(st) or max(m, c) + self.window(m, c) >= written:
            return None
        try:
            return Sha256(oid)
        except ManifestError:  # a damaged row: just a miss
            return None

    def load_tree(self, root: str) -> tuple[bytes, bytes] | None:
        """(digest, listing) saved by `save_tree` for the directory root, or None."""
        import sqlite3

        db = self._conn()
        if db is None:
            return None
        try:
            row = db.execute("SELECT digest, listing FROM tree WHERE root = ?", (os.fsencode(root),)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._failed(exc)
            return None
        return (bytes(row[0]), bytes(row[1])) if row is not None and row[0] and row[1] else None

    # ------------------------------------------------------------ writes

    def save_tree(self, root: str, digest: bytes, listing: bytes | None) -> None:
        """Remember that a walk of root with this digest of stat tuples found exactly
        `listing`, every file's hash trusted (None: forget root's entry)."""
        import sqlite3

        db = self._conn()
        if db is None:
            return
        key = os.fsencode(root)
        try:
            if listing is None:
                db.execute("DELETE FROM tree WHERE root = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO tree VALUES (?, ?, ?)", (key, digest, listing))
        except sqlite3.OperationalError as exc:
            if _is_corrupt(exc):  # busy for >5 s: skip, a later scan saves it
                self._failed(exc)
        except sqlite3.DatabaseError as exc:
            self._failed(exc)

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



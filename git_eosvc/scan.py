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

import errno
import os
import stat as _stat
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .cache import WORKSPACE_TMP_PREFIX
from .errors import UsageError
from .filehash import SKIP_SPECIAL, SKIP_SYMLINK, Keep, hash_all
from .hashing import Sha256
from .ignore import Patterns
from .lstats import DIR_FLAGS, Listed, survey, tree_digest
from .manifest import Entry, check_path, listing, lists_exactly, unquote_path
from .paths import path_problem
from .statcache import U64, StatCache


SKIP_GIT = "nested .git is not tracked"
SKIP_TMP = "git-eosvc temporary file"

# ---------------------------------------------------------------- scanning


@dataclass
class ScanResult:
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    hashed: int = 0  # files actually read this time (0 on a no-op re-scan)
    # The files as manifest.listing encodes them, when the stat cache's record of the whole
    # walk answered: `files` is parsed from it only if asked for (a no-op status compares bytes).
    listing: bytes | None = None
    _files: dict[str, Entry] | None = field(default_factory=dict)
    kept: dict[str, Path] = field(default_factory=dict)  # path -> its bytes in a store temp file (`keep`)

    @property
    def files(self) -> dict[str, Entry]:
        """Repo-relative posix path -> Entry."""
        if self._files is None:
            self._files = _parse_listing(self.listing or b"")
        return self._files

    def lists(self, data: bytes) -> bool:
        """Whether manifest bytes list exactly these files (manifest.lists_exactly)."""
        return data == self.listing or lists_exactly(data, self.files)


def _parse_listing(data: bytes) -> dict[str, Entry]:
    """The entries of our own manifest.listing (already checked when it was made)."""
    files: dict[str, Entry] = {}
    for line in data.split(b"\n")[1:-1]:
        oid, size, raw = line.split(b" ", 2)
        path = unquote_path(raw)
        files[path] = Entry(path, str.__new__(Sha256, oid.decode("ascii")), int(size))
    return files


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


@contextmanager
def _closing(fd: int) -> Iterator[None]:
    try:
        yield
    finally:
        os.close(fd)


def scan(workdir: Path, section: str, stat_cache: StatCache | None, jobs: int = 8,
         paths: Sequence[str] | None = None, ignore: Patterns | None = None,
         tracked: Callable[[str, bool], bool] | None = None, keep: Keep | None = None) -> ScanResult:
    """Hash every regular file under workdir/section (or only under `paths`).

    `paths` are repo-relative files or directories inside the section (the section itself
    means all of it); one that does not exist contributes nothing, one below a symlinked
    directory is refused. Symlinks, nested .git, sockets/fifos/devices, unreadable entries,
    files that kept changing while read and git-eosvc temp files are reported in `skipped`,
    never followed or hashed: callers should leave their manifest entries alone rather than
    treat them as deleted. A missing section yields no files; a section that is (or sits
    below) a symlink is refused (UsageError).

    `ignore` (.eosvcignore and the defaults) leaves files and directories out of the walk
    silently, unless `tracked(path, is_dir)` says the manifests record that file (or a file
    below that directory): as in git, ignoring a recorded file does not unrecord it. A file
    named in `paths` is scanned even if ignored (the way to record one on purpose).

    `keep` (add): large files hashed this time are also written to store temp files as they
    are read (filehash.py), listed in `kept`; the caller installs or discards each.
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

    dirs: list[tuple[str, str, bool]] = []  # (abspath, relpath, inside an ignored dir) to list
    candidates: list[tuple[str, os.stat_result]] = []  # (relpath, lstat); abspath: top + relpath
    if paths is None:
        dirs.append((sec_abs, section, False))
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
                dirs.append((sec_abs, section, False))
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
                dirs.append((ab, p, False))
            elif _stat.S_ISREG(st.st_mode):
                candidates.append((p, st))
            else:
                skipped.append((p, SKIP_SPECIAL))

    # Iterative walk: scandir's d_type answers symlink/dir for free; the files are then
    # statted all at once (lstats.survey: in two processes when there are many).
    match = ignore.match if ignore else None
    # one regex call per name rules most of them out before Patterns.match is called
    any_name = ignore.any_name if ignore else None
    any_path = ignore.any_path if ignore else None
    listed: list[Listed] = []

    def left_out(rel: str, is_dir: bool, inside: bool) -> bool:
        """Ignored, and not recorded (a directory: nothing recorded below it)."""
        return ((inside or (ignore is not None and ignore.match(rel, is_dir)))
                and not (tracked is not None and tracked(rel, is_dir)))

    while dirs:
        d_abs, d_rel, inside = dirs.pop()
        fd = -1
        try:
            fd = os.open(d_abs, DIR_FLAGS)
            it = os.scandir(fd)
        except OSError as exc:
            if fd != -1:
                os.close(fd)
            if not isinstance(exc, (FileNotFoundError, NotADirectoryError)):  # else: vanished
                skipped.append((d_rel, f"unreadable: {exc.strerror}"))
            continue
        names: list[str] = []
        add_name = names.append
        with _closing(fd), it:
            try:
                for e in it:
                    name = e.name
                    if name[0] == ".":
                        if name.lower() == ".git":
                            skipped.append((f"{d_rel}/{name}", SKIP_GIT))
                            continue
                        if name.startswith(WORKSPACE_TMP_PREFIX):
                            skipped.append((f"{d_rel}/{name}", SKIP_TMP))
                            continue
                    try:
                        if not e.is_file(follow_symlinks=False):  # one d_type look for most entries
                            rel = f"{d_rel}/{name}"
                            if e.is_symlink():
                                if match is None or not left_out(rel, False, inside):
                                    skipped.append((rel, SKIP_SYMLINK))
                                continue
                            if e.is_dir(follow_symlinks=False):
                                if match is None:
                                    dirs.append((f"{d_abs}/{name}", rel, False))
                                elif inside or match(rel, True):
                                    if tracked is not None and tracked(rel, True):
                                        dirs.append((f"{d_abs}/{name}", rel, True))  # for the recorded files only
                                else:
                                    dirs.append((f"{d_abs}/{name}", rel, False))
                                continue
                        if (match is not None and (inside or (any_name is not None and any_name(name))
                                                   or (any_path is not None and any_path(f"{d_rel}/{name}")))
                                and left_out(f"{d_rel}/{name}", False, inside)):
                            continue
                    except FileNotFoundError:
                        continue
                    except OSError as exc:
                        skipped.append((f"{d_rel}/{name}", f"unreadable: {exc.strerror}"))
                        continue
                    add_name(name)  # a file, or an entry whose type needs its lstat to tell
            except OSError as exc:  # reading the directory itself failed midway
                skipped.append((d_rel, f"unreadable: {exc.strerror}"))
        if names:
            listed.append((d_abs, d_rel, names))

    # A walk with the stats of one the stat cache saw through, every file trusted: the same
    # files with the same bytes, without a look at a row (a no-op status at 100,000 files).
    whole = stat_cache is not None and paths is None
    surveyed = survey(listed)
    if whole and stat_cache is not None:
        saved = stat_cache.load_tree(sec_abs + os.sep)
        if saved is not None and saved[0] == surveyed.digest:
            skipped.sort(key=lambda s: os.fsencode(s[0]))
            result.listing, result._files = saved[1], None
            return result

    outcomes = surveyed.outcomes()
    S_ISREG, S_ISLNK = _stat.S_ISREG, _stat.S_ISLNK
    place: dict[str, tuple[int, int]] = {}  # rel -> (directory, name) in outcomes, for the digest
    odd = False  # an entry that is not a regular file, or could not be statted
    for k, ((_, d_rel, listed_names), got) in enumerate(zip(listed, outcomes)):
        for j, (name, outcome) in enumerate(zip(listed_names, got)):
            rel = f"{d_rel}/{name}"
            if isinstance(outcome, int):
                odd = True
                if outcome not in (errno.ENOENT, errno.ENOTDIR):  # else: vanished since the listing
                    skipped.append((rel, f"unreadable: {os.strerror(outcome)}"))
            elif S_ISREG(outcome.st_mode):
                candidates.append((rel, outcome))
                place[rel] = (k, j)
            else:
                odd = True
                skipped.append((rel, SKIP_SYMLINK if S_ISLNK(outcome.st_mode) else SKIP_SPECIAL))
    skipped.sort(key=lambda s: os.fsencode(s[0]))

    # One query for the whole section; each listed file is then checked against it.
    rows = stat_cache.load_rows(sec_abs + os.sep) if stat_cache is not None else {}
    get_row = rows.get
    files = result.files
    to_hash: list[tuple[str, str, os.stat_result]] = []
    top = root if root.endswith(os.sep) else root + os.sep
    for rel, st in candidates:
        ab = top + rel
        r = get_row(ab)
        # r[6] is None unless the row passed the racy check; dev/ino may be stored signed.
        if (r is not None and r[6] is not None and r[3] == st.st_size and r[4] == st.st_mtime_ns
                and r[5] == st.st_ctime_ns and (r[2] == st.st_ino or r[2] & U64 == st.st_ino)
                and (r[1] == st.st_dev or r[1] & U64 == st.st_dev)):
            files[rel] = Entry(rel, str.__new__(Sha256, r[6]), st.st_size)
        else:
            to_hash.append((ab, rel, st))

    fresh: list[tuple[str, os.stat_result, Sha256]] = []
    trusted = True  # every file's hash past the racy window (and none skipped while hashing)
    window = stat_cache.window if stat_cache is not None else (lambda m, c: 0)
    if to_hash:
        for ab, rel, hashed in hash_all(to_hash, jobs, keep):
            if isinstance(hashed, str) or hashed is None:
                trusted = False
                if hashed is not None:
                    skipped.append((rel, hashed))
            else:
                oid, size, after, tmp = hashed
                files[rel] = Entry(rel, oid, size)
                if tmp is not None:
                    result.kept[rel] = tmp
                fresh.append((ab, after, oid))
                m, c = after.st_mtime_ns, after.st_ctime_ns
                trusted = trusted and max(m, c) + window(m, c) < started
        result.hashed = len(to_hash)
        skipped.sort(key=lambda s: os.fsencode(s[0]))

    if stat_cache is not None:
        # A full scan also forgets rows of files that are gone, so the db does not grow forever.
        forget: list[str] = []
        if paths is None and len(rows) > len(candidates) - len(to_hash):
            seen = {top + rel for rel, _ in candidates}
            forget = [p for p in rows if p not in seen]
        stat_cache.record(fresh, written_ns=started, forget=forget)
        if whole and trusted and not odd:
            # the stats the next walk will see: those of the bytes hashed
            for ab, after, _ in fresh:
                k, j = place[ab[len(top):]]
                outcomes[k][j] = after
            stat_cache.save_tree(sec_abs + os.sep, tree_digest(listed, outcomes), listing(files))
    return result

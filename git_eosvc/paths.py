"""Path safety, in one place: "is this path at or under that one", the rules a stored
path must follow, user-typed paths, and where a write may land.

Every check that keeps a manifest, a command-line argument or a download inside the
work tree lives here; the manifest, the store and the engine call these.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Iterable

from .errors import ManifestError, OperationError, UsageError


def under(path: str, prefix: str) -> bool:
    """`path` is `prefix` or lies below it (repo-relative posix paths)."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def under_any(path: str, prefixes: Iterable[str]) -> bool:
    return any(under(path, p) for p in prefixes)


def path_problem(path: str, section: str | None = None) -> str | None:
    """Why a repo-relative path may not be stored (None: it may). Refused: empty, NUL,
    absolute, a trailing '/', empty/'.'/'..'/'.git' components, outside `section`."""
    if not path:
        return "empty"
    if "\0" in path:
        return "contains a NUL byte"
    if path[0] == "/" or (path[1:2] == ":" and path[2:3] in ("/", "\\") and path[0].isalpha()):
        return "absolute"
    if path[-1] == "/":
        return "ends with '/'"
    if "//" in path:
        return "has an empty or '.' component"
    if path[0] == "." or "/." in path:  # only then can a component be '.', '..' or '.git'
        for part in path.split("/"):
            if part == ".":
                return "has an empty or '.' component"
            if part == "..":
                return "has a '..' component"
            if part.lower() == ".git":
                return "has a '.git' component"
    if section is not None and not path.startswith(section + "/"):
        return f"is not inside the section '{section}/'"
    return None


def user_relpath(raw: str, workdir: Path, cwd: str | None = None) -> str:
    """A path a person typed (relative to `cwd`, or absolute) as a clean repo-relative
    posix path; anything outside the work tree, with '..' or '.git', is refused."""
    if not raw or "\0" in raw:
        raise UsageError(f"Unsupported path {raw!r}")
    p = Path(raw)
    if any(part == ".." for part in p.parts):
        raise UsageError(f"Unsupported path '{raw}': '..' is not allowed")
    absolute = p if p.is_absolute() else Path(cwd or os.getcwd()) / p
    norm = Path(os.path.normpath(absolute))
    try:
        rel = norm.relative_to(workdir)
    except ValueError:
        raise UsageError(f"Unsupported path '{raw}': outside the repository {workdir}") from None
    text = rel.as_posix()
    if text in ("", "."):
        raise UsageError(f"Unsupported path '{raw}': name a section or a path inside one")
    if any(part.lower() == ".git" for part in rel.parts):
        raise UsageError(f"Unsupported path '{raw}': '.git' is not allowed")
    return text


def safe_dest(workdir: Path, relpath: str, known_dirs: set[str] | None = None) -> Path:
    """workdir/relpath, after checking that writing there cannot leave workdir.

    Refused (ManifestError, exit 2, nothing written): a path that is empty, absolute, has
    `.`/`..`/`.git` components, or whose parent directories below workdir include a
    symlink. An existing non-directory where a directory is needed, or a directory where
    the file goes, is a conflict with local state (OperationError).

    The final component may be an existing regular file or a symlink: git-eosvc replaces
    it with `os.replace` and deletes with `os.unlink`, both of which act on the link itself
    and never on its target, so a final symlink cannot redirect a write. Missing parent
    directories are fine (they will be created as real directories).
    `known_dirs`, if given, memoises parents already verified (saves lstat calls over
    thousands of files); the caller must discard it once the workspace may have changed.
    """
    problem = path_problem(relpath)
    if problem:
        raise ManifestError(f"refusing to write {relpath!r}: path {problem}",
                            hint="the manifest may have been tampered with")
    parts = relpath.split("/")
    cur = os.fspath(workdir)
    for i, part in enumerate(parts[:-1]):
        cur = os.path.join(cur, part)
        rel = "/".join(parts[: i + 1])
        if known_dirs is not None and rel in known_dirs:
            continue
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            break  # nothing below exists: makedirs will create real directories
        if stat.S_ISLNK(st.st_mode):
            raise ManifestError(f"refusing to write {relpath!r}: {rel!r} is a symlink",
                                hint="git-eosvc never writes through a symlinked directory")
        if not stat.S_ISDIR(st.st_mode):
            raise OperationError(f"cannot write {relpath!r}: {rel!r} is not a directory",
                                 hint=f"move or delete {rel!r}, then run `git eosvc checkout`")
        if known_dirs is not None:
            known_dirs.add(rel)
    dest = os.path.join(os.fspath(workdir), *parts)
    try:
        st = os.lstat(dest)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISDIR(st.st_mode):
            raise OperationError(f"cannot write {relpath!r}: it is a directory",
                                 hint=f"move or delete {relpath!r}, then run `git eosvc checkout`")
    return Path(dest)


# ---------------------------------------------------------------- names on case-insensitive disks


def fold_path(path: str) -> str:
    """A path as case-insensitive file systems compare it: canonical caseless matching (NFD, casefold, NFD)."""
    if path.isascii():
        return path.lower()
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", path).casefold())


@dataclass(frozen=True)
class Clash:
    """`path` cannot be on disk beside `other`: at `name` (`path` or a parent), `other` has `other_name`."""

    path: str
    other: str
    name: str
    other_name: str

    @property
    def by_case(self) -> bool:
        return self.name != self.other_name

    def __str__(self) -> str:
        if not self.by_case:
            return f"'{self.name}' is both a file and a directory"
        return "'{}' and '{}' differ only in case or Unicode form (one name on macOS, Windows)".format(
            *sorted((self.name, self.other_name)))


def clashes(paths: Iterable[str]) -> dict[str, Clash]:
    """Each of `paths` that cannot be on disk beside another: a file where another needs a directory
    (`data/a`, `data/a/b`), or a name told from another only by case or Unicode form (`data/A`, `data/a`)."""
    listed = list(paths)
    dirs: set[str] = set()
    for path in listed:
        parent = path.rpartition("/")[0]
        while parent and parent not in dirs:
            dirs.add(parent)
            parent = parent.rpartition("/")[0]
    files, on_disk = {fold_path(p) for p in listed}, {fold_path(d) for d in dirs}
    if len(files) == len(listed) and len(on_disk) == len(dirs) and files.isdisjoint(on_disk):
        return {}  # the common case, cheaply; below: who clashes with whom

    def names(path: str) -> list[tuple[str, tuple[str, bool]]]:  # (on disk, (as written, a file?))
        return [(fold_path(n), (n, n == path)) for n in accumulate(path.split("/"), lambda a, b: f"{a}/{b}")]

    uses: dict[str, dict[tuple[str, bool], str]] = {}  # on disk -> {(as written, a file?): path}
    for path in listed:
        for key, use in names(path):
            uses.setdefault(key, {}).setdefault(use, path)
    found: dict[str, Clash] = {}
    for path in listed:
        for key, use in names(path):
            other = next(((u, p) for u, p in uses[key].items() if u != use), None)
            if other is not None:
                found[path] = Clash(path, other[1], use[0], other[0][0])
                break
    return found

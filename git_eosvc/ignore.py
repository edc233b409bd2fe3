"""Gitignore-syntax patterns: `.eosvcignore` (what `add` never records) and the clone's
`eosvc.fetchInclude` / `eosvc.fetchExclude` (what checkouts leave out). Pure, no I/O but
reading the one file.

The syntax and the matching are git's (gitignore(5)), patterns relative to the repo's
top: blank lines and `#` comments; `\\` escapes; `!` re-includes; a trailing `/` matches
directories only; a pattern with a `/` at its start or middle is anchored at the top,
otherwise it matches a name at any depth; `*`, `?` and `[...]` never match `/`; `**/`,
`/**/` and `/**` span directories. The last matching pattern wins, and, as in git, a file
inside an ignored directory cannot be re-included (the walk never enters the directory).
`tests/test_ignore.py` checks the matcher against `git ls-files --ignored` itself.

Built-in defaults come first (so `!.DS_Store` in `.eosvcignore` takes one back): the
operating systems' and editors' litter, never data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

IGNORE_FILE = ".eosvcignore"

DEFAULTS: tuple[str, ...] = (
    ".DS_Store",            # macOS Finder
    "._*",                  # macOS resource forks on foreign file systems
    ".Spotlight-V100/",
    ".Trashes/",
    ".fseventsd/",
    "Thumbs.db",            # Windows Explorer
    "ehthumbs.db",
    "desktop.ini",
    "$RECYCLE.BIN/",
    "*~",                   # editors' backups
    ".*.swp",               # vim swap files
    ".*.swo",
    ".~lock.*#",            # LibreOffice locks
    "~$*",                  # Microsoft Office owner files
    ".ipynb_checkpoints/",  # Jupyter
    "__pycache__/",         # Python
)


@dataclass(frozen=True)
class Pattern:
    text: str  # as written (for messages)
    regex: "re.Pattern[str]"
    negate: bool
    dir_only: bool
    anchored: bool  # matched against the whole repo-relative path, else against the name


def _translate(glob: str) -> str:
    """A gitignore glob (no leading `!`, no trailing `/`) as a regex body."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            j = i
            while j < n and glob[j] == "*":
                j += 1
            stars = j - i
            at_start = i == 0 or glob[i - 1] == "/"
            at_end = j == n or glob[j] == "/"
            if stars >= 2 and at_start and at_end:
                if j == n:
                    out.append(".*")  # `x/**`: everything inside
                    i = j
                else:
                    out.append("(?:.*/)?")  # `**/` and `/**/`: zero or more directories
                    i = j + 1
                continue
            out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 < n:
                out.append(re.escape(glob[i + 1]))
                i += 2
            else:
                i += 1  # a trailing backslash matches nothing more
        elif c == "[":
            j = i + 1
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))  # no closing bracket: a literal `[`
                i += 1
                continue
            body = glob[i + 1:j]
            neg = body[:1] in ("!", "^")
            if neg:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"(?!/)[{'^' if neg else ''}{body}]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def parse_line(line: str) -> Pattern | None:
    """One line of a gitignore-syntax file; None for blanks and comments."""
    line = line.rstrip("\n").rstrip("\r")
    if not line or line.startswith("#"):
        return None
    # trailing spaces are dropped unless escaped
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(line):
        stripped += " "
    line = stripped
    if not line:
        return None
    text = line
    negate = line.startswith("!")
    if negate:
        line = line[1:]
    elif line.startswith("\\!") or line.startswith("\\#"):
        line = line[1:]
    dir_only = line.endswith("/") and not line.endswith("\\/")
    if dir_only:
        line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    if line.startswith("/"):
        line = line[1:]
    try:
        regex = re.compile(f"(?s:{_translate(line)})\\Z")
    except re.error:
        return None  # git ignores a pattern it cannot parse; so do we
    return Pattern(text, regex, negate, dir_only, anchored)


class Patterns:
    """An ordered list of patterns: the last one that matches decides."""

    def __init__(self, patterns: Iterable[Pattern]) -> None:
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        # One alternation per kind as a prefilter: most paths match nothing, and one regex
        # call per name is what a 10,000-file scan can afford.
        names = [p.regex.pattern for p in self.patterns if not p.anchored]
        paths = [p.regex.pattern for p in self.patterns if p.anchored]
        self.any_name = re.compile("|".join(f"(?:{r})" for r in names)).match if names else None
        self.any_path = re.compile("|".join(f"(?:{r})" for r in paths)).match if paths else None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    @classmethod
    def parse(cls, lines: Iterable[str]) -> "Patterns":
        return cls(p for p in map(parse_line, lines) if p is not None)

    def match(self, path: str, is_dir: bool) -> bool:
        """Whether this one path (its own name, not its parents) is ignored."""
        name = path.rpartition("/")[2]
        if not ((self.any_name is not None and self.any_name(name))
                or (self.any_path is not None and self.any_path(path))):
            return False
        for p in reversed(self.patterns):
            if p.dir_only and not is_dir:
                continue
            if p.regex.match(path if p.anchored else name):
                return not p.negate
        return False

    def ignored(self, path: str, is_dir: bool = False, below: str = "") -> bool:
        """Whether `path` is ignored itself or through one of its directories (those under
        `below`, a prefix never itself tested: a section)."""
        start = len(below) + 1 if below else 0
        i = path.find("/", start)
        while i != -1:
            if self.match(path[:i], True):
                return True
            i = path.find("/", i + 1)
        return self.match(path, is_dir)


def load_ignore(workdir: Path) -> Patterns:
    """The defaults, then `.eosvcignore` at the repo's top (if any)."""
    lines: list[str] = list(DEFAULTS)
    try:
        lines += (workdir / IGNORE_FILE).read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    return Patterns.parse(lines)


def split_list(value: str | None) -> list[str]:
    """Git LFS's list syntax for fetchinclude/fetchexclude: comma-separated patterns."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class FetchFilter:
    """`eosvc.fetchInclude` / `eosvc.fetchExclude`, Git LFS style: a path is wanted when
    the include list is empty or matches it (the path or a directory above it), and the
    exclude list does not."""

    def __init__(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        self.include = Patterns.parse(include)
        self.exclude = Patterns.parse(exclude)

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def wanted(self, path: str) -> bool:
        if self.include and not self.include.ignored(path):
            return False
        return not (self.exclude and self.exclude.ignored(path))

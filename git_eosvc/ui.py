"""Messages for people: one place, on stderr (stdout is for command output like status and diff)."""

from __future__ import annotations

import errno
import os
import sys

LEVELS = ("quiet", "normal", "verbose")
_level = "normal"


def check_level(value: str, source: str) -> str:
    from .errors import ConfigError

    v = value.strip().lower()
    if v not in LEVELS:
        raise ConfigError(f"{source}: verbosity must be one of {', '.join(LEVELS)}, not {value!r}")
    return v


def set_level(value: str | None) -> None:
    """`quiet` (-q: errors only), `normal`, or `verbose` (-v: a line per file moved)."""
    global _level
    if value is not None:
        _level = check_level(value, "verbosity")


def level() -> str:
    return _level


def info(msg: str) -> None:
    if _level != "quiet":
        print(msg, file=sys.stderr, flush=True)


def detail(msg: str) -> None:
    """A line only `-v` wants (each file moved or written)."""
    if _level == "verbose":
        print(msg, file=sys.stderr, flush=True)


def warn(msg: str) -> None:
    if _level != "quiet":
        print(f"warning: {msg}", file=sys.stderr, flush=True)


def error(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr, flush=True)


def is_interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(question: str) -> bool:
    """Ask on the terminal; callers must check is_interactive() first."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def debug_enabled() -> bool:
    return os.environ.get("EOSVC_DEBUG") == "1"


_OS_HINTS = {
    errno.ENOSPC: "free some space (the local store is under .git/eosvc/objects), then run the command "
                  "again; nothing recorded so far was lost",
    errno.EDQUOT: "your disk quota is used up: free some space, then run the command again",
    errno.EACCES: "check the permissions of that path, then run the command again",
    errno.EPERM: "check the permissions of that path, then run the command again",
    errno.EROFS: "that file system is read-only: run the command where it can write",
    errno.EMFILE: "too many open files: raise `ulimit -n`, or lower eosvc.jobs",
}


def report_error(exc: BaseException, where: str = "", warn: bool = False) -> int:
    """The one rendering of a failure, for the CLI and the hooks alike: a line naming what
    went wrong and a hint line, no traceback (EOSVC_DEBUG=1 adds one). Returns the exit code."""
    from .errors import EosvcError

    if isinstance(exc, EosvcError):
        message, hint, code = exc.message, exc.hint, exc.exit_code
    elif isinstance(exc, OSError) and exc.errno in _OS_HINTS:
        # the machine said no (full disk, permissions, read-only): not a bug to report
        place = exc.filename if exc.filename is not None else "the disk"
        message, code = f"{exc.strerror or 'error'} on {place}", 1
        hint = _OS_HINTS[exc.errno]
    else:
        message = f"unexpected {type(exc).__name__}: {exc}"
        hint, code = "run again with EOSVC_DEBUG=1 for a traceback, and report it", 1
        if debug_enabled():
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
    text = f"{where}: {message}" if where else message
    if warn and _level == "quiet":
        return code
    (_warn if warn else error)(text)
    if hint:
        print(f"hint: {hint}", file=sys.stderr, flush=True)
    return code


_warn = warn

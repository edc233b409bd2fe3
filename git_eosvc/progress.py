"""Progress display: the one place that decides whether and how progress is shown.

Four modes (`--progress`, `EOSVC_PROGRESS`, git config `eosvc.progress`):
- `bar`: a tqdm bar on stderr;
- `plain`: for logs (CI, pipes, hooks under a non-terminal): once a step has run for
  `EOSVC_PROGRESS_DELAY` seconds (2), one line each time it passes another 10 % or every
  `_EVERY` seconds, whichever comes first, and a last line when it ends; a step that ends
  quickly prints nothing;
- `none`: nothing;
- `auto` (the default): `bar` when stderr is a terminal, `plain` otherwise.
`-q` (ui's quiet level) means `none`. tqdm is imported only when a bar is actually drawn,
so importing this module costs nothing in git hooks.

Inside `routed(callback)` (the Python API) every Progress created in that context draws
nothing, whatever the mode, and hands each change to `callback` instead: a context
variable, not the process-wide mode, so a CLI or another thread in the same process keeps
its own display.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Callable, Iterator, Mapping, TextIO

from . import ui
from .errors import ConfigError

MODES = ("auto", "bar", "plain", "none")
_EVERY = 5.0  # seconds between plain lines when 10 % takes longer than that
_mode = "auto"


@dataclass(frozen=True)
class ProgressEvent:
    """One change of a step's progress, as a `routed` callback receives it. `total` and
    `items_total` may grow while the step discovers work."""

    step: str  # "download", "upload", "hash", "materialise", ...
    done: int  # bytes
    total: int
    items_done: int = 0
    items_total: int = 0


ProgressCallback = Callable[[ProgressEvent], None]
# (callback,) inside `routed`; a tuple so that "routed, no callback" (silence) differs from unset
_route: ContextVar[tuple[ProgressCallback | None] | None] = ContextVar("eosvc_progress_route", default=None)


@contextmanager
def routed(callback: ProgressCallback | None) -> Iterator[None]:
    """In this context (this thread, or task), Progress draws nothing and calls `callback`
    (if given) with a ProgressEvent on every change; calls come from transfer threads.
    The Progress objects read the route when created, so their worker threads need not
    share the context."""
    token = _route.set((callback,))
    try:
        yield
    finally:
        _route.reset(token)


def configure(mode: str | None) -> None:
    """Set the process's progress mode (the CLI and hook entry points call this)."""
    global _mode
    if mode is not None:
        _mode = check_mode(mode, "--progress")


def check_mode(value: str, source: str) -> str:
    v = value.strip().lower()
    if v not in MODES:
        raise ConfigError(f"{source}: progress must be one of {', '.join(MODES)}, not {value!r}")
    return v


def display_from(env: Mapping[str, str], config: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(progress mode, verbosity) the environment or the clone's git config asks for: the
    environment first (the CLI puts its flags there, so a `git push` it starts, and that
    push's hooks, inherit them), then `eosvc.progress` / `eosvc.verbosity`."""
    mode = env.get("EOSVC_PROGRESS") or config.get("eosvc.progress")
    level = env.get("EOSVC_VERBOSITY") or config.get("eosvc.verbosity")
    return (check_mode(mode, "eosvc.progress") if mode else None,
            ui.check_level(level, "eosvc.verbosity") if level else None)


def _resolved(stream: TextIO) -> str:
    if ui.level() == "quiet":
        return "none"
    if _mode != "auto":
        return _mode
    return "bar" if _is_terminal(stream) else "plain"


class Progress:
    """A thread-safe counter of bytes (and, where given, items) shown as the mode says.

    `total` may grow while work is discovered (`add_total`); `update` may be called from
    any thread. Use as a context manager or call `close()`.
    """

    def __init__(self, total: int = 0, desc: str = "", *, enabled: bool | None = None,
                 stream: TextIO | None = None, items: int = 0) -> None:
        self._lock = threading.Lock()
        self._stream = stream if stream is not None else sys.stderr
        route = _route.get()
        self._routed = route is not None
        self._callback = route[0] if route is not None else None
        mode = "none" if self._routed else _resolved(self._stream) if enabled is None else \
            ("bar" if enabled else "none")
        self.desc = desc or "progress"
        self.total = total
        self.done = 0
        self.items_total = items
        self.items_done = 0
        self._bar: Any = None
        self._want_bar = mode == "bar"  # drawn at the first update: a step with no work costs nothing
        self._plain = mode == "plain"
        self._start = time.monotonic()
        self._delay = _delay()
        self._last_line = 0.0  # when the last plain line was written (0: none yet)
        self._last_tenth = 0

    @property
    def enabled(self) -> bool:
        return self._want_bar or self._plain

    def _draw(self) -> None:
        from tqdm import tqdm  # lazy: only a terminal user with work to show pays for it

        self._want_bar = False
        try:
            size = os.get_terminal_size(self._stream.fileno())
        except (OSError, AttributeError, ValueError):
            size = os.terminal_size((0, 0))
        # A terminal that reports no size (a pty nobody sized: `script`, `docker -t`) makes
        # tqdm draw nothing at all (0 columns; 0 rows hide every bar): assume 80 x 24.
        sized = size.columns > 0 and size.lines > 0
        self._bar = tqdm(total=self.total, desc=self.desc, unit="B", unit_scale=True,
                         unit_divisor=1024, file=self._stream, leave=False,
                         dynamic_ncols=sized, ncols=None if sized else 80, nrows=None if sized else 24,
                         delay=min(0.5, self._delay))  # no flicker for a quick step

    def add_total(self, n: int, items: int = 0) -> None:
        """Grow the expected total by `n` bytes and `items` (work found after the start)."""
        with self._lock:
            self.total += n
            self.items_total += items
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()
            event = self._event()
        self._notify(event)

    def update(self, n: int, items: int = 0) -> None:
        """Record `n` more bytes (and `items` more finished items) done."""
        if not n and not items:
            return
        with self._lock:
            self.done += n
            self.items_done += items
            if self._want_bar:
                self._draw()
            if self._bar is not None:
                self._bar.update(n)
            elif self._plain:
                self._maybe_line()
            event = self._event()
        self._notify(event)

    def _event(self) -> ProgressEvent | None:
        """A snapshot for the callback (taken under the lock), or None without one."""
        if self._callback is None:
            return None
        return ProgressEvent(self.desc, self.done, self.total, self.items_done, self.items_total)

    def _notify(self, event: ProgressEvent | None) -> None:
        # outside the lock: a slow callback must not hold up the other transfer threads
        if event is not None and self._callback is not None:
            self._callback(event)

    def finished(self, size: int, label: str) -> int:
        """One item is done (its bytes were counted by `update`): count it, and name it at
        `-v`. Returns `size`, so a transfer can pass its result through."""
        self.update(0, items=1)
        if ui.level() == "verbose" and not self._routed:
            with self._lock:
                if self._bar is not None:
                    self._bar.write(f"{self.desc}: {label} ({ui.human_size(size)})", file=self._stream)
                else:
                    self._write(f"{self.desc}: {label} ({ui.human_size(size)})")
        return size

    def _maybe_line(self) -> None:
        now = time.monotonic()
        if now - self._start < self._delay:
            return
        tenth = self._fraction() * 10 // 1
        if tenth > self._last_tenth or now - (self._last_line or self._start) >= _EVERY:
            self._last_tenth = int(tenth)
            self._last_line = now
            self._write(self._line(now))

    def _fraction(self) -> float:
        if self.total:
            return min(self.done / self.total, 1.0)
        return min(self.items_done / self.items_total, 1.0) if self.items_total else 0.0

    def _line(self, now: float, final: bool = False) -> str:
        parts = []
        if self.items_total:
            parts.append(f"{self.items_done:,}/{self.items_total:,} files")
        parts.append(f"{ui.human_size(self.done)}/{ui.human_size(self.total)}")
        pct = f" ({self._fraction():.0%})" if not final else ""
        return f"{self.desc}: {', '.join(parts)}{pct}, {now - self._start:.1f} s" + (" - done" if final else "")

    def _write(self, line: str) -> None:
        try:
            print(line, file=self._stream, flush=True)
        except (OSError, ValueError):  # a closed or broken stream must not fail the transfer
            self._plain = False

    def close(self) -> None:
        """Remove the bar (or write the last plain line, if any were written); safe twice."""
        with self._lock:
            self._want_bar = False
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self._plain:
                if self._last_line:
                    self._write(self._line(time.monotonic(), final=True))
                self._plain = False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("EOSVC_PROGRESS_DELAY", "2")))
    except ValueError:
        return 2.0


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams count as "not a terminal"
        return False

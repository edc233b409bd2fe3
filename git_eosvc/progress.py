"""Progress display: the one place that decides whether and how progress is shown.

A bar appears on stderr only when stderr is a terminal (DESIGN.md §6): hooks, CI logs and
pipes stay clean. tqdm is imported only when a bar is actually drawn, so importing this
module costs nothing in git hooks.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any, TextIO


class Progress:
    """A thread-safe byte counter that draws a tqdm bar on a terminal and is silent otherwise.

    `total` may grow while work is discovered (`add_total`); `update` may be called from
    any thread. Use as a context manager or call `close()`.
    """

    def __init__(self, total: int = 0, desc: str = "", *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = _is_terminal(self._stream)
        self.total = total
        self.done = 0
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm  # lazy: only a terminal user pays for it

            self._bar = tqdm(total=total, desc=desc or None, unit="B", unit_scale=True,
                             unit_divisor=1024, file=self._stream, leave=False,
                             dynamic_ncols=True)

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def add_total(self, n: int) -> None:
        """Grow the expected total by `n` bytes (work found after the bar started)."""
        with self._lock:
            self.total += n
            if self._bar is not None:
                self._bar.total = self.total
                self._bar.refresh()

    def update(self, n: int) -> None:
        """Record `n` more bytes done."""
        if not n:
            return
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)

    def close(self) -> None:
        """Remove the bar; safe to call twice."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams count as "not a terminal"
        return False

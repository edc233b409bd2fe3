"""The access lock: the access map this clone agreed to (and where the committed config
sends data), written on first use and compared with access.json by every command.

It lives in the git dir (`$(git rev-parse --git-common-dir)/eosvc/access.lock.json`,
shared by worktrees), where no pulled commit can replace it; a lock inside the work tree,
even gitignored, is overwritten by a commit that tracks it (git-eosvc up to 0.1 kept it at
`.eosvc/access.lock.json`: an untracked one there is moved in on first use).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .access import AccessMap
from .atomic import write_atomic
from .errors import ConfigError

LOCK_NAME = "access.lock.json"
WORKTREE_LOCK = ".eosvc/access.lock.json"  # where git-eosvc 0.1 kept it
_SEEN = "access-lock-seen"  # this clone had a lock: a missing one was deleted on purpose
# Written into a lock re-created after the user deleted it to accept an access change: the
# next push may carry commits that publish a locked-private section. The push that succeeds
# with it clears it, so the override holds for one push, in whichever process runs it
# (`git eosvc push`, or the pre-push hook of the `git push` it starts).
_OVERRIDE = "override"


class AccessLock:
    """The lock file of one clone: `state_dir` is the git common dir's eosvc/."""

    def __init__(self, state_dir: Path, workdir: Path) -> None:
        self.path = state_dir / LOCK_NAME
        self.workdir = workdir
        self._seen = state_dir / _SEEN

    @property
    def shown(self) -> str:
        """The lock's path as a person should type it (relative to the work tree if inside)."""
        try:
            return self.path.relative_to(self.workdir).as_posix()
        except ValueError:
            return str(self.path)

    def check(self, access: AccessMap, storage: dict[str, str] | None = None,
              tracked: Callable[[str], bool] | None = None) -> bool:
        """Write the lock on first use; afterwards refuse any disagreement with access.json.

        Returns True while a lock the user deleted (to accept an access change) is fresh:
        its override is not yet used by a push. `tracked(path)` tells whether git tracks a
        path: an old work-tree lock that a commit wrote is never adopted.
        """
        current = _lock_dict(access, storage)
        locked = self._read()
        if locked is None and not (tracked is not None and tracked(WORKTREE_LOCK)):
            locked = self._migrate()
        if locked is None:
            deleted = self._seen.exists()
            value = dict(current, **({_OVERRIDE: True} if deleted else {}))
            self._write(value)
            if not deleted:
                write_atomic(self._seen, b"")
            return deleted
        fresh = locked.pop(_OVERRIDE, None) is True
        if locked != current:
            raise ConfigError(
                f"access.json or .eosvcconfig disagrees with the access lock {self.shown}:\n"
                f"  lock: {_describe(locked)}\n"
                f"  now:  {_describe(current)}",
                hint=f"if the change is intended, delete {self.shown} to accept it (not recommended: "
                     "data that was private may become public)")
        return fresh

    def locked(self) -> dict[str, object] | None:
        """The lock's content, or None when there is none (or it is unreadable)."""
        try:
            return self._read()
        except ConfigError:
            return None

    def settle(self) -> None:
        """A push used the fresh lock's override: from now on the lock holds."""
        value = self.locked()
        if value is not None and value.pop(_OVERRIDE, None) is not None:
            self._write(value)

    def _read(self) -> dict[str, object] | None:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError):
            raise ConfigError(f"{self.shown} is unreadable",
                              hint=f"delete {self.shown} to re-create it from access.json") from None
        if not isinstance(value, dict):
            raise ConfigError(f"{self.shown} is not a git-eosvc access lock",
                              hint=f"delete {self.shown} to re-create it from access.json")
        return value

    def _migrate(self) -> dict[str, object] | None:
        """Adopt an untracked lock of git-eosvc 0.1 from the work tree (EOSVC's own locks,
        in another format, stay where they are)."""
        old = self.workdir / WORKTREE_LOCK
        try:
            value = json.loads(old.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not (isinstance(value, dict) and "kind" in value and "sections" in value):
            return None
        self._write(value)
        write_atomic(self._seen, b"")
        old.unlink()
        try:
            old.parent.rmdir()
        except OSError:
            pass
        value.pop(_OVERRIDE, None)
        return value

    def _write(self, value: dict[str, object]) -> None:
        text = json.dumps(value, indent=2, sort_keys=True) + "\n"
        write_atomic(self.path, text.encode("utf-8"))


def _lock_dict(access: AccessMap, storage: dict[str, str] | None) -> dict[str, object]:
    out = access.as_dict()
    if storage:
        out["storage"] = dict(storage)
    return out


def _describe(m: object) -> str:
    if not isinstance(m, dict):
        return repr(m)
    sections = m.get("sections", {})
    parts = ", ".join(f"{k}={v}" for k, v in sections.items()) if isinstance(sections, dict) else "?"
    storage = m.get("storage")
    where = ("; .eosvcconfig: " + ", ".join(f"{k}={v}" for k, v in sorted(storage.items()))
             if isinstance(storage, dict) and storage else "")
    return f"{m.get('kind')} repo: {parts}{where}"

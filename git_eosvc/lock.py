"""The access lock: the access map this clone agreed to (and where the committed config
sends data), written on first use and compared with access.json by every command.

It lives in the git dir (`$(git rev-parse --git-common-dir)/eosvc/access.lock.json`,
shared by worktrees), where no pulled commit can replace it; a lock inside the work tree,
even gitignored, is overwritten by a commit that tracks it (git-eosvc up to 0.1 kept it at
`.eosvc/access.lock.json`: an untracked one there is moved in on first use).

EOSVC's own locks are read as extra pins, never written or moved: EOSVC 1.x's
`.eosvc/access.lock.json` (the same path as git-eosvc 0.1's, another format) and EOSVC
0.1.2's `.evc/access.lock.json`, both `{"mode": "standard", "data": ..., "output": ...}` or
`{"mode": "model", "checkpoints": ..., "fit": ...}` ("framework" for fit in 0.1.2). They are
compared as EOSVC compares them, with EOSVC's defaults (a key access.json leaves out is public
to EOSVC), and a disagreement is refused in EOSVC's words.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, NamedTuple

from .access import MODEL, AccessMap
from .atomic import write_atomic
from .errors import ConfigError

LOCK_NAME = "access.lock.json"
WORKTREE_LOCK = ".eosvc/access.lock.json"  # where git-eosvc 0.1 kept it (and EOSVC 1.x keeps its own)
EOSVC_LOCKS = {WORKTREE_LOCK: "EOSVC 1.x", ".evc/access.lock.json": "EOSVC 0.1.2"}
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
        """Write the lock on first use; afterwards refuse any disagreement with access.json,
        or any disagreement of access.json with an EOSVC lock in the work tree.

        Returns True while a lock the user deleted (to accept an access change) is fresh:
        its override is not yet used by a push. `tracked(path)` tells whether git tracks a
        path: an old work-tree lock that a commit wrote is never adopted.
        """
        current = _lock_dict(access, storage)
        pins = [pin for pin in self.eosvc_pins(access) if not pin.agrees]
        locked = self._read()
        if locked is None and not (tracked is not None and tracked(WORKTREE_LOCK)):
            locked = self._migrate()
        if locked is None:
            if pins:
                raise _refusal(pins, None)
            deleted = self._seen.exists()
            value = dict(current, **({_OVERRIDE: True} if deleted else {}))
            self._write(value)
            if not deleted:
                write_atomic(self._seen, b"")
            return deleted
        fresh = locked.pop(_OVERRIDE, None) is True
        if locked != current or pins:
            raise _refusal(pins, None if locked == current else (self.shown, locked, current))
        return fresh

    def problem(self, access: AccessMap, storage: dict[str, str] | None = None) -> ConfigError | None:
        """What `check` would refuse, found without writing or moving anything (doctor)."""
        try:
            pins = [pin for pin in self.eosvc_pins(access) if not pin.agrees]
            locked = self._read()
        except ConfigError as e:
            return e
        current = _lock_dict(access, storage)
        if locked is not None:
            locked.pop(_OVERRIDE, None)
        ours = None if locked is None or locked == current else (self.shown, locked, current)
        return _refusal(pins, ours) if pins or ours else None

    def eosvc_pins(self, access: AccessMap) -> list["EosvcPin"]:
        """EOSVC's locks in this work tree, each compared with access.json as EOSVC would."""
        pins: list[EosvcPin] = []
        for rel, label in EOSVC_LOCKS.items():
            try:
                raw = json.loads((self.workdir / rel).read_text(encoding="utf-8"))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, RecursionError):
                raise ConfigError(f"{rel} ({label}'s access lock) is unreadable",
                                  hint=f"delete {rel} (EOSVC re-creates it from access.json)") from None
            if _ours(raw):
                continue  # git-eosvc 0.1's lock: adopted on first use, or left alone if committed
            if not isinstance(raw, dict):
                raise ConfigError(f"{rel} is not an access lock of EOSVC or git-eosvc",
                                  hint=f"delete {rel} (EOSVC re-creates it from access.json)")
            locked = _eosvc_view(raw, rel, label)
            pins.append(EosvcPin(rel, label, locked, _eosvc_reading(access, locked)))
        return pins
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
        if not _ours(value):
            raise ConfigError(f"{self.shown} is not a git-eosvc access lock",
                              hint=f"delete {self.shown} to re-create it from access.json")
        assert isinstance(value, dict)
        return value

    def _migrate(self) -> dict[str, object] | None:
        """Adopt an untracked lock of git-eosvc 0.1 from the work tree (EOSVC's own locks,
        in another format, stay where they are)."""
        old = self.workdir / WORKTREE_LOCK
        try:
            value = json.loads(old.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not _ours(value):
            return None  # EOSVC 1.x's lock shares the path: it stays, and pins (eosvc_pins)
        assert isinstance(value, dict)
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


class EosvcPin(NamedTuple):
    """An EOSVC lock: its path, which EOSVC wrote it, and what it and access.json say, in
    EOSVC's own terms ({"mode": ..., "data": ..., "output": ...})."""

    path: str
    label: str
    lock: dict[str, str]
    config: dict[str, str]

    @property
    def agrees(self) -> bool:
        return self.lock == self.config


def _ours(value: object) -> bool:
    """git-eosvc's lock format ({"kind", "sections"}), not EOSVC's ({"mode", ...})."""
    return isinstance(value, dict) and "kind" in value and "sections" in value and "mode" not in value


def _eosvc_view(raw: dict[str, object], rel: str, label: str) -> dict[str, str]:
    """An EOSVC lock as EOSVC reads it: mode standard unless "model"; a missing value public."""
    mode = str(raw.get("mode", "standard")).strip().lower() or "standard"
    if mode == "model":  # EOSVC 0.1.2 named fit "framework"
        old = "framework" in raw or (label == "EOSVC 0.1.2" and "fit" not in raw)
        names = ("checkpoints", "fit" if "fit" in raw or not old else "framework")
    else:
        names = ("data", "output")
    out = {"mode": mode}
    for name in names:
        value = raw.get(name, "public")
        norm = value.strip().lower() if isinstance(value, str) else None
        if norm not in ("public", "private"):
            raise ConfigError(f"{rel} ({label}'s access lock): invalid access value for {name!r}: "
                              f"{json.dumps(value)[:40]}", hint=f"delete {rel} (EOSVC re-creates it)")
        out[name] = norm
    return out


def _eosvc_reading(access: AccessMap, locked: dict[str, str]) -> dict[str, str]:
    """access.json as EOSVC reads it, keyed like `locked`: a section access.json names has
    its value; one it leaves out is public (EOSVC's default; git-eosvc keeps it private)."""
    def value(name: str) -> str:
        return access.section(name).access if name in access.explicit else "public"

    if access.kind == MODEL:
        fit = "framework" if "framework" in locked else "fit"
        return {"mode": "model", "checkpoints": value("checkpoints"), fit: value("fit")}
    return {"mode": "standard", "data": value("data"), "output": value("output")}


def _refusal(pins: list[EosvcPin], ours: tuple[str, object, object] | None) -> ConfigError:
    """One refusal for every lock that disagrees: EOSVC's in EOSVC's words, ours in ours."""
    lines: list[str] = []
    if pins:
        lines.append("Access policy change detected (public/private migration is not allowed): "
                     "access.json disagrees with " + " and ".join(f"{p.label}'s lock {p.path}" for p in pins))
        for p in pins:
            lines += [f"  {p.path}:" if len(pins) > 1 else "", f"  Lock:   {p.lock}", f"  Config: {p.config}"]
    if ours is not None:
        shown, locked, current = ours
        lines += [f"access.json or .eosvcconfig disagrees with the access lock {shown}:",
                  f"  lock: {_describe(locked)}", f"  now:  {_describe(current)}"]
    files = [p.path for p in pins] + ([ours[0]] if ours is not None else [])
    return ConfigError("\n".join(line for line in lines if line),
                       hint=f"if this is intentional, delete {' and '.join(files)} (NOT recommended: data "
                            "that was private may become public)")


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

"""Per-clone setup: the git hooks (DESIGN.md §4) and the merge and diff drivers (§5).

Hooks go to `git rev-parse --git-path hooks` so `core.hooksPath`, linked worktrees and
submodules work. Their marker line (hookscript.py) is how install tells our hooks
(no-op, or upgrade) from a foreign one (refuse, `--force` to replace, `--chain` to keep
it, under its own name, and run it first). A hooks directory that every repository on
the machine shares (a global `core.hooksPath`) or that husky owns is refused unless the
user says so.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic
from .errors import UsageError
from .hookscript import (CHAINED_DIR, CHAINED_SUFFIX, HOOK_NAMES, HOOK_VERSION, MANAGED_HOOKS,
                         REPLACED_SUFFIX, hook_owner, render, sh_quote)
from .repo import Repo

_STATE = "hooks.json"  # in the state dir: where and how this clone's hooks were installed


def _drivers(command: str | None) -> dict[str, str]:
    exe = sh_quote(command) if command else "git-eosvc"
    return {
        "merge.eosvc.name": "git-eosvc per-file manifest merge",
        "merge.eosvc.driver": f"{exe} merge-driver %O %A %B %P %L",
        "diff.eosvc.textconv": f"{exe} show-manifest",
    }


@dataclass
class HookReport:
    """What install or uninstall did, hook by hook, for the CLI to print."""

    hooks_dir: Path
    written: list[str] = field(default_factory=list)     # new or upgraded
    unchanged: list[str] = field(default_factory=list)
    chained: list[str] = field(default_factory=list)     # foreign hooks now run first by ours
    replaced: list[tuple[str, Path]] = field(default_factory=list)  # (hook, where its copy went)
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)    # chained hooks put back by uninstall
    left: list[str] = field(default_factory=list)        # foreign hooks uninstall did not touch
    newer: list[str] = field(default_factory=list)       # ours, written by a newer git-eosvc
    hooks_skipped: bool = False                          # install --no-hooks
    shared_skipped: bool = False                         # ... into a machine-wide hooks path: none at all


# ---------------------------------------------------------------- locating


def hooks_dir(repo: Repo) -> Path:
    """`git rev-parse --git-path hooks`: honours core.hooksPath, worktrees and submodules."""
    out = repo.run("rev-parse", "--git-path", "hooks").stdout.decode().strip()
    return (repo.workdir / out).resolve() if not os.path.isabs(out) else Path(out)


def eosvc_command() -> str | None:
    """The absolute git-eosvc to record in hooks and drivers: this program, if it was
    started as the console script, else the one on PATH; None if neither is known."""
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) in ("git-eosvc", "eosvc") and os.path.isfile(argv0) \
            and os.access(argv0, os.X_OK):
        return os.path.abspath(argv0)
    found = shutil.which("git-eosvc")
    return os.path.abspath(found) if found else None


def is_ours(repo: Repo, name: str) -> bool:
    """Whether this clone's hook `name` is one git-eosvc installed (git will run it)."""
    return hook_owner(hooks_dir(repo) / name) is not None


def is_husky(d: Path) -> bool:
    """husky (v4 to v9) owns this hooks directory: it rewrites it on `npm install`."""
    return (d.name == "_" and d.parent.name == ".husky") or (d / "h").is_file() \
        or (d / "husky.sh").is_file() or (d / "_" / "husky.sh").is_file()


def _shared_hooks_path(repo: Repo) -> str | None:
    """core.hooksPath when it comes from the global or system config and is absolute: every
    repository on the machine runs the hooks there (a relative one is per repository)."""
    proc = repo.run("config", "--show-scope", "--get", "core.hooksPath", check=False)
    scope, _, value = proc.stdout.decode(errors="replace").strip().partition("\t")
    shared = proc.returncode == 0 and scope in ("global", "system")
    return value if shared and os.path.isabs(os.path.expanduser(value)) else None


# ---------------------------------------------------------------- install / uninstall


def install(repo: Repo, force: bool = False, chain: bool = False, hooks: bool = True,
            command: str | None = None, shared: bool = False) -> HookReport:
    """Write our hooks and register the drivers. Refuses (exit 2, nothing written) when a
    foreign hook is in the way and neither --force nor --chain was given, when husky owns
    the hooks directory, and when the directory is shared machine-wide (unless `shared`).

    `hooks=False` (a hook manager calls `git eosvc hook`): the hooks a manager runs are
    removed if ours, so none runs twice; post-index-change and post-applypatch, which
    managers have no stage for, are still installed where free."""
    command = command or eosvc_command()
    d = hooks_dir(repo)
    report = HookReport(d)
    names: tuple[str, ...] = HOOK_NAMES
    if not hooks and _shared_hooks_path(repo) is not None and not shared:
        # a manager owns a machine-wide directory: ours would run in every repository
        report.hooks_skipped = report.shared_skipped = True
        names = ()
    elif not hooks:
        report.hooks_skipped = True
        _remove(d, MANAGED_HOOKS, report)
        for name in MANAGED_HOOKS:  # pre-commit keeps the hook it replaced as <hook>.legacy, and runs it
            legacy = d / f"{name}.legacy"
            if hook_owner(legacy) is not None:
                legacy.unlink()
                report.removed.append(legacy.name)
        names = tuple(n for n in HOOK_NAMES if n not in MANAGED_HOOKS
                      and (not os.path.lexists(d / n) or hook_owner(d / n) is not None))
    if names:
        _check_place(repo, d, force, shared, hooks)
        _install_hooks(d, names, report, command, force, chain)
    for key, value in _drivers(command).items():
        repo.run("config", "--local", key, value)
    write_atomic(repo.state_dir / _STATE,
                 json.dumps({"dir": _portable(repo, d), "hooks": list(names)}).encode())
    return report


def _check_place(repo: Repo, d: Path, force: bool, shared: bool, hooks: bool) -> None:
    if hooks and is_husky(d) and not force:
        raise UsageError(
            f"husky owns {d} (it rewrites it on `npm install`)",
            hint="add `git eosvc hook <name> \"$@\"` to .husky/pre-commit, pre-push, post-checkout, "
                 "post-merge, post-rewrite, post-commit and post-applypatch (docs/hooks.md, husky), then run "
                 "`git eosvc install --no-hooks`; `--force` writes ours there anyway")
    where = _shared_hooks_path(repo)
    if where is not None and not shared:
        raise UsageError(
            f"core.hooksPath is set in your global or system git config ({where}): hooks written "
            "there run in every repository on this machine",
            hint="`git config core.hooksPath .git/hooks` gives this clone its own hooks; "
                 "`--shared-hooks` installs into the shared directory anyway; `--no-hooks` for a "
                 "hook manager")


def _install_hooks(d: Path, names: tuple[str, ...], report: HookReport, command: str | None,
                   force: bool, chain: bool) -> None:
    foreign = [n for n in names if os.path.lexists(d / n) and hook_owner(d / n) is None]
    if foreign and not (force or chain):
        listed = "\n".join(f"  {d / n}" + _first_line(d / n) for n in foreign)
        raise UsageError(
            f"{len(foreign)} hook(s) already exist and are not git-eosvc's:\n{listed}",
            hint="`git eosvc install --chain` keeps them and runs them first (a failing pre-commit "
                 "or pre-push still stops git); `--force` replaces them (a copy is kept as "
                 f"<hook>{REPLACED_SUFFIX}); `--no-hooks` if a hook manager calls `git eosvc hook`")
    if chain:
        taken = [n for n in foreign if os.path.lexists(d / CHAINED_DIR / n)]
        if taken:
            raise UsageError(
                "cannot chain " + ", ".join(taken) + f": {d / CHAINED_DIR / taken[0]} "
                "already holds a chained hook",
                hint="merge the two hooks into one, or move one away, then install again")
    d.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = d / name
        owner = hook_owner(path) if os.path.lexists(path) else None
        if owner is not None and owner[1] > HOOK_VERSION:
            report.newer.append(name)  # never downgrade a newer git-eosvc's hook
            continue
        if os.path.lexists(d / (name + CHAINED_SUFFIX)):  # v1 kept chained hooks beside ours
            (d / CHAINED_DIR).mkdir(exist_ok=True)
            os.replace(d / (name + CHAINED_SUFFIX), d / CHAINED_DIR / name)
        if name in foreign:
            if chain:
                (d / CHAINED_DIR).mkdir(exist_ok=True)
                os.replace(path, d / CHAINED_DIR / name)
                report.chained.append(name)
            else:
                backup = _free_name(d / (name + REPLACED_SUFFIX))
                os.replace(path, backup)
                report.replaced.append((name, backup))
        text = render(name, command, chained=os.path.lexists(d / CHAINED_DIR / name))
        if owner is not None and _read(path) == text:
            report.unchanged.append(name)
            continue
        write_atomic(path, text.encode("utf-8"), mode=0o755)  # half a hook breaks git
        report.written.append(name)


def uninstall(repo: Repo) -> HookReport:
    """Remove our hooks (putting back hooks we chained) and our drivers; nothing else."""
    d = hooks_dir(repo)
    report = HookReport(d)
    _remove(d, HOOK_NAMES, report)
    for section in ("merge.eosvc", "diff.eosvc"):
        repo.run("config", "--local", "--remove-section", section, check=False)
    (repo.state_dir / _STATE).unlink(missing_ok=True)
    return report


def _remove(d: Path, names: tuple[str, ...], report: HookReport) -> None:
    for name in names:
        path = d / name
        if os.path.lexists(path) and hook_owner(path) is None:
            report.left.append(name)  # someone else's now; a chained copy stays where it is
            continue
        if os.path.lexists(path):
            path.unlink()
            report.removed.append(name)
        for chained in (d / CHAINED_DIR / name, d / (name + CHAINED_SUFFIX)):
            if os.path.lexists(chained) and not os.path.lexists(path):
                os.replace(chained, path)
                report.restored.append(name)
    try:
        (d / CHAINED_DIR).rmdir()
    except OSError:
        pass  # not there, or still holds hooks


def check(repo: Repo) -> str | None:
    """A warning when this clone's hooks are missing or stale (say, `npm install` re-ran
    husky, or another tool rewrote .git/hooks): git commands would no longer move the bytes."""
    now = hooks_dir(repo)
    try:
        state = json.loads((repo.state_dir / _STATE).read_text(encoding="utf-8"))
        names = [n for n in state.get("hooks", []) if n in HOOK_NAMES]
        was = str(state["dir"])
    except FileNotFoundError:
        # installed by a git-eosvc that kept no record: judge by the hooks found there
        names, was = [n for n in HOOK_NAMES if hook_owner(now / n) is not None], _portable(repo, now)
        if not names:
            return None
        names = list(HOOK_NAMES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if was != _portable(repo, now):
        return (f"git-eosvc's hooks were installed in {was}, but git now runs the hooks in {now}: "
                "git commands will not move the artifacts; run `git eosvc install`")
    d = now
    bad = [n for n in names if (hook_owner(d / n) or ("", 0))[1] < HOOK_VERSION]
    if not bad:
        return None
    return (f"git-eosvc's hooks are missing or out of date in {d} ({', '.join(bad)}): git commands "
            "will not move the artifacts; run `git eosvc install`")


# ---------------------------------------------------------------- helpers


def _portable(repo: Repo, d: Path) -> str:
    """The hooks directory as recorded: relative to the git dir when inside it (a copied or
    moved clone keeps its hooks), else absolute."""
    try:
        return d.relative_to(repo.common_dir).as_posix()
    except ValueError:
        return str(d)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _free_name(path: Path) -> Path:
    """path, or path.2, path.3, … : never overwrite an earlier copy of a user's hook."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _first_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            line = f.readline(120).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f"  ({line})" if line else ""


def describe(report: HookReport) -> list[str]:
    """Lines for people: what install or uninstall changed."""
    d = report.hooks_dir
    out: list[str] = []
    if report.shared_skipped:
        out.append("merge and diff drivers registered; no hook written: core.hooksPath is shared by "
                   "every repository on this machine, so `git reset`, `git stash` and `git am` will not "
                   "move the artifacts here unless your hook manager runs `git eosvc hook` for them")
    elif report.hooks_skipped:
        out.append("merge and diff drivers registered; hooks left to your hook manager (it should "
                   "call `git eosvc hook <name>`); ours kept for post-index-change, post-applypatch and "
                   "reference-transaction, "
                   "which hook managers do not run")
    if report.written:
        out.append(f"hooks written to {d}: {', '.join(report.written)}")
    elif report.unchanged and not (report.removed or report.restored):
        out.append(f"hooks already installed in {d}")
    out += [f"kept your {n} as {d / CHAINED_DIR / n}; it runs first" for n in report.chained]
    out += [f"replaced your {n}; a copy is at {copy}" for n, copy in report.replaced]
    out += [f"left {n}: written by a newer git-eosvc" for n in report.newer]
    if report.removed:
        out.append(f"hooks removed from {d}: {', '.join(report.removed)}")
    out += [f"restored your {n}" for n in report.restored]
    out += [f"left {d / n}: not git-eosvc's" for n in report.left]
    return out

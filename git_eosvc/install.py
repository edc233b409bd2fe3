"""Per-clone setup: the git hooks (DESIGN.md §4) and the merge and diff drivers (§5).

Hooks are short `sh` scripts rendered from `hooks/hook.sh.tmpl` (packaged as
`git_eosvc.hooks`), written to `git rev-parse --git-path hooks` so `core.hooksPath`,
linked worktrees and submodules work. Each carries a marker line with its version: that
is how install tells our hooks (no-op, or upgrade) from a foreign one (refuse, `--force`
to replace, `--chain` to keep it and run it first).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .atomic import write_atomic
from .access import MANIFESTS
from .errors import UsageError
from .repo import Repo

HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite", "post-commit",
              "post-index-change", "post-applypatch")
HOOK_VERSION = 2
CHAINED_SUFFIX = ".eosvc-chained"    # a foreign hook kept by --chain; ours runs it first
REPLACED_SUFFIX = ".eosvc-replaced"  # a foreign hook replaced by --force, kept as a copy
_MARKER = re.compile(rb"^# git-eosvc-hook (\S+) v(\d+):", re.MULTILINE)
_STDIN_HOOKS = {"pre-push", "post-rewrite"}  # git feeds these on stdin
_ABOUT = {
    "pre-commit": "Blocks a commit whose staged manifests name objects missing from the local store.",
    "pre-push": "Uploads to S3 the artifacts the pushed commits need; blocks the push on failure.",
    "post-checkout": "Materialises the artifacts of the checked-out commit (never loses local work).",
    "post-merge": "Materialises the artifacts of the merged commit (never loses local work).",
    "post-rewrite": "Materialises the artifacts after a rebase (never loses local work).",
    "post-commit": "Materialises the artifacts after a commit that changed them (cherry-pick, revert, a merge "
                   "concluded by hand).",
    "post-index-change": "Materialises the artifacts after git rewrote the work tree (reset, stash, "
                         "cherry-pick -n, a merge stopped by conflicts).",
    "post-applypatch": "Materialises the artifacts after `git am` applied a patch.",
}
_MISSING = {
    "pre-commit": "git-eosvc: not found ({where}): commit blocked, the staged artifacts cannot be "
                  "checked; reinstall git-eosvc, or commit with EOSVC_SKIP=1",
    "pre-push": "git-eosvc: not found ({where}): push blocked, the artifacts it needs cannot be "
                "uploaded; reinstall git-eosvc, or push with EOSVC_SKIP=1 if no data changed",
}
_MISSING_POST = ("warning: git-eosvc not found ({where}): artifacts not updated; reinstall "
                 "git-eosvc, then run `git eosvc checkout`")
_FAILED_POST = "warning: git-eosvc could not update the artifacts; run `git eosvc checkout`"


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


def sh_quote(text: str) -> str:
    """Single-quote for sh: the only character that needs care inside is ' itself."""
    return "'" + text.replace("'", "'\\''") + "'"


def hook_owner(path: Path) -> tuple[str, int] | None:
    """(hook name, version) if the file is one of ours, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    m = _MARKER.search(head)
    return (m.group(1).decode(), int(m.group(2))) if m else None


def is_ours(repo: Repo, name: str) -> bool:
    """Whether this clone's hook `name` is one git-eosvc installed (git will run it)."""
    return hook_owner(hooks_dir(repo) / name) is not None


# ---------------------------------------------------------------- rendering


def _template() -> str:
    from importlib.resources import files

    return (files("git_eosvc.hooks") / "hook.sh.tmpl").read_text(encoding="utf-8")


def render(name: str, command: str | None, chained: bool) -> str:
    """The hook script for `name`, calling `command` (absolute; PATH as fallback)."""
    post = name.startswith("post-")
    stdin = chained and name in _STDIN_HOOKS  # replay git's stdin to both hooks
    feed = "printf '%s' \"$input\" | " if stdin else ""
    before = ""
    if stdin:
        before += ('input=$(cat; echo .)  # git\'s stdin, replayed to both hooks\n'
                   'input=${input%.}\n')
    if chained:
        run_chained = f'{feed}"$0{CHAINED_SUFFIX}" "$@"'
        if post:  # git has done its work: run ours regardless, report the chained hook's status
            before += f'status=0\nif [ -x "$0{CHAINED_SUFFIX}" ]; then {run_chained} || status=$?; fi\n'
        else:  # the chained hook can veto, exactly as it could alone
            before += f'if [ -x "$0{CHAINED_SUFFIX}" ]; then {run_chained} || exit $?; fi\n'
    status = "$status" if chained and post else "0"
    where = f"not at {command}, not on PATH" if command else "not on PATH"
    if post:
        before += _fast_path(name, status)
        missing = _MISSING_POST.format(where=where)
        run = (f'{feed}"$eosvc" hook {name} "$@" || echo {sh_quote(_FAILED_POST)} >&2\n'
               f"exit {status}")
    else:
        missing = _MISSING[name].format(where=where)
        run = f'{feed}"$eosvc" hook {name} "$@"' if stdin else f'exec "$eosvc" hook {name} "$@"'
    text = _template()
    for key, value in (("@BEFORE@", before), ("@NAME@", name), ("@VERSION@", str(HOOK_VERSION)),
                       ("@ABOUT@", _ABOUT[name]), ("@EOSVC@", sh_quote(command or "")),
                       ("@MISSING_STATUS@", status if post else "1"), ("@STATUS@", status),
                       ("@MISSING@", sh_quote(missing)), ("@RUN@", run)):
        text = text.replace(key, value)
    return text


def _fast_path(name: str, status: str) -> str:
    """sh that exits before Python starts when git left the artifacts' manifests as they
    were last materialised (byte for byte: what `Workspace.is_current` checks), and for
    post-index-change when git did not touch the work tree at all (`git add`, `git status`)."""
    lines = []
    if name == "post-index-change":
        lines.append(f'[ "${{1:-}}" = 1 ] || exit {status}')
    pairs = " ".join(f"{m}:{m.replace('/', '%2F')}" for m in MANIFESTS)
    lines.append(
        f'd=$(git rev-parse --git-dir 2>/dev/null) && {{ same=1; for p in {pairs}; do '
        f'm=${{p%%:*}}; r=$d/eosvc/materialised/${{p#*:}}; '
        f'if [ -e "$m" ] || [ -e "$r" ]; then cmp -s "$m" "$r" 2>/dev/null || {{ same=0; break; }}; fi; '
        f'done; [ $same = 1 ] && exit {status}; }}')
    return "".join(line + "\n" for line in lines)


# ---------------------------------------------------------------- install / uninstall


def install(repo: Repo, force: bool = False, chain: bool = False, hooks: bool = True,
            command: str | None = None) -> HookReport:
    """Write our hooks and register the drivers. Refuses (exit 2, nothing written) when a
    foreign hook is in the way and neither --force nor --chain was given. `hooks=False`
    registers the drivers only (a hook manager calls `git eosvc hook` itself)."""
    command = command or eosvc_command()
    d = hooks_dir(repo)
    report = HookReport(d)
    if hooks:
        _install_hooks(d, report, command, force, chain)
    else:
        report.hooks_skipped = True
    for key, value in _drivers(command).items():
        repo.run("config", "--local", key, value)
    return report


def _install_hooks(d: Path, report: HookReport, command: str | None, force: bool, chain: bool) -> None:
    foreign = [n for n in HOOK_NAMES if os.path.lexists(d / n) and hook_owner(d / n) is None]
    if foreign and not (force or chain):
        listed = "\n".join(f"  {d / n}" + _first_line(d / n) for n in foreign)
        raise UsageError(
            f"{len(foreign)} hook(s) already exist and are not git-eosvc's:\n{listed}",
            hint="`git eosvc install --chain` keeps them and runs them first (a failing pre-commit "
                 "or pre-push still stops git); `--force` replaces them (a copy is kept as "
                 f"<hook>{REPLACED_SUFFIX}); `--no-hooks` if a hook manager calls `git eosvc hook`")
    if chain:
        taken = [n for n in foreign if os.path.lexists(d / (n + CHAINED_SUFFIX))]
        if taken:
            raise UsageError(
                "cannot chain " + ", ".join(taken) + f": {d / (taken[0] + CHAINED_SUFFIX)} "
                "already holds a chained hook",
                hint="merge the two hooks into one, or move one away, then install again")
    d.mkdir(parents=True, exist_ok=True)
    for name in HOOK_NAMES:
        path = d / name
        owner = hook_owner(path) if os.path.lexists(path) else None
        if owner is not None and owner[1] > HOOK_VERSION:
            report.newer.append(name)  # never downgrade a newer git-eosvc's hook
            continue
        if name in foreign:
            if chain:
                os.replace(path, d / (name + CHAINED_SUFFIX))
                report.chained.append(name)
            else:
                backup = _free_name(d / (name + REPLACED_SUFFIX))
                os.replace(path, backup)
                report.replaced.append((name, backup))
        text = render(name, command, chained=os.path.lexists(d / (name + CHAINED_SUFFIX)))
        if owner is not None and _read(path) == text:
            report.unchanged.append(name)
            continue
        _write_executable(path, text)
        report.written.append(name)


def uninstall(repo: Repo) -> HookReport:
    """Remove our hooks (putting back hooks we chained) and our drivers; nothing else."""
    d = hooks_dir(repo)
    report = HookReport(d)
    for name in HOOK_NAMES:
        path, chained = d / name, d / (name + CHAINED_SUFFIX)
        if os.path.lexists(path) and hook_owner(path) is None:
            report.left.append(name)  # someone else's now; the chained copy stays beside it
            continue
        if os.path.lexists(path):
            path.unlink()
            report.removed.append(name)
        if os.path.lexists(chained):
            os.replace(chained, path)
            report.restored.append(name)
    for section in ("merge.eosvc", "diff.eosvc"):
        repo.run("config", "--local", "--remove-section", section, check=False)
    return report


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _write_executable(path: Path, text: str) -> None:
    """Atomically (a half-written hook would break every git command that runs it)."""
    write_atomic(path, text.encode("utf-8"), mode=0o755)


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
    if report.hooks_skipped:
        out.append("merge and diff drivers registered; hooks left to your hook manager "
                   "(it should call `git eosvc hook <name>`)")
    if report.written:
        out.append(f"hooks written to {d}: {', '.join(report.written)}")
    elif report.unchanged and not (report.removed or report.restored):
        out.append(f"hooks already installed in {d}")
    out += [f"kept your {n} as {d / (n + CHAINED_SUFFIX)}; it runs first" for n in report.chained]
    out += [f"replaced your {n}; a copy is at {copy}" for n, copy in report.replaced]
    out += [f"left {n}: written by a newer git-eosvc" for n in report.newer]
    if report.removed:
        out.append(f"hooks removed from {d}: {', '.join(report.removed)}")
    out += [f"restored your {n}" for n in report.restored]
    out += [f"left {d / n}: not git-eosvc's" for n in report.left]
    return out

"""CLI for long jobs (docs/watch.md): `watch` uploads a section while a command runs, and
`recover` brings the last uploaded state into a clone. Thin: parse, call, print."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import threading
from types import FrameType
from typing import TYPE_CHECKING, Callable, Sequence

from . import ui

if TYPE_CHECKING:
    from .engine.watch import SyncResult

Add = Callable[..., argparse.ArgumentParser]
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def interval(text: str) -> float:
    """Seconds from `300`, `300s`, `5m`, `1.5h`."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smh]?)\s*", text.lower())
    if m is None or float(m[1]) * _UNITS[m[2]] <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration more than 0 such as 300, 300s, 5m or 1h, not {text!r}")
    return float(m[1]) * _UNITS[m[2]]


def _shown(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def cmd_watch(args: argparse.Namespace) -> int:
    from . import progress
    from .engine.watch import Uploader
    from .paths import user_relpath
    from .repo import Repo

    command = _command(args)
    top = Repo.discover().workdir
    scope = user_relpath(args.path, top)
    progress.configure("none")  # the job's own output shares the terminal: a line per sync instead
    uploader = Uploader(top, scope, every=args.every, remote=args.remote, settle=args.settle,
                        on_sync=_synced, on_error=_failed, handle_sigterm=False)
    where = f"{uploader.ref} on {uploader.remote}" if uploader.remote else f"{uploader.ref} (local only)"
    ui.info(f"watch: {scope}/ every {_shown(uploader.every)} to S3, progress in {where}")
    if uploader.remote is None:
        ui.warn("this clone has no git remote to push the work-in-progress ref to: the bytes reach S3, "
                "but another machine cannot find them (`git remote add origin URL`)")
    uploader.start()
    code = _run(command) if command else _until_signal()
    # the final sync: a scheduler's SIGTERM (then SIGKILL after a grace period) must not cut
    # it short; Ctrl-C still does
    old = {s: signal.signal(s, _noted) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        last = uploader.close()
    except Exception as exc:  # noqa: BLE001 - the job's exit code still matters
        ui.report_error(exc, where="watch: the final upload failed")
        return code or 1
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    if last is not None and last.commit is not None:
        ui.info(f"watch: {scope}/ is on S3; on another clone, `git eosvc recover {uploader.section.path}` "
                "brings it back; here, `git eosvc add` and a commit record it")
    return code


_OPTIONS: dict[str, tuple[str, Callable[[str], object]]] = {
    "--every": ("every", interval), "--settle": ("settle", interval), "--remote": ("remote", str)}


def _command(args: argparse.Namespace) -> list[str]:
    """The job's command line: what follows PATH, after the watch options given there
    (`watch PATH --every 5m -- CMD…`: argparse leaves everything after PATH to us)."""
    from .errors import UsageError

    rest: list[str] = args.command
    i = 0
    while i < len(rest):
        name, eq, value = rest[i].partition("=")
        if name not in _OPTIONS:
            i += rest[i] == "--"
            break
        if not eq:
            if i + 1 >= len(rest):
                raise UsageError(f"{name} needs a value")
            i += 1
            value = rest[i]
        dest, convert = _OPTIONS[name]
        try:
            setattr(args, dest, convert(value))
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"argument {name}: {exc}") from None
        i += 1
    return rest[i:]


def _synced(result: SyncResult) -> None:
    if result.commit is None:
        if result.final:
            ui.info(f"watch: final sync: nothing new ({result.files} file(s) recorded)")
        return
    what = "final sync" if result.final else "synced"
    pending = f", {result.pending} still being written" if result.pending else ""
    pushed = f"; {result.ref} pushed to {result.pushed_to}" if result.pushed_to else ""
    ui.info(f"watch: {what} {result.section}/: {result.files} file(s), {result.uploaded} uploaded "
            f"({ui.human_size(result.bytes)}){pending}{pushed}")


def _failed(exc: BaseException) -> None:
    ui.report_error(exc, where="watch: sync failed (the next one retries)", warn=True)


def _noted(signum: int, frame: FrameType | None) -> None:
    ui.info(f"watch: {signal.Signals(signum).name} received; finishing the final upload first")


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _foreground() -> bool:
    """This process is the terminal's foreground group: Ctrl-C reached the job as well."""
    for fd in (0, 1, 2):
        try:
            return os.tcgetpgrp(fd) == os.getpgrp()
        except OSError:
            continue
    return False


def _run(command: Sequence[str]) -> int:
    """Run the job; pass SIGTERM, SIGHUP (and SIGINT not from the terminal) on to it; its exit code."""
    try:
        child = subprocess.Popen(list(command))
    except OSError as exc:
        ui.error(f"cannot run {command[0]}: {exc.strerror}")
        return 126 if isinstance(exc, PermissionError) else 127

    def forward(signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and _foreground():
            return  # the terminal sent it to the whole group: the job has it already
        try:
            child.send_signal(signum)
        except ProcessLookupError:
            pass

    old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        return _exit_code(child.wait())
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _until_signal() -> int:
    """No command: watch until SIGINT or SIGTERM (a job started elsewhere writes the section)."""
    stop = threading.Event()
    got: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        got.append(signum)
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    from .cli_common import report_checkout, workspace
    from .engine.recover import recover
    from .engine.wip import WIP_PREFIX
    from .errors import OperationError

    with workspace() as ws:
        result = recover(ws, args.paths, remote=args.remote, branch=args.branch, force=args.force)
    report_checkout(result.checkout)
    where = "this clone" if result.source == "local" else result.source
    if not result.recovered:
        names = ", ".join(s.path + "/" for s in result.absent)
        raise OperationError(f"no work in progress of branch {result.branch} for {names} on {where} "
                             f"({WIP_PREFIX}{result.branch}/…)",
                             hint="`git eosvc watch` records it; `--branch B` names another branch, "
                                  "`--from REMOTE` another remote")
    for r in result.recovered:
        base = "" if r.same_base else "; recorded on top of another commit than HEAD"
        ui.info(f"recovered {r.section.path}/ from {where} ({r.ref}, {r.commit[:10]}): {r.files} file(s), "
                f"{ui.human_size(r.size)}{base}")
        if r.unrecorded:
            more = len(r.unrecorded) - 5
            shown = ", ".join(r.unrecorded[:5]) + (f" and {more} more" if more > 0 else "")
            ui.warn(f"{len(r.unrecorded)} file(s) here are not in the recovered state (written after its last "
                    f"upload, perhaps incomplete): {shown}; `git eosvc add` would record them")
    if args.paths:
        for s in result.absent:
            ui.warn(f"no work in progress for {s.path}/ on {where}")
    ui.info("hint: `git eosvc add` and `git commit` record it (its objects are on S3 already)")
    return 0 if result.checkout.ok else 1


def register(add: Add) -> None:
    sp = add("watch", cmd_watch, "run a command and upload a section while it runs: stable new files every "
                                 "--every, and at the end (docs/watch.md)")
    sp.add_argument("path", metavar="PATH", help="the section (or a folder inside one) the command writes")
    sp.add_argument("--every", type=interval, default=300.0, metavar="DURATION",
                    help="how often to look: 300, 300s, 5m, 1h (default: 5m)")
    sp.add_argument("--settle", type=interval, default=None, metavar="DURATION",
                    help="a file is uploaded once unchanged this long (default: --every, at most 10s)")
    sp.add_argument("--remote", help="the git remote the work-in-progress ref goes to (default: the branch's)")
    sp.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD",
                    help="the command to run (without one: watch until interrupted)")
    sp = add("recover", cmd_recover, "bring the last uploaded work in progress of `git eosvc watch` into "
                                     "this clone (not committed)")
    sp.add_argument("paths", nargs="*", metavar="PATH", help="sections to recover (default: all that have one)")
    sp.add_argument("--from", dest="remote", metavar="REMOTE",
                    help="the git remote to fetch it from (default: the branch's; `.`: this clone's own)")
    sp.add_argument("--branch", help="the branch it was recorded on (default: the current one)")
    sp.add_argument("--force", action="store_true",
                    help="also when the section's manifest has uncommitted changes (local files are kept)")

"""What the command handlers (cli*.py) and the hooks (hookcmd.py) share: opening the
workspace, and printing the engine's results. The engine returns; this layer speaks."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from . import install, progress, ui
from .engine.workspace import Workspace

if TYPE_CHECKING:  # `status` and the pre-commit hook import this module: not checkout's weight
    from .engine.checkout import CheckoutResult
    from .engine.fetch import FetchResult
from .repo import Repo


@contextmanager
def workspace(check_lock: bool = True, start: Path | None = None,
              repo: Repo | None = None, settle: bool = True) -> Iterator[Workspace]:
    """The workspace for one command (or hook, which passes the `repo` it already opened);
    the notes it collected are printed at the end. Commands also say when this clone's
    hooks are missing or stale; a hook that runs is the wrong place to pay for that."""
    ws = Workspace.open(start, check_lock=check_lock, repo=repo, settle=settle)
    mode, level = progress.display_from(os.environ, ws.clone_config)
    ui.set_level(level)
    progress.configure(mode)
    stale = install.check(ws.repo) if repo is None else None
    if stale:
        ui.warn(stale)
    try:
        yield ws
    finally:
        for note in ws.notes:
            ui.warn(note)
        ws.close()


def report_fetch(result: FetchResult) -> None:
    for path in result.skipped_sections:
        ui.warn(f"skipped private section {path}/: no credentials (none in the environment, "
                "AWS_PROFILE / eosvc.profile or ~/.eosvc/.config; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or see `git eosvc doctor`)")
    _capped(ui.error, [f"{result.paths.get(oid, oid)}: {why}" for oid, why in sorted(result.failed.items())],
            "download(s) failed")


def report_checkout(result: CheckoutResult, prefix: str = "") -> None:
    """Every kept, saved, failed and written file of a checkout, on stderr; long lists are
    capped (a million-line manifest must not print a million lines)."""
    report_fetch(result.fetch)
    _capped(ui.error, [f"{path}: {why}" for path, why in result.errors], "write(s) failed")
    _capped(ui.warn, [f"kept {path}: {why}" for path, why in result.kept], "file(s) kept",
            hint="record your version with `git eosvc add`, or replace it with `git eosvc pull -y` / "
                 "`git eosvc checkout --force` (your bytes are saved in the local store first)")
    _capped(ui.info, [saved_line(path, oid) for path, oid in result.stashed], "file(s) saved")
    _capped(ui.error, [f"could not materialise {path}: its object is not in the local store"
                       for path in result.failed], "file(s) not materialised")
    if result.written or result.deleted:
        ui.info(f"{prefix}artifacts: {len(result.written)} written, {len(result.deleted)} deleted")
    if result.left_out and not prefix:  # hooks stay quiet about what the clone chose to leave out
        ui.info(f"{len(result.left_out)} file(s) left out here (dropped, or eosvc.fetchInclude/fetchExclude); "
                "`git eosvc checkout PATH` brings one")


def saved_line(path: str, oid: str) -> str:
    """The one message for bytes saved in the store before they were replaced or removed."""
    return (f"saved your version of {path} in the local store as {oid}; "
            f"`git eosvc cat {oid} > FILE` or `git eosvc export {oid} PATH` brings it back")


def _capped(say: Callable[[str], None], lines: list[str], what: str, hint: str | None = None,
            limit: int = 10) -> None:
    """The first `limit` lines, then one line counting the rest, then the hint once."""
    for line in lines[:limit]:
        say(line)
    if len(lines) > limit:
        say(f"… and {len(lines) - limit} more {what} ({len(lines)} in all)")
    if lines and hint:
        ui.info(f"hint: {hint}")


def materialise_head(repo: Repo) -> int:
    """After install or clone: bring HEAD's artifacts (not with EOSVC_SKIP=1: CI needing no data)."""
    if os.environ.get("EOSVC_SKIP") == "1":
        ui.info("EOSVC_SKIP=1: artifacts not materialised (`git eosvc checkout` brings them)")
        return 0
    if not (repo.workdir / "access.json").exists() or repo.head() is None:
        return 0
    from .engine.checkout import checkout

    with workspace(start=repo.workdir) as ws:
        result = checkout(ws)
    report_checkout(result)
    return 0 if result.ok else 1

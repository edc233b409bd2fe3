"""What the command handlers (cli*.py) and the hooks (hookcmd.py) share: opening the
workspace, and printing the engine's results. The engine returns; this layer speaks."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import install, ui
from .engine.checkout import CheckoutResult, checkout
from .engine.fetch import FetchResult
from .engine.workspace import Workspace
from .repo import Repo


@contextmanager
def workspace(check_lock: bool = True, start: Path | None = None) -> Iterator[Workspace]:
    """The workspace for one command; the notes it collected are printed at the end."""
    ws = Workspace.open(start, check_lock=check_lock)
    stale = install.check(ws.repo)
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
        ui.warn(f"skipped private section {path}/: no credentials "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to download it)")
    for oid, why in sorted(result.failed.items()):
        ui.error(f"{result.paths.get(oid, oid)}: {why}")


def report_checkout(result: CheckoutResult, prefix: str = "") -> None:
    """Every kept, saved, failed and written file of a checkout, on stderr."""
    report_fetch(result.fetch)
    for path, why in result.errors:
        ui.error(f"{path}: {why}")
    for path, why in result.kept:
        ui.warn(f"kept {path}: {why} (record it with `git eosvc add`, "
                f"or replace it with `git eosvc pull -y` / `git eosvc checkout --force`)")
    for path, oid in result.stashed:
        ui.info(f"saved your version of {path} in the local store as {oid}")
    for path in result.failed:
        ui.error(f"could not materialise {path}: its object is not in the local store")
    if result.written or result.deleted:
        ui.info(f"{prefix}artifacts: {len(result.written)} written, {len(result.deleted)} deleted")


def materialise_head(repo: Repo) -> int:
    """After install or clone: bring HEAD's artifacts (not with EOSVC_SKIP=1: CI needing no data)."""
    if os.environ.get("EOSVC_SKIP") == "1":
        ui.info("EOSVC_SKIP=1: artifacts not materialised (`git eosvc checkout` brings them)")
        return 0
    if not (repo.workdir / "access.json").exists() or repo.head() is None:
        return 0
    with workspace(start=repo.workdir) as ws:
        result = checkout(ws)
    report_checkout(result)
    return 0 if result.ok else 1

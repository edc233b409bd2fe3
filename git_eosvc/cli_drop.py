"""CLI for `drop` (docs/partial.md): remove local copies of recorded files, keep them recorded."""

from __future__ import annotations

import argparse
from typing import Callable

from . import ui

Add = Callable[..., argparse.ArgumentParser]


def cmd_drop(args: argparse.Namespace) -> int:
    from .cli_common import saved_line, workspace
    from .engine.drop import drop

    with workspace() as ws:
        result = drop(ws, args.paths, force=args.force, dry_run=args.dry_run)
    verb = "would drop" if args.dry_run else "dropped"
    for path, oid in result.saved:
        ui.info(saved_line(path, oid))
    if ui.level() == "verbose" or args.dry_run:
        for path in result.dropped:
            print(f"{verb} {path}")
    for path, why in result.refused[:20]:
        ui.warn(f"kept {path}: {why}")
    if len(result.refused) > 20:
        ui.warn(f"… and {len(result.refused) - 20} more kept ({len(result.refused)} in all)")
    ui.info(f"{verb} {len(result.dropped)} local cop{'y' if len(result.dropped) == 1 else 'ies'} "
            f"({ui.human_size(result.bytes)})"
            + (f"; {len(result.absent)} already absent, now dropped too" if result.absent else "")
            + ("; `git eosvc checkout PATH` brings them back" if result.dropped or result.absent else ""))
    return 1 if result.refused else 0


def register(add: Add) -> None:
    sp = add("drop", cmd_drop, "remove local copies of recorded files to save space; they stay recorded, "
                               "and no checkout brings them back until `git eosvc checkout PATH` (docs/partial.md)")
    sp.add_argument("paths", nargs="+", metavar="PATH", help="files or directories inside a section")
    sp.add_argument("--force", action="store_true",
                    help="also drop files modified since they were recorded (their bytes are saved in the "
                         "local store first)")
    sp.add_argument("--dry-run", "-n", action="store_true", help="print what would be dropped, change nothing")

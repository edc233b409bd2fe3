"""CLI for `gc` (docs/gc.md): the local store's objects nothing here needs, and with
`--remote` the S3 objects no commit needs. Thin: parse, call, print."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import ui

if TYPE_CHECKING:
    from .engine.gc import LocalResult
    from .engine.gc_remote import RemoteResult

Add = Callable[..., argparse.ArgumentParser]


def _grace(text: str) -> float:
    from .errors import UsageError
    from .gcplan import parse_grace

    try:
        return parse_grace(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("\nhint: ", "; ")) from None


def cmd_gc(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .gcplan import DEFAULT_GRACE

    grace = DEFAULT_GRACE if args.grace is None else args.grace
    with workspace() as ws:
        if args.remote:
            from .engine.gc_remote import gc_remote

            _report_remote(gc_remote(ws, args.source, grace, apply=args.apply and not args.dry_run))
            return 0
        from .engine.gc import gc_local

        result = gc_local(ws, grace, dry_run=args.dry_run, history=args.history, shared_store=args.shared_store)
        ws.notes += result.notes
    return _report_local(result)


def _report_local(r: LocalResult) -> int:
    from .gcplan import shown_grace

    p = r.plan
    ui.detail(f"gc: {r.roots.refs} ref(s), {r.roots.reflog_entries} reflog entr(ies), {r.roots.worktrees} "
              f"worktree(s); {r.commits} commit(s), {r.manifests} manifest(s) read")
    kept = [f"{p.needed} needed"]
    kept += [f"{n} {why}" for n, why in ((p.young, f"younger than {shown_grace(r.grace)}"),
                                         (p.linked, "linked into a work tree"),
                                         (p.not_on_s3, "not on S3 (the only copy)")) if n]
    if r.dry_run:
        for o in p.remove:
            ui.detail(f"would remove {o.oid} ({ui.human_size(o.size)})")
        print(f"would remove {len(p.remove)} of {p.total} object(s), {ui.human_size(p.bytes)} "
              f"({p.bytes} bytes); kept: {', '.join(kept)}")
        return 0
    print(f"removed {r.removed} of {p.total} object(s), freed {ui.human_size(r.freed)} ({r.freed} bytes); "
          f"kept: {', '.join(kept)}")
    for oid, why in r.failed[:10]:
        ui.error(f"could not remove {oid}: {why}")
    return 1 if r.failed else 0


def _report_remote(r: RemoteResult) -> None:
    from .gcplan import shown_grace

    p = r.plan
    where = ", ".join(f"{b}: {n}" for b, n in p.by_bucket.items()) or "none"
    ui.detail(f"gc --remote: {p.total} object(s) listed ({where}); {r.commits} commit(s) of {r.remote} and "
              f"this clone, {r.manifests} manifest(s) read")
    kept = f"kept: {p.needed} needed, {p.young} younger than {shown_grace(r.grace)}"
    if not r.applied:
        for o in p.delete:
            ui.detail(f"would delete s3://{o.bucket}/{o.key} ({ui.human_size(o.size)})")
        print(f"would delete {len(p.delete)} of {p.total} S3 object(s), {ui.human_size(p.bytes)} "
              f"({p.bytes} bytes); {kept}")
        if p.delete:
            ui.info("hint: `git eosvc gc --remote --apply` deletes them")
        return
    spared = f"; {r.spared} spared (a push needed them meanwhile)" if r.spared else ""
    print(f"deleted {r.deleted} of {p.total} S3 object(s), freed {ui.human_size(r.freed)} ({r.freed} bytes); "
          f"{kept}{spared}")
    if r.failed:
        from .errors import TransferError

        lines = "\n".join(f"  {url}: {why}" for url, why in r.failed[:10])
        raise TransferError(f"{len(r.failed)} deletion(s) failed:\n{lines}",
                            hint="check that the credentials may delete in the bucket; run gc again")


def register(add: Add) -> None:
    sp = add("gc", cmd_gc, "remove local store objects nothing here needs (only ones S3 has); with --remote, "
                           "S3 objects no commit needs (docs/gc.md)")
    sp.add_argument("--dry-run", "-n", action="store_true", help="print what would be removed, remove nothing")
    sp.add_argument("--grace", type=_grace, default=None, metavar="DURATION",
                    help="keep objects younger than this, and (locally) what reflog entries younger than "
                         "this need: 14d, 2w, 36h, 90m, 30s, 0 (default: 14d)")
    sp.add_argument("--history", action="store_true",
                    help="local: also keep what every commit reachable from the roots needs, "
                         "not only their tips")
    sp.add_argument("--shared-store", action="store_true",
                    help="local: go ahead although the store is shared (EOSVC_CACHE_DIR) with other clones")
    sp.add_argument("--remote", action="store_true",
                    help="delete S3 objects no commit of the git remote (or of this clone) needs, "
                         "in both buckets; a dry run unless --apply")
    sp.add_argument("--from", dest="source", metavar="REMOTE",
                    help="with --remote: the git remote whose refs count (default: the branch's, else origin)")
    sp.add_argument("--apply", action="store_true", help="with --remote: really delete")

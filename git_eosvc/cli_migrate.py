"""CLI for moving from EOSVC: `import-eosvc` (thin: parse, call, print).

The work is engine/eosvc_find.py (what is there) and engine/import_eosvc.py (importing it);
docs/migrating-from-eosvc.md is the guide.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Callable

from . import ui

if TYPE_CHECKING:
    from .engine.eosvc_find import ImportPlan

Add = Callable[..., argparse.ArgumentParser]


def cmd_import_eosvc(args: argparse.Namespace) -> int:
    from .cli_common import report_checkout, workspace
    from .engine import eosvc_find, import_eosvc

    with workspace() as ws:
        where = eosvc_find.sources(ws, args.eosvc_repo, args.from_public_bucket, args.from_private_bucket,
                                   args.from_models_public_bucket, args.from_models_private_bucket)
        plan = eosvc_find.find(ws, where, [args.path] if args.path else [])
        _notes(plan, skipped=not args.dry_run and bool(plan.objects))
        if args.dry_run:
            print("\n".join(describe(plan, ws.settings.repo, {s.section.path: ws.bucket(s.section)
                                                             for s in plan.sections})))
            plan.check()
            return 0 if plan.objects else _nothing(plan, listed=True)
        if not plan.objects:
            return _nothing(plan)
        result = import_eosvc.run(ws, plan)
    report_checkout(result.checkout)
    ui.info(f"imported {result.files} file(s) ({ui.human_size(result.size)}, {result.objects} distinct) into "
            f"{', '.join(result.manifests)}: staged, commit them")
    placed = [f"{result.copied} copied inside S3", f"{result.present} already there"]
    if result.uploaded:
        placed.append(f"{result.uploaded} uploaded from the local store")
    ui.info(f"content-addressed objects: {', '.join(placed)}; EOSVC's keys were left as they were")
    if result.copy_refused:
        ui.warn(f"the server did not copy inside S3 ({result.copy_refused}): uploaded instead")
    if result.pending:
        first = next(iter(result.pending.values()))
        ui.warn(f"{len(result.pending)} object(s) are not on S3 yet ({first}); `git push` uploads them "
                "from the local store")
    return 0 if result.checkout.ok else 1


def describe(plan: ImportPlan, repo: str, dest: dict[str, str]) -> list[str]:
    """The dry run's listing: per section, where the files are, where they will go, each file."""
    lines: list[str] = []
    for si in plan.sections:
        head = f"{si.section.path}/ ({si.section.access})"
        if si.skipped:
            lines.append(f"{head}: skipped: {si.skipped}")
            continue
        if not si.objects and not si.refused:
            lines.append(f"{head}: no EOSVC objects found")
            continue
        froms = sorted({f"{f.location.url} ({f.location.layout})" for f in si.objects})
        lines.append(f"{head}: {len(si.objects)} file(s), {ui.human_size(si.size)} from {', '.join(froms)}")
        lines.append(f"  -> {si.section.manifest}; objects at s3://{dest[si.section.path]}/{repo}/objects/sha256/…")
        lines += [f"  note: public under EOSVC, private here: {url} stays readable by anyone until its keys "
                  "are deleted" for url in si.republished]
        lines += [f"  import  {f.path}  ({ui.human_size(f.obj.size)})  {f.url}" for f in si.objects]
        lines += [f"  refuse  {url}  ({why})" for url, why in si.refused]
    return lines


def _notes(plan: ImportPlan, skipped: bool) -> None:
    for si in plan.sections:
        if skipped and si.skipped:
            ui.info(f"{si.section.path}/: skipped: {si.skipped}")
        for where in si.unchecked:
            ui.warn(f"{si.section.path}/: not looked at: {where}")
        if si.shadowed:
            f = si.shadowed[0]
            ui.warn(f"{si.section.path}/: {len(si.shadowed)} file(s) also in an older layout were left out "
                    f"(e.g. {f.url}); the newer copy is imported")


def _nothing_to_find(plan: ImportPlan) -> bool:
    """Every section was skipped for a reason already given (imported before, say)."""
    return all(si.skipped for si in plan.sections)


def _nothing(plan: ImportPlan, listed: bool = False) -> int:
    plan.check()
    if _nothing_to_find(plan):
        for si in plan.sections if not listed else ():
            ui.info(f"{si.section.path}/: {si.skipped}")
        ui.info("nothing to import")
        return 0
    ui.error(f"no EOSVC-layout objects found for repo {plan.sources.repo!r} (looked under s3://…/"
             f"{plan.sources.repo}/ in {', '.join(_buckets(plan))})")
    ui.info("hint: if EOSVC knew this repo by another name, pass --eosvc-repo NAME; other buckets: "
            "--from-public-bucket / --from-private-bucket")
    return 1


def _buckets(plan: ImportPlan) -> list[str]:
    s = plan.sources
    return list(dict.fromkeys([s.public, s.private, s.models_public, s.models_private]))


def register(add: Add) -> None:
    sp = add("import-eosvc", cmd_import_eosvc,
             "import files EOSVC stored by path (s3://BUCKET/REPO/data/…): hash them, copy them to "
             "content-addressed keys inside S3, write and stage the manifests; EOSVC's keys stay")
    sp.add_argument("--dry-run", "-n", action="store_true", help="list what would be imported, change nothing")
    sp.add_argument("--path", metavar="SECTION", help="import one section only (data, output, checkpoints, fit, …)")
    sp.add_argument("--eosvc-repo", metavar="NAME",
                    help="the repo's name under EOSVC (default: eosvc.repo, else the folder's name)")
    sp.add_argument("--from-public-bucket", metavar="B", help="EOSVC's public bucket (default: eosvc-public)")
    sp.add_argument("--from-private-bucket", metavar="B", help="EOSVC's private bucket (default: eosvc-private)")
    sp.add_argument("--from-models-public-bucket", metavar="B",
                    help="EOSVC 1.x's public bucket for model repos (default: eosvc-models-public)")
    sp.add_argument("--from-models-private-bucket", metavar="B",
                    help="EOSVC 1.x's private bucket for model repos (default: eosvc-models-private)")

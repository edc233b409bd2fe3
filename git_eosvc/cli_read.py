"""CLI for reading artifacts without a checkout (docs/cat.md, docs/du.md): `cat` and `export`
of any revision, index stage or object id; `du`; and `--release SPEC` (the highest version
tag matching) for `checkout`, `fetch`, `cat` and `export`. Thin: parse, call, print."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import ui
from .errors import UsageError

if TYPE_CHECKING:
    from .engine.du import Count, Usage
    from .engine.read import Target
    from .engine.workspace import Workspace

Add = Callable[..., argparse.ArgumentParser]
RELEASE_HELP = ("the highest tag whose version matches SPEC: PEP 440 ('>=0.1,<0.2', '~=1.4', '==1.*') or "
                "semver ('^1.2', '~1.2.3'); tags may start with v (docs/cat.md)")


# ---------------------------------------------------------------- --release


def release_tag(ws: Workspace, expression: str) -> str:
    """The tag `--release expression` picks, said on stderr."""
    from .release import find

    chosen = find(ws.repo, expression)
    ui.info(f"release {chosen.tag} ({chosen.commit[:10]}) is the highest tag matching {expression!r}")
    return chosen.tag


def cmd_checkout_release(args: argparse.Namespace) -> int:
    """`git eosvc checkout --release SPEC`: `git checkout` the tag (HEAD detached, as git
    checks out a tag), then materialise its artifacts, reported once."""
    from .cli_common import report_checkout, workspace
    from .engine.checkout import checkout
    from .gitproc import run_git

    if args.paths or args.ours or args.theirs:
        raise UsageError("--release checks out a whole release; it takes no PATH, --ours or --theirs",
                         hint="one file of a release: `git eosvc export --release SPEC PATH DEST` (or `cat`)")
    with workspace() as ws:
        tag = release_tag(ws, args.release)
        top = ws.workdir
        if args.dry_run:
            print(f"checkout {tag} (HEAD detached), then materialise its artifacts")
            return 0
    # the hooks stay quiet (EOSVC_SKIP): the checkout below materialises and reports once
    run_git(["-c", "advice.detachedHead=false", "checkout", "-q", f"refs/tags/{tag}"], top,
            env={**os.environ, "EOSVC_SKIP": "1"})
    with workspace(start=top) as ws:  # afresh: the tag may declare other sections
        result = checkout(ws, discard=args.force)
    report_checkout(result)
    ui.info(f"HEAD is now at {tag} (detached); `git switch -` goes back")
    return 0 if result.ok else 1


def add_release_option(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--release", metavar="SPEC", help=RELEASE_HELP)


# ---------------------------------------------------------------- cat, export


def _target(ws: Workspace, args: argparse.Namespace) -> Target:
    from .engine.read import parse_target

    stage = 2 if args.ours else 3 if args.theirs else None
    if args.release and stage is not None:
        raise UsageError("--release and --ours/--theirs name different versions; give one")
    rev = release_tag(ws, args.release) if args.release else None
    return parse_target(args.target, rev=rev, stage=stage)


def cmd_cat(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.read import fetch_object, locate

    with workspace() as ws:
        path = fetch_object(ws, locate(ws, _target(ws, args)))
        with open(path, "rb") as f:
            out = getattr(sys.stdout, "buffer", None)
            if out is None:  # a text stream (a notebook's StringIO): bytes as str, undecodable kept
                sys.stdout.write(f.read().decode("utf-8", "surrogateescape"))
                return 0
            sys.stdout.flush()
            shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.read import export, locate

    with workspace() as ws:
        located = locate(ws, _target(ws, args))
        dest = export(ws, located, Path(args.dest), force=args.force)
    ui.info(f"wrote {os.fspath(dest)} ({ui.human_size(located.entry.size)}, {located.where})")
    return 0


# ---------------------------------------------------------------- du


def cmd_du(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.du import du

    with workspace() as ws:
        usage = du(ws, args.revs, all_refs=args.all, remote=args.remote)
    if args.json:
        from .review import dumps

        sys.stdout.write(dumps(du_doc(usage)))
        return 0
    print("\n".join(du_lines(usage, shown=not args.all or bool(args.revs))))
    return 0


def _n(c: Count) -> str:
    return f"{c.objects} object(s), {ui.human_size(c.bytes)}"


def du_lines(u: Usage, shown: bool = True) -> list[str]:
    """The report as text; per-revision rows unless `--all` alone chose the revisions."""
    if u.all_refs:
        head = f"{len(u.revisions)} commit(s) of every local branch and tag"
    else:
        head = ", ".join(f"{label} ({commit[:10]})" for label, commit in u.revisions)
    lines = [f"revisions: {head}"]
    many = len(u.revisions) > 1
    width = max((len(r.label) for s in u.sections for r in s.revisions), default=4)
    for s in u.sections:
        if not s.stored.objects and not any(r.files for r in s.revisions):
            continue
        lines.append(f"{s.section.path}/ ({s.section.access}, s3://{s.bucket}/)")
        if shown and many:
            for r in s.revisions:
                only = f"; {ui.human_size(r.only_here.bytes)} only here" if r.only_here.objects else ""
                lines.append(f"  {r.label:<{width}}  {r.files} file(s), {ui.human_size(r.bytes)}{only}")
        elif not many:
            r = s.revisions[0]
            lines.append(f"  {r.files} file(s), {ui.human_size(r.bytes)}"
                         + (f" ({_n(r.objects)} distinct)" if r.objects.objects != r.files else ""))
        if many:
            lines.append(f"  stored once: {_n(s.stored)} ({ui.human_size(s.logical)} if every revision "
                         "were written out)")
            lines.append(f"  shared by 2+ revisions: {_n(s.shared)}; in one only: {_n(s.unique)}")
        lines.append(f"  local store: {s.local.objects} of {s.stored.objects} object(s) "
                     f"({ui.human_size(s.local.bytes)} of {ui.human_size(s.stored.bytes)})")
        if s.remote is not None:
            lines.append(f"  on S3: {s.remote.objects} of {s.stored.objects} object(s) "
                         f"({ui.human_size(s.remote.bytes)} of {ui.human_size(s.stored.bytes)})")
    lines.append(f"total: {_n(u.stored)} needed ({ui.human_size(u.logical)} as files); local store has "
                 f"{u.local.objects} of them, and {_n(u.store)} in all")
    for b in u.buckets or ():
        listed = (f"{_n(b.listed)} loose under {b.prefix}"
                  + (f", {b.packs.objects} pack key(s) of {ui.human_size(b.packs.bytes)} (packs, indexes, catalogs)"
                     if b.packs and b.packs.objects else "")
                  + (f", and {_n(b.other)} other" if b.other and b.other.objects else "")) if b.listed else "not listed"
        has = f"; {b.present.objects} of the {b.needed.objects} needed" if b.present is not None else ""
        lines.append(f"s3://{b.bucket}/: {listed}{has}" + (f" ({b.error})" if b.error else ""))
    return lines


def _count(c: Count | None) -> dict[str, int] | None:
    return None if c is None else {"objects": c.objects, "bytes": c.bytes}


def du_doc(u: Usage) -> dict[str, object]:
    """`du --json` (docs/du.md), version 1."""
    return {
        "schema": "git-eosvc/du", "version": 1,
        "revisions": [{"rev": label, "commit": commit} for label, commit in u.revisions],
        "all": u.all_refs,
        "remote_checked": u.buckets is not None,
        "sections": [{
            "section": s.section.path, "manifest": s.section.manifest, "access": s.section.access,
            "bucket": s.bucket,
            "revisions": [{"rev": r.label, "commit": r.commit, "files": r.files, "bytes": r.bytes,
                           "objects": _count(r.objects), "only_here": _count(r.only_here)} for r in s.revisions],
            "logical_bytes": s.logical, "stored": _count(s.stored), "shared": _count(s.shared),
            "unique": _count(s.unique), "local": _count(s.local), "remote": _count(s.remote),
        } for s in u.sections],
        "total": {"logical_bytes": u.logical, "stored": _count(u.stored), "local": _count(u.local),
                  "store": _count(u.store)},
        "buckets": None if u.buckets is None else [{
            "bucket": b.bucket, "prefix": b.prefix, "needed": _count(b.needed), "present": _count(b.present),
            "listed": _count(b.listed), "other": _count(b.other), "packs": _count(b.packs),
            "error": b.error} for b in u.buckets],
    }


# ---------------------------------------------------------------- parser


def _read_options(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("target", metavar="TARGET",
                    help="REV:PATH, :PATH (the index), :2:PATH / :3:PATH (ours / theirs in a conflicted "
                         "merge), PATH (the working manifest) or an object's sha256")
    add_release_option(sp)
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--ours", action="store_true", help="PATH on our side of a conflicted merge (:2:PATH)")
    g.add_argument("--theirs", action="store_true", help="PATH on their side of a conflicted merge (:3:PATH)")


def register(add: Add) -> None:
    sp = add("cat", cmd_cat, "write an artifact's bytes of any revision to stdout (fetched into the local "
                             "store if needed; work tree untouched)")
    _read_options(sp)
    sp = add("export", cmd_export, "write an artifact of any revision to DEST (fetched into the local store "
                                   "if needed; work tree untouched)")
    _read_options(sp)
    sp.add_argument("dest", metavar="DEST", help="the file to write (a directory: the artifact's name inside it)")
    sp.add_argument("--force", action="store_true", help="replace DEST if it exists")
    sp = add("du", cmd_du, "bytes per section for revisions: distinct, shared, local, on S3 (docs/du.md)")
    sp.add_argument("revs", nargs="*", metavar="REV", help="revisions (default: HEAD)")
    sp.add_argument("--all", action="store_true", help="every commit of every local branch and tag")
    sp.add_argument("--remote", action="store_true", help="also what S3 holds under the repo's prefix")
    sp.add_argument("--json", action="store_true", help="a JSON object (docs/du.md) instead of text")

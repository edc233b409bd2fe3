"""CLI handlers for EOSVC's commands: clone, download, upload, view (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import ui

if TYPE_CHECKING:
    from .access import Section
    from .engine.workspace import Workspace

Add = Callable[..., argparse.ArgumentParser]


def cmd_clone(args: argparse.Namespace) -> int:
    from . import eosvc

    target = eosvc.clone(args.name, args.org, Path(args.dest) if args.dest else None, args.url)
    if not (target / "access.json").exists():
        ui.warn(f"{args.name} has no access.json: cloned as a plain git repository; git-eosvc commands "
                "will refuse until one is added (git eosvc init)")
        return 0
    from . import install
    from .cli_common import materialise_head
    from .repo import Repo

    repo = Repo.discover(target)
    install.install(repo, force=False, chain=False)
    ui.info(f"cloned into {target}")
    return materialise_head(repo)


def _paths(ws: "Workspace", raw: str) -> tuple["Section", str]:
    from . import eosvc

    return eosvc.normalize(ws.access, raw)


def cmd_download(args: argparse.Namespace) -> int:
    from .cli_common import report_checkout, workspace
    from .engine.checkout import checkout

    with workspace() as ws:
        _section, rel = _paths(ws, args.path)
        result = checkout(ws, [str(ws.workdir / rel)])
    report_checkout(result)
    ui.info(f"{rel}: {len(result.written)} file(s) written")
    return 0 if result.ok else 1


def cmd_upload(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.add import add
    from .engine.push import upload_needs
    from .errors import UsageError
    from .paths import under
    from .plan import collect_needs

    with workspace() as ws:
        section, rel = _paths(ws, args.path)
        if not os.path.lexists(ws.workdir / rel):
            raise UsageError(f"'{rel}' does not exist")
        add(ws, [str(ws.workdir / rel)])
        entries = [e for p, e in ws.working_manifest(section).items() if under(p, rel)]
        result = upload_needs(ws, collect_needs([(ws.bucket(section), entries)]))
    ui.info(f"{rel}: {len(entries)} file(s) recorded, {result.uploaded} uploaded "
            f"({ui.human_size(result.bytes)}); {section.manifest} is staged, commit it")
    return 0


def cmd_view(args: argparse.Namespace) -> int:
    from . import eosvc
    from .cli_common import workspace

    with workspace() as ws:
        prefix = None
        sections = list(ws.access.sections)
        if args.path:
            section, prefix = _paths(ws, args.path)
            sections = [section]
        lines: list[str] = [f"legend: {eosvc.LEGEND}"]
        total_files = total_size = 0
        remote = None if args.local else ws.remote()
        for section in sections:
            manifest = eosvc.manifest_of(ws.repo, section)
            current = ws.current(section)
            if not manifest and not current:
                continue
            on_remote: dict[str, str] = {}
            if remote is not None and manifest:
                if section.public or ws.credentials is not None:
                    absent = remote.missing(ws.bucket(section), {e.oid for e in manifest.values()})
                    on_remote = {p: ("not uploaded" if e.oid in absent else "uploaded") for p, e in manifest.items()}
            tree = eosvc.view_tree(manifest, current, on_remote, section,
                                   prefix if prefix != section.path else None)
            if not tree.files:
                continue
            lines.append("")
            lines.append(f"({section.access})")
            lines += eosvc.render_tree(tree, args.max_depth)
            total_files += tree.files
            total_size += tree.size
    lines.append("")
    lines.append(f"total: {total_files} files, {ui.human_size(total_size)}")
    print("\n".join(lines))
    return 0


def _depth(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, not {text!r}")
    return value


def register(add: Add) -> None:
    sp = add("clone", cmd_clone, "git clone a repo, install, and download its artifacts (EOSVC's clone)")
    sp.add_argument("name")
    sp.add_argument("--org", default="ersilia-os")
    sp.add_argument("--dest")
    sp.add_argument("--url", help="clone from this URL instead of https://github.com/ORG/NAME.git")
    sp = add("download", cmd_download, "download and materialise one path of a section")
    sp.add_argument("--path", required=True)
    sp = add("upload", cmd_upload, "hash, store and upload one path; update and stage its manifest")
    sp.add_argument("--path", required=True)
    sp = add("view", cmd_view, "the manifests' tree with local and remote state")
    sp.add_argument("--path")
    sp.add_argument("--max-depth", type=_depth, metavar="N")
    sp.add_argument("--local", action="store_true", help="skip the S3 check")

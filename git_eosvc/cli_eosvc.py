"""CLI handlers for EOSVC's commands: clone, config, download, upload, delete, view; and
doctor (thin: parse, call, print)."""

from __future__ import annotations

import argparse
import os
import sys
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
    """EOSVC's download: a path (or `.`, every section). A path that was asked for and could
    not be brought is an error: exit 2 when credentials are missing (as EOSVC), 1 on failure."""
    from . import eosvc
    from .cli_common import report_checkout, workspace
    from .engine.checkout import checkout
    from .engine.eosvc_find import hints
    from .errors import CredentialsError, UsageError
    from .paths import under

    everything = args.path.strip() in eosvc.ALL
    with workspace() as ws:
        chosen = eosvc.targets(ws.access, args.path)
        for section, rel in chosen if not everything else ():
            if not any(under(p, rel) for p in ws.working_manifest(section)):
                found = hints(ws, [section])  # EOSVC's objects for it, never imported?
                raise UsageError(f"'{rel}' is not recorded in {section.manifest}: nothing to download",
                                 hint=found[0] if found else "`git eosvc view` lists what is recorded")
        if everything:
            ws.notes += hints(ws)
        result = checkout(ws, [] if everything else [str(ws.workdir / rel) for _, rel in chosen])
        skipped = [p + "/" for p in result.skipped_sections]
        lookup = ws.credential_lookup if skipped else None
    result.fetch.skipped_sections = []  # said once, below, as the error it is here
    report_checkout(result)
    ui.info(f"{'every section' if everything else chosen[0][1]}: {len(result.written)} file(s) written")
    if lookup is not None:
        raise CredentialsError(f"{', '.join(skipped)} {'is' if len(skipped) == 1 else 'are'} private and no "
                               f"credentials were found ({lookup.describe()}); nothing was downloaded there",
                               hint=lookup.hint())
    return 0 if result.ok else 1


def cmd_upload(args: argparse.Namespace) -> int:
    from . import eosvc
    from .cli_common import workspace
    from .engine.add import add
    from .engine.push import upload_needs
    from .errors import UsageError
    from .paths import under
    from .plan import collect_needs

    everything = args.path.strip() in eosvc.ALL
    with workspace() as ws:
        chosen = eosvc.targets(ws.access, args.path)
        if not everything and not os.path.lexists(ws.workdir / chosen[0][1]):
            raise UsageError(f"'{chosen[0][1]}' does not exist")
        add(ws, [] if everything else [str(ws.workdir / chosen[0][1])])
        groups = [(section, [e for p, e in ws.working_manifest(section).items() if under(p, rel)])
                  for section, rel in chosen]
        result = upload_needs(ws, collect_needs([(ws.bucket(s), entries) for s, entries in groups]))
    files = sum(len(entries) for _, entries in groups)
    staged = ", ".join(s.manifest for s, entries in groups if entries) or "nothing"
    ui.info(f"{'every section' if everything else chosen[0][1]}: {files} file(s) recorded, {result.uploaded} "
            f"uploaded ({ui.human_size(result.bytes)}); staged {staged}, commit it")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Stop tracking a path and remove it here, staged; its S3 objects stay for history."""
    from . import eosvc
    from .cli_common import saved_line, workspace
    from .engine.delete import delete

    everything = args.path.strip() in eosvc.ALL
    with workspace() as ws:
        result = delete(ws, eosvc.targets(ws.access, args.path), everything=everything)
    for path, oid in result.saved:
        ui.info(saved_line(path, oid))
    for path, why in result.kept:
        ui.warn(f"kept {path}: {why}")
    ui.info(f"untracked {len(result.untracked)} file(s), removed {len(result.removed)} here; "
            + (f"staged {', '.join(result.staged)}: commit it" if result.staged else "no manifest changed"))
    if result.untracked:
        ui.info("the S3 objects stay (older commits name them); `git restore --staged --worktree "
                f"{' '.join(result.staged)}` and `git eosvc checkout` undo this")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """EOSVC 1.x's `eosvc config`: store keys in ~/.eosvc/.config (mode 0600), read by both tools."""
    from .credentials import EOSVC_CONFIG, write_eosvc_config

    write_eosvc_config(os.environ, args.access_key_id, args.secret_access_key, args.session_token,
                       args.region, args.default_region)
    ui.info(f"wrote credentials to {EOSVC_CONFIG} (readable by you only); git-eosvc uses them when "
            "the environment and AWS_PROFILE name none")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import diagnose

    findings = diagnose()
    width = max(len(f.label) for f in findings)
    for f in findings:
        print(f"{f.label + ':':<{width + 1}} {'PROBLEM: ' if f.problem else ''}{f.text}")
        if f.hint:
            print(f"{'':<{width + 1}} hint: {f.hint}")
    return 2 if any(f.problem for f in findings) else 0


def cmd_view(args: argparse.Namespace) -> int:
    from . import eosvc
    from .cli_common import workspace

    with workspace() as ws:
        prefix = None
        sections = list(ws.access.sections)
        if args.path and args.path.strip() not in eosvc.ALL:  # `.`: every section, as EOSVC
            section, prefix = _paths(ws, args.path)
            sections = [section]
        found: list[tuple[Section, list[eosvc.FileState]]] = []
        remote = None if args.local else ws.remote()
        for section in sections:
            manifest = eosvc.manifest_of(ws.repo, section)
            current = ws.current(section)
            if not manifest and not current:
                continue
            on_remote: dict[str, str] = {}
            if remote is not None and manifest:
                if remote.can_read(ws.bucket(section)):
                    from .engine.fetch import catalog_hints

                    absent = remote.missing(ws.bucket(section), {e.oid for e in manifest.values()},
                                            lambda: catalog_hints(ws, [manifest]))
                    on_remote = {p: ("not uploaded" if e.oid in absent else "uploaded") for p, e in manifest.items()}
            files = eosvc.file_states(manifest, current, on_remote, prefix if prefix != section.path else None)
            if files:
                found.append((section, files))
    if args.json:
        from .cli_json import view_doc
        from .review import dumps

        sys.stdout.write(dumps(view_doc([(s.path, s.access, f) for s, f in found], remote=not args.local)))
        return 0
    lines: list[str] = [f"legend: {eosvc.LEGEND}"]
    total_files = total_size = 0
    for section, files in found:
        tree = eosvc.view_tree(files, section)
        lines += ["", f"({section.access})"] + eosvc.render_tree(tree, args.max_depth)
        total_files += tree.files
        total_size += tree.size
    lines += ["", f"total: {total_files} files, {ui.human_size(total_size)}"]
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
    sp = add("download", cmd_download, "download and materialise one path of a section (`.`: every section)")
    sp.add_argument("--path", required=True)
    sp = add("upload", cmd_upload, "hash, store and upload one path (`.`: every section); update and "
                                   "stage its manifest")
    sp.add_argument("--path", required=True)
    sp = add("delete", cmd_delete, "stop tracking one path (`.`: every section) and remove it here, staged; "
                                   "its bytes stay in the local store and on S3 (older commits name them)")
    sp.add_argument("--path", required=True)
    sp.add_argument("--yes", "-y", action="store_true",
                    help="accepted for EOSVC's scripts; nothing to confirm: the deletion is staged and undoable")
    sp = add("config", cmd_config, "store S3 keys in ~/.eosvc/.config (EOSVC 1.x's file, mode 0600); "
                                   "used when the environment and AWS_PROFILE name none")
    sp.add_argument("--access-key-id", required=True)
    sp.add_argument("--secret-access-key", required=True)
    sp.add_argument("--session-token", default=None)
    sp.add_argument("--region", default=None, help="written as AWS_REGION")
    sp.add_argument("--default-region", default=None, help="written as AWS_DEFAULT_REGION")
    add("doctor", cmd_doctor, "where settings, access, locks and credentials come from (never a secret); "
                              "what stands in the way")
    sp = add("view", cmd_view, "the manifests' tree with local and remote state")
    sp.add_argument("--path")
    sp.add_argument("--max-depth", type=_depth, metavar="N")
    sp.add_argument("--local", action="store_true", help="skip the S3 check")
    sp.add_argument("--json", action="store_true", help="a JSON object (docs/json.md) instead of the tree")

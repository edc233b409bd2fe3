"""Command line: parse arguments, call the engine, print. `git-eosvc` and `eosvc` are this program.

Handlers import the engine when they run: `merge-driver` and `show-manifest` run inside
git on every merge and diff, and must not pay for the engine's imports.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from . import __version__, cli_eosvc, cli_review, ui
from .hookcmd import HOOKS

if TYPE_CHECKING:
    from .repo import Repo

Handler = Callable[[argparse.Namespace], int]


# ---------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    from .init import init_repo
    from .repo import Repo

    repo = Repo.discover()
    touched = init_repo(repo, args.kind, args.repo, args.public_bucket, args.private_bucket, args.endpoint)
    if "access.json" not in touched:
        ui.info("access.json exists; kept as it is")
    for name in touched:
        ui.info(f"wrote {name}")
    if args.create_buckets:
        from .cli_common import workspace

        with workspace(start=repo.workdir) as ws:
            for bucket, public in ((ws.settings.public_bucket, True), (ws.settings.private_bucket, False)):
                made, no_policy = ws.remote().create_bucket(bucket, public_read=public)
                if ws.settings.directory is not None:  # a directory remote: its mode is its policy
                    ui.info(f"{'created' if made else 'found'} bucket directory {ws.settings.directory / bucket}"
                            + ("" if not made else " (mode 0755: anyone on this machine may read it)" if public
                               else " (mode 0700: only you may read it)"))
                    continue
                ui.info(f"{'created' if made else 'found'} bucket {bucket}"
                        + (" (anyone may read its objects; nobody may list it)" if public and not no_policy
                           else "" if public else " (private)"))
                if no_policy:
                    ui.warn(f"could not let anyone read bucket {bucket} ({no_policy}): readers without "
                            "credentials will be refused until its owner allows s3:GetObject to everyone "
                            "(README: Setting up the buckets)")
    return _install(repo, force=False, chain=False)


def cmd_install(args: argparse.Namespace) -> int:
    from .repo import Repo

    return _install(Repo.discover(), force=args.force, chain=args.chain, hooks=not args.no_hooks,
                    shared=args.shared_hooks)


def _install(repo: Repo, force: bool, chain: bool, hooks: bool = True, shared: bool = False) -> int:
    from . import install
    from .cli_common import materialise_head

    report = install.install(repo, force=force, chain=chain, hooks=hooks, shared=shared)
    for line in install.describe(report):
        ui.info(line)
    return materialise_head(repo)


def cmd_uninstall(args: argparse.Namespace) -> int:
    from . import install
    from .repo import Repo

    for line in install.describe(install.uninstall(Repo.discover())):
        ui.info(line)
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    from .hookcmd import run

    return run(args.name, args.args)


def cmd_status(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.status import status

    with workspace(settle=False) as ws:  # reads, or stores: relies on no store copy
        sections = status(ws, remote=args.remote)
    if args.json:
        from .cli_json import status_doc
        from .review import dumps

        sys.stdout.write(dumps(status_doc(sections, remote=args.remote)))
        return 0
    out: list[str] = []
    for st in sections:
        lines: list[str] = []
        if st.conflicted:
            lines.append(f"  unmerged ({st.section.manifest}; take a side with "
                         "`git eosvc checkout --ours PATH` or `--theirs PATH`, then commit):")
            lines += [f"    {c.kind + ':':<16} {c.path}" for c in st.conflicts]
            if not st.conflicts:
                lines.append(f"    conflict markers remain; `git eosvc checkout --ours {st.section.manifest}` "
                             "rewrites it")
        rec, unrec = st.recorded, st.unrecorded
        for title, changes in (("recorded, to be committed", rec), ("not recorded (run `git eosvc add`)", unrec)):
            if not changes:
                continue
            lines.append(f"  {title}:")
            lines += [f"    added:    {e.path}" for e in changes.added]
            lines += [f"    modified: {n.path}" for _, n in changes.modified]
            lines += [f"    deleted:  {e.path}" for e in changes.removed]
        on_purpose = {e.path for e in st.dropped + st.excluded}
        missing = [e for e in st.not_downloaded if e.path not in on_purpose]
        if missing:
            lines.append(f"  not materialised here: {len(missing)} file(s) "
                         f"({ui.human_size(sum(e.size for e in missing))}); "
                         "`git eosvc checkout` brings them")
        for what, entries in (("dropped here", st.dropped),
                              ("not materialised (excluded by eosvc.fetchInclude/fetchExclude)", st.excluded)):
            if entries:
                lines.append(f"  {what}: {len(entries)} file(s) ({ui.human_size(sum(e.size for e in entries))}); "
                             "`git eosvc checkout PATH` brings one back")
        if st.not_deleted:
            lines.append(f"  deleted by the manifest, still here: {len(st.not_deleted)} file(s); "
                         "`git eosvc checkout` removes them")
        if args.remote and st.not_uploaded:
            lines.append("  not uploaded:")
            lines += [f"    {e.path}" for e in st.not_uploaded]
        if lines:
            out.append(f"{st.section.path}/ ({st.section.access})")
            out += lines
    print("\n".join(out) if out else "nothing changed")
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.add import add

    with workspace(settle=False) as ws:  # reads, or stores: relies on no store copy
        result = add(ws, args.paths)
    ui.info(f"{result.files} file(s) recorded"
            + (f" in {', '.join(result.changed)}" if result.changed else "; manifests unchanged")
            + (f"; {result.stored} stored locally" if result.stored else ""))
    return 0


def cmd_checkout(args: argparse.Namespace) -> int:
    if args.release:
        from .cli_read import cmd_checkout_release
        return cmd_checkout_release(args)
    if args.ours or args.theirs:
        return cli_review.cmd_resolve(args)
    from .cli_common import report_checkout, workspace
    from .engine import checkout

    with workspace() as ws:
        plans = checkout.plan(ws, args.paths, discard=args.force)
        if args.dry_run:
            preview = checkout.summary(plans)
        else:
            result = checkout.apply(ws, plans)
    if args.dry_run:
        for p in preview.written:
            print(f"write   {p}")
        for p in preview.deleted:
            print(f"delete  {p}")
        for p, why in preview.kept:
            print(f"keep    {p}  ({why})")
        return 0
    report_checkout(result)
    return 0 if result.ok else 1


def cmd_fetch(args: argparse.Namespace) -> int:
    from .cli_common import report_fetch, workspace
    from .engine.fetch import fetch

    with workspace() as ws:
        if args.release:
            from .cli_read import release_tag
            args.revs = [*args.revs, release_tag(ws, args.release)]
        result = fetch(ws, args.revs)
    report_fetch(result)
    ui.info(f"downloaded {result.downloaded} object(s)")
    return 1 if result.failed else 0


def cmd_push(args: argparse.Namespace) -> int:
    """Checks, then `git push`, whose pre-push hook uploads; where no hook of ours will
    run (a hook manager, or none), the command uploads first, through the same function."""
    from . import install
    from .cli_common import workspace
    from .engine.push import git_push, plan_push, push_target, upload_for_push

    with workspace() as ws:
        target = push_target(ws)
        if args.dry_run:
            result = upload_for_push(ws, [target.update], target.remote, dry_run=True)
            print(f"would upload {result.uploaded} object(s), {ui.human_size(result.bytes)}")
            return 0
        if install.is_ours(ws.repo, "pre-push"):
            plan_push(ws, [target.update], target.remote)  # refuse early, before git starts
        else:
            result = upload_for_push(ws, [target.update], target.remote)
            if result.uploaded:
                ui.info(f"uploaded {result.uploaded} object(s), {ui.human_size(result.bytes)}")
        git_push(ws, target, quiet=ui.level() == "quiet")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from .cli_common import report_checkout, workspace
    from .engine.pull import pull, replace_kept

    with workspace() as ws:
        result = pull(ws, discard=args.yes, quiet=ui.level() == "quiet")
        if result.kept and not args.yes and ui.is_interactive():
            names = ", ".join(p for p, _ in result.kept[:5])
            if ui.confirm(f"replace {len(result.kept)} locally modified file(s) ({names}) with the pulled "
                          "version? Your bytes are saved in the local store first"):
                replace_kept(ws, result)
    report_checkout(result)
    if result.kept and not args.yes:
        ui.error(f"{len(result.kept)} locally modified file(s) were kept, not replaced by the pulled version")
        ui.info("hint: `git eosvc pull -y` replaces them after saving your bytes in the local store")
        return 1
    return 0 if result.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.verify import verify

    with workspace() as ws:
        result = verify(ws, remote=not args.local)
    if args.json:
        from .cli_json import verify_doc
        from .review import dumps

        sys.stdout.write(dumps(verify_doc(result, remote=not args.local)))
        return 1 if result.corrupt or result.not_on_remote else 0
    for oid in result.corrupt:
        ui.error(f"corrupt object in the local store: {oid} (removed; it will be downloaded again)")
    root = ws.settings.directory
    where = "the directory remote" if root is not None else "S3"
    for n in result.not_on_remote:
        ui.error(f"not on {where}: {n.path} ({n.oid.short}) in "
                 + (f"{root / n.bucket}" if root is not None else f"s3://{n.bucket}"))
    ui.info(f"checked {result.checked} local object(s)"
            + ("" if args.local else f"; {len(result.not_on_remote)} missing on {where}"))
    return 1 if result.corrupt or result.not_on_remote else 0


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the completion script: generated from this parser, so it cannot drift from it."""
    from .completion import script

    sys.stdout.write(script(args.shell, build_parser("git eosvc")))
    return 0


# ---------------------------------------------------------------- parser


def _display_options() -> argparse.ArgumentParser:
    """-q, -v and --progress, accepted before the command and after it (`git eosvc -q push`
    and `git eosvc push -q`); SUPPRESS keeps the later parser from resetting the earlier's."""
    from .progress import MODES

    common = argparse.ArgumentParser(add_help=False)
    g = common.add_mutually_exclusive_group()
    g.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const="quiet",
                   default=argparse.SUPPRESS, help="print errors only")
    g.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const="verbose",
                   default=argparse.SUPPRESS, help="also print each file moved or written")
    common.add_argument("--progress", choices=MODES, default=argparse.SUPPRESS,
                        help="progress display: a bar on a terminal, plain lines in logs (auto, the "
                             "default), or none; also git config eosvc.progress")
    return common


def _apply_display(args: argparse.Namespace) -> None:
    """Flags go into the environment, so a `git push` this command starts and its hooks
    inherit them; then the environment (or git config, read when the workspace opens) rules."""
    from . import progress

    if getattr(args, "verbosity", None):
        os.environ["EOSVC_VERBOSITY"] = args.verbosity
    if getattr(args, "progress", None):
        os.environ["EOSVC_PROGRESS"] = args.progress
    mode, level = progress.display_from(os.environ, {})
    ui.set_level(level)
    progress.configure(mode)


def build_parser(prog: str) -> argparse.ArgumentParser:
    common = _display_options()
    p = argparse.ArgumentParser(prog=prog, description="Large artifacts in S3, their hashes in git.",
                                parents=[common])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, handler: Handler, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help, parents=[common])
        sp.set_defaults(handler=handler)
        return sp

    sp = add("init", cmd_init, "set up this repo: access.json, .eosvcconfig, .gitattributes, .gitignore; then install")
    sp.add_argument("--kind", choices=["standard", "model"], default="standard")
    sp.add_argument("--repo", help="the S3 prefix (default: the folder's name)")
    sp.add_argument("--public-bucket")
    sp.add_argument("--private-bucket")
    sp.add_argument("--endpoint", help="S3 endpoint URL (default: AWS)")
    sp.add_argument("--create-buckets", action="store_true",
                    help="create the public and private buckets (needs credentials); the public one "
                         "gets a policy that lets anyone read objects, not list them")

    sp = add("install", cmd_install, "once per clone: hooks and drivers, then materialise HEAD's artifacts")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--force", action="store_true", help="replace foreign hooks")
    g.add_argument("--chain", action="store_true", help="keep foreign hooks and run them first")
    g.add_argument("--no-hooks", action="store_true",
                   help="for a hook manager that calls `git eosvc hook` (docs/hooks.md): drivers, and "
                        "only the hooks managers cannot run")
    sp.add_argument("--shared-hooks", action="store_true",
                    help="install even where a global core.hooksPath makes every repository run them")
    add("uninstall", cmd_uninstall, "remove git-eosvc's hooks and drivers from this clone")

    sp = add("hook", cmd_hook, "what the installed git hooks (or a hook manager) call; see docs/hooks.md")
    sp.add_argument("name", choices=HOOKS, help="the git hook being run")
    sp.add_argument("args", nargs=argparse.REMAINDER, help="git's arguments for that hook")

    sp = add("status", cmd_status, "artifact changes per section")
    sp.add_argument("--remote", action="store_true", help="also list what is not yet on S3")
    sp.add_argument("--json", action="store_true", help="a JSON object (docs/json.md) instead of text")

    sp = add("add", cmd_add, "hash the sections (or paths), rewrite and stage their manifests")
    sp.add_argument("paths", nargs="*")

    sp = add("checkout", cmd_checkout, "materialise the manifests' artifacts (downloading what is missing)")
    sp.add_argument("paths", nargs="*")
    sp.add_argument("--force", action="store_true",
                    help="replace locally modified files (their bytes are saved in the local store first)")
    sp.add_argument("--dry-run", "-n", action="store_true", help="print the plan, change nothing")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--ours", action="store_true",
                   help="resolve the conflicted entries at PATH (an entry, or a manifest) with our side")
    g.add_argument("--theirs", action="store_true", help="… with their side")
    from .cli_read import add_release_option; add_release_option(sp)  # noqa: E702 - checkout a release tag

    sp = add("fetch", cmd_fetch, "download the objects of revisions into the local store")
    sp.add_argument("revs", nargs="*")
    from .cli_read import add_release_option; add_release_option(sp)  # noqa: E702 - --release SPEC

    sp = add("push", cmd_push, "upload what the new commits need, then git push")
    sp.add_argument("--dry-run", "-n", action="store_true", help="print what would be uploaded")

    sp = add("pull", cmd_pull, "git pull --rebase, then materialise")
    sp.add_argument("-y", "--yes", action="store_true",
                    help="replace locally modified artifacts (their bytes are saved in the local store first)")

    sp = add("verify", cmd_verify, "re-hash the local store; check every object HEAD needs is on S3")
    sp.add_argument("--local", action="store_true", help="skip the S3 check")
    sp.add_argument("--json", action="store_true", help="a JSON object (docs/json.md) instead of text")

    sp = add("completion", cmd_completion,
             "print a shell completion script (load it with `source <(git-eosvc completion bash)`)")
    sp.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell the script is for")

    cli_eosvc.register(add)
    cli_review.register(add)
    from . import cli_migrate; cli_migrate.register(add)  # noqa: E702 - import-eosvc (docs/migrating-from-eosvc.md)
    from . import cli_watch; cli_watch.register(add)  # noqa: E702 - watch, recover (docs/watch.md)
    from . import cli_gc; cli_gc.register(add)  # noqa: E702 - gc (docs/gc.md)
    from . import cli_read; cli_read.register(add)  # noqa: E702 - cat, export, du (docs/cat.md, docs/du.md)
    from . import cli_drop; cli_drop.register(add)  # noqa: E702 - drop (docs/partial.md)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    prog = "eosvc" if Path(sys.argv[0]).name == "eosvc" else "git eosvc"
    words = list(sys.argv[1:] if argv is None else argv)
    if len(words) >= 2 and words[0] == "hook" and words[1] in HOOKS:
        # what the parser would make of it (the hook's arguments are a REMAINDER), without
        # building the parser of every command: a hook runs at every commit and checkout
        args = argparse.Namespace(handler=cmd_hook, name=words[1], args=words[2:])
    else:
        parser = build_parser(prog)
        args = parser.parse_args(words)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        _apply_display(args)
        return int(args.handler(args))
    except KeyboardInterrupt:
        ui.error("interrupted")
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - the last line of defence: no tracebacks for users
        if ui.debug_enabled():
            raise
        return ui.report_error(exc)


if __name__ == "__main__":
    sys.exit(main())

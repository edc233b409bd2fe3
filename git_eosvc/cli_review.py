"""Command line for review and merge: `merge-driver`, `show-manifest`, `diff`, and the
`checkout --ours/--theirs` resolution. Thin: parse, call merge/review/resolve, print.

`merge-driver` and `show-manifest` run inside git (every merge, every diff of a manifest),
so they import only the pure modules: no botocore, no engine, no repository lookup.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable

from . import ui
from .atomic import write_atomic
from .errors import UsageError

Handler = Callable[[argparse.Namespace], int]
AddCommand = Callable[[str, Handler, str], argparse.ArgumentParser]


def register(add: AddCommand) -> None:
    """Add this module's subcommands to the parser (cli.build_parser calls it)."""
    sp = add("diff", cmd_diff, "artifact-level diff: added / removed / modified / renamed files with sizes")
    sp.add_argument("revs", nargs="*", metavar="REV",
                    help="none: HEAD vs the working manifests; one: REV vs the working manifests; "
                         "two (or A..B): A vs B; A...B: the merge base of A and B vs B")
    sp.add_argument("--stat", action="store_true", help="one summary line per section")
    sp.add_argument("--format", choices=["text", "markdown", "json"], default="text",
                    help="markdown: a pull-request comment (under 65,000 characters); json: see docs/diff-json.md")
    sp.add_argument("--max-rows", type=_rows, default=None, metavar="N",
                    help="markdown: list at most N changes, largest first (default 100); the rest are "
                         "counted in one line, and the comment stays under 65,000 characters")
    sp.add_argument("--exit-code", action="store_true", help="exit 1 if there are differences (like git diff)")

    sp = add("show-manifest", cmd_show_manifest,
             "print a manifest as aligned `path  size  short-hash` lines (git's textconv for *.eosvc)")
    sp.add_argument("file", help="a manifest file, or - for standard input")

    sp = add("merge-driver", cmd_merge_driver,
             "3-way merge of a manifest, per path (what git runs as merge.eosvc.driver)")
    sp.add_argument("base", metavar="O", help="%%O: the common ancestor's version")
    sp.add_argument("ours", metavar="A", help="%%A: our version; the result is written here")
    sp.add_argument("theirs", metavar="B", help="%%B: their version")
    sp.add_argument("path", metavar="P", nargs="?", help="%%P: the manifest's path in the repository")
    sp.add_argument("marker_size", metavar="L", nargs="?", type=_marker_size, default=None,
                    help="%%L: conflict marker size (default 7)")


def _at_least(low: int) -> Callable[[str], int]:
    """An argparse type: a whole number, `low` or more."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}: {value}")
        return value
    return parse


_rows = _at_least(0)
_marker_size = _at_least(1)


# ---------------------------------------------------------------- merge-driver


def cmd_merge_driver(args: argparse.Namespace) -> int:
    """Exit 0: merged, %A holds the canonical manifest. 1: conflicts, %A holds markers around
    the conflicting entries only. 2: unreadable input; %A is left exactly as git wrote it."""
    from .merge import DEFAULT_MARKER_SIZE, Style, merge_bytes, render, section_of_manifest

    name = args.path or Path(args.ours).name
    base, ours, theirs = (_read(p, what) for p, what in
                          ((args.base, "base"), (args.ours, "ours"), (args.theirs, "theirs")))
    result = merge_bytes(base, ours, theirs, name, section_of_manifest(name) if args.path else None)
    data = render(result, Style(args.marker_size or DEFAULT_MARKER_SIZE))
    _replace(Path(args.ours), data)
    if not result.conflicts:
        return 0
    ui.warn(f"{name}: {len(result.conflicts)} conflicting entr{'y' if len(result.conflicts) == 1 else 'ies'}:")
    for c in result.conflicts[:20]:
        ui.info(f"  {c.kind}: {c.path}")
    if len(result.conflicts) > 20:
        ui.info(f"  … and {len(result.conflicts) - 20} more")
    ui.info("hint: take a side with `git eosvc checkout --ours PATH` or `--theirs PATH`, or edit "
            f"{name}; then commit")
    return 1


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the {what} version {path}: {exc.strerror}") from None


def _replace(path: Path, data: bytes) -> None:
    """Write atomically (git reads %A back by name), keeping the file's mode."""
    try:
        write_atomic(path, data, keep_mode=True)
    except OSError as exc:
        raise UsageError(f"cannot write the merge result to {path}: {exc.strerror}") from None


# ---------------------------------------------------------------- show-manifest


def cmd_show_manifest(args: argparse.Namespace) -> int:
    from .review import listing

    data = sys.stdin.buffer.read() if args.file == "-" else _read(args.file, "manifest")
    _write_out(listing(data))
    return 0


def _write_out(data: bytes) -> None:
    """Bytes to stdout: exact bytes on a real stream; text where stdout was replaced by one
    that has no `.buffer` (a notebook, `contextlib.redirect_stdout(io.StringIO())`)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8", "replace"))
        sys.stdout.flush()
        return
    buffer.write(data)
    buffer.flush()


# ---------------------------------------------------------------- diff


def cmd_diff(args: argparse.Namespace) -> int:
    from .cli_common import workspace
    from .engine.diff import build_report  # shared with the Python API (api.Repository.diff)

    if args.max_rows is not None and args.format != "markdown":
        raise UsageError("--max-rows applies to --format markdown only",
                         hint="the text and JSON formats list every changed file")
    with workspace() as ws:
        report = build_report(ws, args.revs)
    if args.format == "markdown":
        from .review_md import DEFAULT_MAX_ROWS, render_markdown

        rows = DEFAULT_MAX_ROWS if args.max_rows is None else args.max_rows
        text = render_markdown(report, stat=args.stat, max_rows=rows)
    else:
        from .review import RENDERERS

        text = RENDERERS[args.format](report, stat=args.stat)
    _write_out(text.encode("utf-8"))
    return 1 if args.exit_code and report else 0


# ---------------------------------------------------------------- checkout --ours / --theirs


def cmd_resolve(args: argparse.Namespace) -> int:
    """`git eosvc checkout --ours|--theirs PATH…`: take a side, stage, materialise."""
    from .cli_common import report_checkout, workspace
    from .engine.checkout import checkout
    from .engine.resolve import resolve_paths
    from .merge import Side
    from .ui import human_size

    side: Side = "ours" if args.ours else "theirs"
    if args.dry_run:
        raise UsageError(f"--dry-run cannot be combined with --{side}")
    with workspace() as ws:
        outcome = resolve_paths(ws, args.paths, side)
        for manifest, c in outcome.resolved:
            e = c.side(side)
            what = "deleted" if e is None else f"{human_size(e.size)}, {e.oid.short}"
            ui.info(f"{c.path}: took {side} ({what})")
        for manifest in outcome.not_conflicted:
            ui.info(f"{manifest}: no conflicts")
        for manifest, left in outcome.remaining.items():
            ui.info(f"{manifest}: {len(left)} conflict(s) left: " + ", ".join(c.path for c in left[:5])
                    + (" …" if len(left) > 5 else ""))
        if not outcome.finished:
            return 0
        ui.info("staged " + ", ".join(s.manifest for s in outcome.finished))
        result = checkout(ws, [s.path for s in outcome.finished], discard=args.force)
    report_checkout(result)
    return 0 if result.ok else 1

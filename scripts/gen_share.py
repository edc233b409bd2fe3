#!/usr/bin/env python3
"""Regenerate share/: the man page and the shell completions, from git-eosvc's parser.

    .venv/bin/python scripts/gen_share.py           # rewrite the files that changed
    .venv/bin/python scripts/gen_share.py --check   # exit 1, naming them, if any is stale

Run it after changing a command, an option or a help text: tests/test_completion.py fails
until share/ matches the parser. The wheel installs share/ under its prefix (pyproject's
[tool.setuptools.data-files]), so `git eosvc --help` (git's `man git-eosvc`) and the
completions work after `pip install`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's git_eosvc, whatever is installed

from git_eosvc import __version__  # noqa: E402
from git_eosvc.cli import build_parser  # noqa: E402
from git_eosvc.completion import script  # noqa: E402
from git_eosvc.manpage import render  # noqa: E402


def generated() -> dict[str, str]:
    """Every generated file, by path relative to the repository root."""
    parser = build_parser("git eosvc")
    bash, zsh, fish = (script(shell, parser) for shell in ("bash", "zsh", "fish"))
    return {
        "share/man/man1/git-eosvc.1": render(parser, __version__),
        "share/man/man1/eosvc.1": ".so man1/git-eosvc.1\n",  # `man eosvc`: the same page
        # bash-completion and fish load a completion by the command's name: one file each
        "share/bash-completion/completions/git-eosvc": bash,
        "share/bash-completion/completions/eosvc": bash,
        "share/zsh/site-functions/_git-eosvc": zsh,  # `#compdef git-eosvc eosvc`: both
        "share/fish/vendor_completions.d/git-eosvc.fish": fish,
        "share/fish/vendor_completions.d/eosvc.fish": fish,
    }


def stale() -> list[str]:
    """The generated files whose committed copy differs (or is missing)."""
    out = []
    for rel, text in generated().items():
        path = ROOT / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            out.append(rel)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is stale")
    args = ap.parse_args(argv)
    if args.check:
        names = stale()
        for rel in names:
            print(f"stale: {rel} (regenerate: python scripts/gen_share.py)", file=sys.stderr)
        return 1 if names else 0
    for rel, text in generated().items():
        path = ROOT / rel
        if not path.is_file() or path.read_bytes() != text.encode("utf-8"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The man page, git-eosvc(1), generated from the argument parser.

`git eosvc --help` is git's `git help eosvc`, which runs `man git-eosvc`; a wheel installs
this page under <prefix>/share/man/man1, where man finds it for <prefix>/bin on PATH.
scripts/gen_share.py writes it; a test checks the committed copy is current.
"""

from __future__ import annotations

import argparse

from .clispec import Option, Positional, Program, describe, value_name

DESCRIPTION = """\
git-eosvc keeps large artifacts (datasets, outputs, model checkpoints) out of git and in S3,
while git stays the single source of truth for which bytes belong to which commit. Each
managed directory (a section: data/, output/, model/checkpoints/, model/framework/fit/) has
a small committed manifest beside it (data.eosvc, ...): one line per file, its sha256, size
and path.
.PP
Once \\fBgit eosvc install\\fR has run in a clone, git's hooks do the work: \\fBgit commit\\fR
records hashes, \\fBgit push\\fR uploads exactly the objects the pushed commits need, and
\\fBgit pull\\fR, \\fBcheckout\\fR, \\fBswitch\\fR and the other commands that move files bring the
bytes the new HEAD needs. A merge driver merges manifests per file.
.PP
access.json at the repository root says which sections are public and which private (a
section it does not name is private); public sections live in the public bucket, private
ones in the private bucket.
.PP
\\fBeosvc\\fR is the same program, the name EOSVC's users know (\\fBeosvc clone\\fR,
\\fBdownload\\fR, \\fBupload\\fR, \\fBview\\fR)."""

TAIL = """\
.SH ENVIRONMENT
.TP
\\fBAWS_ACCESS_KEY_ID\\fR, \\fBAWS_SECRET_ACCESS_KEY\\fR, \\fBAWS_SESSION_TOKEN\\fR
the credentials for S3; without them public sections are read anonymously
.TP
\\fBEOSVC_SKIP\\fR=1
every hook does nothing, and install downloads nothing (clones that need no data)
.TP
\\fBEOSVC_DEBUG\\fR=1
a traceback instead of the one or two lines of an error
.PP
Settings (buckets, endpoint, region, cache, parallel transfers) come from the environment,
then the clone's git config, then the committed .eosvcconfig: see the project's README.
.SH EXIT STATUS
0 success; 1 an operation failed (network, missing object, conflict, integrity); 2 bad usage
or bad configuration.
.SH FILES
.TP
\\fBaccess.json\\fR, \\fB.eosvcconfig\\fR, \\fI*.eosvc\\fR
committed: the sections' access, where the data lives, the manifests
.TP
\\fB$(git rev-parse \\-\\-git\\-common\\-dir)/eosvc/\\fR
this clone's access lock and local object store
.SH SEE ALSO
\\fBgit\\fR(1), \\fBgithooks\\fR(5), \\fBgitattributes\\fR(5)
"""


def render(parser: argparse.ArgumentParser, version: str) -> str:
    """The page in roff (man(7) macros)."""
    program = describe(parser)
    return page(program, version)


def page(program: Program, version: str) -> str:
    shared = {o.flags for o in program.options}
    out = [
        ".\\\" Generated from git-eosvc's argument parser by scripts/gen_share.py; do not edit.",
        f'.TH GIT\\-EOSVC 1 "" "git\\-eosvc {_esc(version)}" "Git Manual"',
        ".nh",  # no hyphenation, ragged right: paths and options stay whole
        ".ad l",
        ".SH NAME",
        f"git\\-eosvc, eosvc \\- {_esc(_lower_first(program.description.rstrip('.')))}",
        ".SH SYNOPSIS",
        _synopsis(program.prog, [o for o in program.options if not o.exits], [], "\\fICOMMAND\\fR [\\fIARGS\\fR]"),
        ".br",
        f"\\fB{_esc(program.prog)}\\fR " + " | ".join(f"\\fB{_esc(o.long)}\\fR" for o in program.options if o.exits),
        ".br",
        _synopsis("eosvc", [], [], "\\fICOMMAND\\fR [\\fIARGS\\fR]"),
        ".SH DESCRIPTION",
        DESCRIPTION,
        ".SH OPTIONS",
        "These go before the command or, except \\fB\\-\\-version\\fR, after it.",
    ]
    out += _items(program.options, ())
    out.append(".SH COMMANDS")
    for c in program.commands:
        options = tuple(o for o in c.options if o.flags not in shared)
        out += [f".SS {_esc(c.name)}", _synopsis(f"{program.prog} {c.name}", list(options), list(c.positionals), ""),
                ".PP", _esc(_sentence(c.help))]
        out += _items(options, c.positionals)
    return "\n".join(out) + "\n" + TAIL


def _synopsis(prog: str, options: list[Option], positionals: list[Positional], rest: str) -> str:
    """A usage line with man's fonts: literal words bold, things to replace italic; lines
    break between its parts only (`\\ ` is a space that does not break)."""
    parts = [f"\\fB{_esc(prog)}\\fR".replace(" ", "\\ ")]
    for o in options:
        text = f"\\fB{_esc(o.flags[0])}\\fR" + (f"\\ \\fI{_esc(value_name(o))}\\fR" if o.metavar is not None else "")
        parts.append(text if o.required else f"[{text}]")
    for p in positionals:
        # `\\:` after each comma: a long list of choices may break there
        name = f"\\fI{_esc('{' + ','.join(p.choices) + '}' if p.choices else p.name)}\\fR".replace(",", ",\\:")
        if p.remainder:
            parts.append(f"[{name}\\ ...]")
        elif p.repeats:
            parts.append(f"[{name}\\ ...]" if p.optional else f"{name} [{name}\\ ...]")
        else:
            parts.append(f"[{name}]" if p.optional else name)
    if rest:
        parts.append(rest)
    return " ".join(parts)


def _items(options: tuple[Option, ...], positionals: tuple[Positional, ...]) -> list[str]:
    out = []
    for p in positionals:
        if p.help or p.choices:
            out += [".TP", f"\\fI{_esc(p.name)}\\fR", _esc(p.help or "one of: " + ", ".join(p.choices))]
    for o in options:
        value = f" \\fI{_esc(value_name(o))}\\fR" if o.metavar is not None else ""
        text = o.help or ("one of: " + ", ".join(o.choices) if o.choices else "")
        out += [".TP", ", ".join(f"\\fB{_esc(f)}\\fR{value}" for f in o.flags), _esc(text) or "\\&"]
    return out


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _esc(text: str) -> str:
    """Text safe in a roff line: backslashes, hyphen-minus (so options copy and search as
    typed), a control character at the start of a line, and non-ASCII as named glyphs."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(ch if ord(ch) < 128 else f"\\[u{ord(ch):04X}]" for ch in text)
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text

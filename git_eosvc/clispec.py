"""The command line as data: commands, options and arguments read from the argparse parser.

The shell completions and the man page are generated from this (completion.py, manpage.py),
so they cannot drift from the parser. It reads argparse's actions, not its formatted help:
argparse's help layout changes between Python versions and with the terminal's width, and
the generated files must be the same bytes everywhere.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

# How an argument's value is completed, from its dest: argparse does not say what a value
# is, and the parser is the one source of truth, so the rule lives here, by name.
FILES = {"paths", "path", "file", "base", "ours", "theirs"}
DIRS = {"dest"}
REFS = {"revs"}


@dataclass(frozen=True)
class Option:
    """An option: `flags` as typed (`-n`, `--dry-run`); `metavar` None for a flag."""

    flags: tuple[str, ...]
    help: str
    metavar: str | None
    choices: tuple[str, ...]
    complete: str  # "choices", "files", "dirs", "refs" or "none"
    excludes: tuple[str, ...]  # flags of its mutually exclusive partners
    exits: bool  # --help, --version: nothing else goes with it
    required: bool = False

    @property
    def long(self) -> str:
        return next((f for f in self.flags if f.startswith("--")), self.flags[-1])


@dataclass(frozen=True)
class Positional:
    """A positional argument; `repeats` when it takes any number of words."""

    name: str
    help: str
    choices: tuple[str, ...]
    complete: str
    optional: bool
    repeats: bool
    remainder: bool  # the rest of the line, options included, goes to it


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Option, ...]
    positionals: tuple[Positional, ...]

    def valued(self) -> list[Option]:
        """The options that take a value."""
        return [o for o in self.options if o.metavar is not None]


@dataclass(frozen=True)
class Program:
    """The program: its own options (before the command) and its commands, in parser order."""

    prog: str
    description: str
    options: tuple[Option, ...]
    commands: tuple[Command, ...]

    def command(self, name: str) -> Command:
        return next(c for c in self.commands if c.name == name)


def describe(parser: argparse.ArgumentParser) -> Program:
    """The parser as a Program (what cli.build_parser builds: one level of subcommands)."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    commands: list[Command] = []
    if sub is not None:
        helps = {a.dest: a.help or "" for a in sub._choices_actions}
        for name, sp in sub.choices.items():
            if helps.get(name) == argparse.SUPPRESS:
                continue
            commands.append(Command(name, _clean(helps.get(name) or sp.description or ""),
                                    tuple(_options(sp)), tuple(_positionals(sp))))
    return Program(parser.prog, _clean(parser.description or ""), tuple(_options(parser)), tuple(commands))


def usage(prog: str, options: tuple[Option, ...], positionals: tuple[Positional, ...]) -> str:
    """One line of usage: `prog [-h] [--kind {standard,model}] paths ...` (argparse's shape,
    always on one line)."""
    parts = [prog]
    for o in options:
        value = f" {value_name(o)}" if o.metavar is not None else ""
        parts.append(f"{o.flags[0]}{value}" if o.required else f"[{o.flags[0]}{value}]")
    for p in positionals:
        name = "{" + ",".join(p.choices) + "}" if p.choices else p.name
        if p.remainder:
            parts.append("...")
        elif p.repeats:
            parts.append(f"[{name} ...]" if p.optional else f"{name} [{name} ...]")
        else:
            parts.append(f"[{name}]" if p.optional else name)
    return " ".join(parts)


def value_name(option: Option) -> str:
    """What an option's value is called in usage: its choices, or its metavar."""
    return "{" + ",".join(option.choices) + "}" if option.choices else option.metavar or ""


def _options(parser: argparse.ArgumentParser) -> list[Option]:
    partners: dict[int, list[str]] = {}
    for group in parser._mutually_exclusive_groups:
        for action in group._group_actions:
            partners.setdefault(id(action), []).extend(
                f for other in group._group_actions if other is not action for f in other.option_strings)
    out = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        takes_value = action.nargs != 0
        metavar = None
        if takes_value:
            metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        out.append(Option(
            flags=tuple(action.option_strings),
            help=_help(parser, action),
            metavar=metavar,
            choices=_choices(action),
            complete=_completer(action) if takes_value else "none",
            excludes=tuple(partners.get(id(action), ())),
            exits=isinstance(action, (argparse._HelpAction, argparse._VersionAction)),
            required=action.required,
        ))
    return out


def _positionals(parser: argparse.ArgumentParser) -> list[Positional]:
    out = []
    for action in parser._actions:
        if action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        name = action.metavar if isinstance(action.metavar, str) else action.dest
        out.append(Positional(
            name=name,
            help=_help(parser, action),
            choices=_choices(action),
            complete=_completer(action),
            optional=action.nargs in ("?", "*", argparse.REMAINDER),
            repeats=action.nargs in ("*", "+", argparse.REMAINDER),
            remainder=action.nargs == argparse.REMAINDER,
        ))
    return out


def _choices(action: argparse.Action) -> tuple[str, ...]:
    return tuple(str(c) for c in action.choices) if action.choices else ()


def _completer(action: argparse.Action) -> str:
    if action.choices:
        return "choices"
    for kind, names in (("files", FILES), ("dirs", DIRS), ("refs", REFS)):
        if action.dest in names:
            return kind
    return "none"


def _help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """The action's help with argparse's %-expansion done (`%%O` is `%O`, `%(default)s` its
    default), as argparse's own HelpFormatter._expand_help does."""
    text = action.help or ""
    params: dict[str, Any] = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
    params["prog"] = parser.prog
    if params.get("choices") is not None:
        params["choices"] = ", ".join(str(c) for c in params["choices"])
    try:
        text = text % params
    except (KeyError, TypeError, ValueError):
        pass  # not a format string after all: shown as written
    return _clean(text)


def _clean(text: str) -> str:
    """One line: argparse help is written wrapped in the source, shown re-flowed."""
    return " ".join(text.split())

"""Shell completion scripts for bash, zsh and fish, generated from the argument parser.

`git eosvc completion SHELL` prints one (only that handler imports this module); the copies
a wheel installs under share/ are the same bytes (scripts/gen_share.py writes them, a test
checks they are current). Each script completes both programs, `git-eosvc` and `eosvc`, and
`git eosvc` through git's own completion where it looks for one (bash `_git_eosvc`, zsh
`_git-eosvc`).
"""

from __future__ import annotations

import argparse

from .clispec import Command, Option, Positional, Program, describe

SHELLS = ("bash", "zsh", "fish")
PROGRAMS = ("git-eosvc", "eosvc")


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for `shell` (one of SHELLS)."""
    program = describe(parser)
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](program)


def short_help(text: str) -> str:
    """A help text without its asides (parenthesised, nested or not) and up to its first `;`:
    completion menus show one short line per item."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith(" (", i):
            depth = 0
            for j in range(i + 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
            if depth == 0:  # balanced: drop the aside with the space before it
                i = j + 1
                continue
        out.append(text[i])
        i += 1
    return "".join(out).split("; ", 1)[0]


# ---------------------------------------------------------------- bash


_BASH_HEAD = """\
# bash completion for git-eosvc and eosvc, generated from git-eosvc's argument parser.
# Load it with: source <(git-eosvc completion bash)      (in ~/.bashrc, say)
# With bash-completion, the copy pip installs in <prefix>/share/bash-completion/completions
# loads by itself. `git eosvc <TAB>` works too: git's completion calls _git_eosvc.

__git_eosvc_reply() {
    # COMPREPLY for completer $1 and the word $2; files and directories are left to
    # bash's own completion (`complete -o default`), which quotes and descends best
    case $1 in
    w:*) COMPREPLY=($(compgen -W "${1#w:}" -- "$2")) ;;
    refs)
        local pfx=${2%"${2##*..}"}  # A..B and A...B: complete B
        COMPREPLY=($(compgen -P "$pfx" -W "HEAD $(git for-each-ref --format='%(refname:short)' \\
            refs/heads refs/tags refs/remotes 2>/dev/null)" -- "${2#"$pfx"}")) ;;
    esac
}

__git_eosvc_complete() {
    # $1: the index in COMP_WORDS of the first word after the program's name
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= opt= w i n=0 dd=0
    local opts valued rep REPLY
    local -a pos
    COMPREPLY=()
    __git_eosvc_spec ''
    for (( i = $1; i < COMP_CWORD; i++ )); do
        w=${COMP_WORDS[i]}
        if (( dd )) || [[ $w != -* ]]; then
            if [[ -z $cmd ]]; then
                cmd=$w
                __git_eosvc_spec "$cmd"
            else
                (( n++ ))
            fi
        elif [[ $w == -- ]]; then
            dd=1
        elif [[ $valued == *" $w "* ]]; then
            # its value is the next word, or the one after `=` (bash splits `--opt=value`)
            [[ ${COMP_WORDS[i+1]} == = ]] && (( i++ ))
            (( i++ ))
        fi
    done
    if [[ $cur == = ]]; then
        opt=$prev cur=
    elif [[ $prev == = ]]; then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    elif (( ! dd )); then
        opt=$prev
    fi
    if [[ $opt == -* && $valued == *" $opt "* ]]; then
        __git_eosvc_value "$cmd" "$opt"
    elif [[ $cur == -* ]] && (( ! dd )); then
        REPLY="w:$opts"
    elif (( n < ${#pos[@]} )); then
        REPLY=${pos[n]}
    elif (( rep )); then
        REPLY=${pos[${#pos[@]}-1]}
    else
        REPLY="w:$opts"  # no argument left to give: the options
    fi
    __git_eosvc_reply "$REPLY" "$cur"
}

__git_eosvc_main() {
    __git_eosvc_complete 1
}

_git_eosvc() {
    # git's completion calls this for `git eosvc`; it completes with -o nospace and
    # leaves the space after a finished word to us
    local i=1
    while (( i < COMP_CWORD )) && [[ ${COMP_WORDS[i]} != eosvc ]]; do (( i++ )); done
    __git_eosvc_complete $(( i + 1 ))
    if (( ${#COMPREPLY[@]} )); then COMPREPLY=("${COMPREPLY[@]/%/ }"); fi
}
"""


def bash(program: Program) -> str:
    """bash: the parser's tables as two case statements, read by one generic function."""
    spec = ["__git_eosvc_spec() {",
            "    # for command $1 ('' before it): opts, its options; valued, those that take a value;",
            "    # pos, a completer per positional argument (the last one repeats when rep=1)",
            "    case $1 in"]
    commands = "w:" + " ".join(c.name for c in program.commands)
    spec.append(_bash_spec("''", program.options, [commands], False))
    for c in program.commands:
        spec.append(_bash_spec(_sh_quote(c.name), c.options, [_bash_completer(p) for p in c.positionals],
                               any(p.repeats for p in c.positionals)))
    spec += ["    *) opts= valued=' ' pos=() rep=0 ;;", "    esac", "}", ""]

    where: dict[str, dict[str, str]] = {}  # flag -> command -> completer of its value
    for name, options in [("", program.options)] + [(c.name, c.options) for c in program.commands]:
        for o in options:
            if o.metavar is not None:
                for flag in o.flags:
                    where.setdefault(flag, {})[name] = _bash_completer(o)
    by_completer: dict[str, list[str]] = {}  # "none" is the default case: not listed
    for flag, per_command in where.items():
        if len(per_command) > 1 and len(set(per_command.values())) == 1:  # the same everywhere
            by_completer.setdefault(next(iter(per_command.values())), []).append(f"*{_sh_quote(' ' + flag)}")
        else:
            for name, completer in per_command.items():
                by_completer.setdefault(completer, []).append(_sh_quote(f"{name} {flag}"))
    by_completer.pop("none", None)
    value = ["__git_eosvc_value() {",
             "    # REPLY: the completer of option $2's value, for command $1",
             '    case "$1 $2" in']
    for completer, keys in by_completer.items():
        value.append(f"    {'|'.join(keys)})\n        REPLY={_sh_quote(completer)} ;;")
    value += ["    *) REPLY=none ;;", "    esac", "}", ""]
    tail = f"complete -o bashdefault -o default -F __git_eosvc_main {' '.join(PROGRAMS)}\n"
    return _BASH_HEAD + "\n" + "\n".join(spec + value) + tail


def _bash_spec(case: str, options: tuple[Option, ...], pos: list[str], rep: bool) -> str:
    opts = " ".join(f for o in options for f in o.flags)
    valued = " ".join(f for o in options if o.metavar is not None for f in o.flags)
    return (f"    {case})\n        opts={_sh_quote(opts)}\n        valued={_sh_quote(f' {valued} ')}\n"
            f"        pos=({' '.join(_sh_quote(p) for p in pos)}) rep={int(rep)} ;;")


def _bash_completer(arg: Option | Positional) -> str:
    if isinstance(arg, Positional) and arg.remainder:
        return "none"
    return "w:" + " ".join(arg.choices) if arg.complete == "choices" else arg.complete


def _sh_quote(text: str) -> str:
    """Single-quoted for sh, bash, zsh: `'` becomes `'\\''`."""
    return "'" + text.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- zsh


_ZSH_HEAD = """\
#compdef git-eosvc eosvc
# zsh completion for git-eosvc and eosvc, generated from git-eosvc's argument parser.
# Install it as _git-eosvc in a directory of $fpath (before compinit runs), e.g.
#   git-eosvc completion zsh > ~/.zfunc/_git-eosvc   with   fpath=(~/.zfunc $fpath)
# or load it after compinit: source <(git-eosvc completion zsh)
# `git eosvc <TAB>` works too: zsh's git completion calls _git-eosvc.

__git_eosvc_refs() {
  local -a refs
  refs=(HEAD ${(f)"$(git for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes 2>/dev/null)"})
  compset -P '*...' || compset -P '*..'  # A..B and A...B: complete B
  _wanted refs expl revision compadd -a refs
}

"""


def zsh(program: Program) -> str:
    """zsh: _arguments specs, one set per command (they carry the exclusions and choices)."""
    lines = ["__git_eosvc_commands() {", "  local -a commands", "  commands=("]
    lines += [f"    {_sh_quote(_zsh_escape(c.name, ':') + ':' + short_help(c.help))}" for c in program.commands]
    lines += ["  )", "  _describe -t commands 'git-eosvc command' commands", "}", ""]
    lines += ["_git-eosvc() {",
              "  local curcontext=$curcontext state state_descr line expl ret=1",
              "  typeset -A opt_args",
              "  _arguments -C \\"]
    lines += [f"    {spec} \\" for spec in _zsh_options(program.options)]
    lines += ["    '1: :__git_eosvc_commands' \\", "    '*:: :->args' && ret=0",
              "  [[ $state == args ]] || return ret",
              "  curcontext=${curcontext%:*:*}:git-eosvc-$words[1]:",
              "  case $words[1] in"]
    for c in program.commands:
        specs = _zsh_options(c.options) + _zsh_positionals(c)
        lines.append(f"  ({c.name})")
        lines.append("    _arguments \\")
        lines += [f"      {spec} \\" for spec in specs]
        lines[-1] = lines[-1][:-2] + " && ret=0"
        lines.append("    ;;")
    lines += ["  esac", "  return ret", "}", "",
              "if [[ $funcstack[1] == _git-eosvc ]]; then",
              "  _git-eosvc \"$@\"  # autoloaded from $fpath",
              "else",
              f"  compdef _git-eosvc {' '.join(PROGRAMS)}  # sourced",
              "fi", ""]
    return _ZSH_HEAD + "\n".join(lines)


def _zsh_options(options: tuple[Option, ...]) -> list[str]:
    out = []
    for o in options:
        if o.exits:
            exclude = "(- *)"
        elif len(o.flags) > 1 or o.excludes:
            exclude = "(" + " ".join(o.flags + o.excludes) + ")"
        else:
            exclude = ""
        value = ""
        if o.metavar is not None:
            value = ":" + _zsh_escape(o.metavar.lower(), ":") + ":" + _zsh_action(o.complete, o.choices)
        desc = "[" + _zsh_escape(short_help(o.help), "[]") + "]"
        # `--opt=`: the value may follow in the same word after `=`, or in the next word
        flags = [f + "=" if f.startswith("--") and o.metavar is not None else f for f in o.flags]
        if len(flags) == 1:
            out.append(_sh_quote(exclude + flags[0] + desc + value))
        else:
            out.append(_sh_quote(exclude) + "{" + ",".join(flags) + "}" + _sh_quote(desc + value))
    return out


def _zsh_positionals(command: Command) -> list[str]:
    out = []
    for i, p in enumerate(command.positionals, 1):
        message = _zsh_escape(p.name.lower(), ":")
        if p.remainder:
            out.append(_sh_quote(f"*::{message}: "))
        elif p.repeats:
            out.append(_sh_quote(f"*:{message}:{_zsh_action(p.complete, p.choices)}"))
        else:
            colon = "::" if p.optional else ":"
            out.append(_sh_quote(f"{i}{colon}{message}:{_zsh_action(p.complete, p.choices)}"))
    return out


def _zsh_action(complete: str, choices: tuple[str, ...]) -> str:
    if complete == "choices":
        return "(" + " ".join(_zsh_escape(c, " ()") for c in choices) + ")"
    return {"files": "_files", "dirs": "_files -/", "refs": "__git_eosvc_refs"}.get(complete, " ")


def _zsh_escape(text: str, chars: str) -> str:
    text = text.replace("\\", "\\\\")
    for ch in chars:
        text = text.replace(ch, "\\" + ch)
    return text


# ---------------------------------------------------------------- fish


_FISH_HEAD = """\
# fish completion for git-eosvc and eosvc, generated from git-eosvc's argument parser.
# Install: git-eosvc completion fish > ~/.config/fish/completions/git-eosvc.fish
# (for `eosvc`, the same file as eosvc.fish), or load it: git-eosvc completion fish | source

function __git_eosvc_command --description 'the git-eosvc command on the line, if any'
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
        else if contains -- $w {valued}
            set skip 1
        else if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    return 1
end

function __git_eosvc_using --description 'is the git-eosvc command on the line $argv[1]?'
    set -l cmd (__git_eosvc_command)
    test "$cmd" = "$argv[1]"
end

function __git_eosvc_refs --description 'branches, tags and remote branches'
    echo HEAD
    git for-each-ref --format='%(refname:short)' refs/heads refs/tags refs/remotes 2>/dev/null
end

"""


def fish(program: Program) -> str:
    """fish: one `complete` line per command and per option, conditioned on the command."""
    valued = " ".join(f for o in program.options if o.metavar is not None for f in o.flags)
    head = _FISH_HEAD.replace("{valued}", valued)
    c_ = " ".join(f"-c {p}" for p in PROGRAMS)
    top = "'not __git_eosvc_command'"
    lines = [f"complete {c_} -n {top} -f"]
    lines += [f"complete {c_} -n {top} -a {c.name} -d {_fish_quote(short_help(c.help))}" for c in program.commands]
    lines += [f"complete {c_} -n {top} {_fish_option(o)}" for o in program.options]
    for c in program.commands:
        cond = _fish_quote(f"__git_eosvc_using {c.name}")
        lines.append("")
        kinds = {p.complete for p in c.positionals if not p.remainder}
        if not kinds & {"files", "dirs"}:
            lines.append(f"complete {c_} -n {cond} -f")  # no file names here
        for p in c.positionals:
            if p.complete == "choices":
                lines.append(f"complete {c_} -n {cond} -a {_fish_quote(' '.join(p.choices))}"
                             f" -d {_fish_quote(short_help(p.help) or p.name)}")
            elif p.complete == "refs" and not p.remainder:
                lines.append(f"complete {c_} -n {cond} -a '(__git_eosvc_refs)'")
        lines += [f"complete {c_} -n {cond} {_fish_option(o)}" for o in c.options]
    return head + "\n".join(lines) + "\n"


def _fish_option(o: Option) -> str:
    parts = []
    for f in o.flags:
        if f.startswith("--"):
            parts.append(f"-l {f[2:]}")
        elif len(f) == 2:
            parts.append(f"-s {f[1]}")
        else:
            parts.append(f"-o {f[1:]}")
    if o.metavar is not None:
        if o.complete == "choices":
            parts.append(f"-x -a {_fish_quote(' '.join(o.choices))}")
        elif o.complete == "files":
            parts.append("-r -F")
        elif o.complete == "dirs":
            parts.append("-x -a '(__fish_complete_directories)'")
        elif o.complete == "refs":
            parts.append("-x -a '(__git_eosvc_refs)'")
        else:
            parts.append("-x")
    parts.append(f"-d {_fish_quote(short_help(o.help))}")
    return " ".join(parts)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

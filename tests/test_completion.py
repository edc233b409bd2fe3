"""Issue 13, item 4: shell completions and the man page, generated from the argument parser.

The scripts are checked by the shells themselves: bash by calling the completion function
the way readline does (COMP_WORDS, COMP_CWORD), zsh and fish by asking them to complete a
line (zsh through a pseudo-terminal, fish with `complete -C`). zsh and fish are optional:
their tests skip, saying so, where the shell is not installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BIN, ROOT, git

from git_eosvc.cli import build_parser
from git_eosvc.clispec import describe, usage
from git_eosvc import completion as completion_mod
from git_eosvc.completion import script, short_help

SHELLS = ("bash", "zsh", "fish")
SHARE = {  # the installed copies: each is exactly what `git-eosvc completion SHELL` prints
    "bash": ["share/bash-completion/completions/git-eosvc", "share/bash-completion/completions/eosvc"],
    "zsh": ["share/zsh/site-functions/_git-eosvc"],
    "fish": ["share/fish/vendor_completions.d/git-eosvc.fish", "share/fish/vendor_completions.d/eosvc.fish"],
}
# where distributions put git's own bash completion (git-completion.bash)
GIT_BASH_COMPLETION = [
    "/usr/share/bash-completion/completions/git",
    "/usr/local/share/bash-completion/completions/git",
    "/etc/bash_completion.d/git",
    "/usr/share/git-core/contrib/completion/git-completion.bash",
    "/usr/local/etc/bash_completion.d/git-completion.bash",
    "/opt/homebrew/etc/bash_completion.d/git-completion.bash",
]


def run(cmd: list[str], cwd: Path | None = None, input: str | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, input=input, timeout=timeout)
    assert proc.returncode == 0, f"{cmd[:3]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


def completion(shell: str, program: str = "git-eosvc") -> str:
    return run([str(BIN / program), "completion", shell]).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a commit on main and a tag: revisions to complete."""
    work = tmp_path / "work"
    git(tmp_path, "init", "-q", str(work))
    git(work, "commit", "-q", "--allow-empty", "-m", "one")
    git(work, "tag", "v1")
    return work


# ---------------------------------------------------------------- generated files


def test_share_is_current_with_the_parser() -> None:
    """The man page and completions under share/ (what the wheel installs) are the parser's."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/gen_share.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, (
        "share/ is stale; regenerate it with `.venv/bin/python scripts/gen_share.py`:\n" + proc.stderr)


@pytest.mark.parametrize("shell", SHELLS)
def test_the_completion_command_prints_the_installed_script(shell: str) -> None:
    printed = completion(shell)
    assert completion(shell, "eosvc") == printed  # the same script, whichever name runs it
    for rel in SHARE[shell]:
        assert (ROOT / rel).read_text(encoding="utf-8") == printed, f"{rel} is stale"


def test_an_unknown_shell_is_a_usage_error() -> None:
    proc = subprocess.run([str(BIN / "git-eosvc"), "completion", "tcsh"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice: 'tcsh'" in proc.stderr and "bash" in proc.stderr


def test_the_cli_imports_the_generators_only_when_asked() -> None:
    """Hooks run the CLI on every checkout: the completion and man page code stays unloaded."""
    code = ("import sys, git_eosvc.cli as c; c.build_parser('git eosvc'); "
            "print(sorted(m for m in sys.modules if m.split('.')[-1] in ('completion', 'clispec', 'manpage')))")
    assert run([sys.executable, "-c", code]).stdout.strip() == "[]"


def test_the_man_page_documents_every_command_and_option() -> None:
    page = (ROOT / "share/man/man1/git-eosvc.1").read_text(encoding="utf-8")
    program = describe(build_parser("git eosvc"))
    for command in program.commands:
        assert f"\n.SS {command.name.replace('-', chr(92) + '-')}\n" in page, command.name
        for option in command.options:
            assert "\\fB" + option.flags[0].replace("-", "\\-") + "\\fR" in page, (command.name, option.flags)
    assert page.isascii()  # non-ASCII goes in as named glyphs: any man, any locale
    if shutil.which("groff"):  # man's formatter: the page has no markup errors
        proc = subprocess.run(["groff", "-man", "-ww", "-z", str(ROOT / "share/man/man1/git-eosvc.1")],
                              capture_output=True, text=True)
        assert (proc.returncode, proc.stderr) == (0, "")


def test_the_parser_is_read_as_data() -> None:
    p = argparse.ArgumentParser(prog="x")
    sub = p.add_subparsers(dest="command")
    sp = sub.add_parser("go", help="go (somewhere); then stop")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--ours", action="store_true", help="%%A: ours")
    g.add_argument("--theirs", action="store_true")
    sp.add_argument("--kind", choices=["a", "b"], default="a", help="kind (default: %(default)s)")
    sp.add_argument("--path", required=True)
    sp.add_argument("revs", nargs="*")
    sp.add_argument("--hidden", help=argparse.SUPPRESS)
    go = describe(p).command("go")
    ours, theirs, kind, path = (o for o in go.options if o.flags[0] != "-h")
    assert (ours.help, ours.excludes, theirs.excludes) == ("%A: ours", ("--theirs",), ("--ours",))
    assert (kind.choices, kind.complete, kind.help) == (("a", "b"), "choices", "kind (default: a)")
    assert (path.complete, path.required) == ("files", True)
    assert [(r.name, r.complete, r.repeats, r.optional) for r in go.positionals] == [("revs", "refs", True, True)]
    assert usage("x go", go.options, go.positionals) == \
        "x go [-h] [--ours] [--theirs] [--kind {a,b}] --path PATH [revs ...]"
    assert short_help(go.help) == "go"


# ---------------------------------------------------------------- bash


def bash_complete(lines: list[list[str]], cwd: Path, prelude: str = "",
                  function: str = "__git_eosvc_main") -> list[list[str]]:
    """What bash's completion function offers for each command line (its last word being
    completed), called as readline calls it."""
    calls = []
    for words in lines:
        quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        calls.append(f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; "
                     f"COMP_POINT=${{#COMP_LINE}}; COMPREPLY=(); {function}; "
                     "printf '%s\\n' \"${COMPREPLY[@]}\"; echo '@@'")
    body = "\n".join([prelude, "source <(git-eosvc completion bash)", *calls])
    out = run(["bash", "--norc", "--noprofile", "-c", body], cwd=cwd).stdout
    return [[w for w in chunk.split("\n") if w] for chunk in out.split("@@\n")[:-1]]


def test_bash_registers_both_programs() -> None:
    for program in ("git-eosvc", "eosvc"):
        proc = run(["bash", "--norc", "--noprofile", "-c",
                    f"source <({program} completion bash); complete -p git-eosvc; complete -p eosvc"])
        assert proc.stdout.splitlines() == [
            "complete -o bashdefault -o default -F __git_eosvc_main git-eosvc",
            "complete -o bashdefault -o default -F __git_eosvc_main eosvc"]


def test_bash_completes_commands_options_and_values(repo: Path) -> None:
    commands = [c.name for c in describe(build_parser("git eosvc")).commands]
    got = bash_complete([
        ["git-eosvc", ""],
        ["git-eosvc", "ch"],
        ["git-eosvc", "checkout", "--d"],
        ["eosvc", "push", "--"],
        ["git-eosvc", "init", "--kind", ""],
        ["git-eosvc", "init", "--kind", "=", "m"],  # `--kind=m`: bash splits it at `=`
        ["git-eosvc", "--progress", "p"],
        ["git-eosvc", "-q", "--progress", "plain", "st"],  # global options before the command
        ["git-eosvc", "hook", "pre-p"],
        ["git-eosvc", "completion", ""],
        ["git-eosvc", "diff", "--format", "j"],
        ["git-eosvc", "diff", "v"],
        ["git-eosvc", "diff", "main..v"],
        ["git-eosvc", "fetch", "main", "ma"],
        ["git-eosvc", "status", ""],  # no argument to give: the options
        ["git-eosvc", "checkout", ""],  # paths: left to bash's file completion
    ], cwd=repo)
    assert got[0] == commands
    assert got[1] == ["checkout"]
    assert got[2] == ["--dry-run"]
    assert set(got[3]) == {"--help", "--quiet", "--verbose", "--progress", "--dry-run"}
    assert got[4] == ["standard", "model"]
    assert got[5] == ["model"]
    assert got[6] == ["plain"]
    assert got[7] == ["status"]
    assert got[8] == ["pre-push"]
    assert got[9] == ["bash", "zsh", "fish"]
    assert got[10] == ["json"]
    assert got[11] == ["v1"]
    assert got[12] == ["main..v1"]
    assert got[13] == ["main"]
    assert "--remote" in got[14] and "--help" in got[14]
    assert got[15] == []


def test_git_eosvc_completes_inside_git_own_bash_completion(repo: Path) -> None:
    """`git eosvc <TAB>`: git's completion calls _git_eosvc (and, with -o nospace, expects
    the space after a finished word from it)."""
    found = next((p for p in GIT_BASH_COMPLETION if os.path.isfile(p)), None)
    if found is None:
        pytest.skip("git's bash completion (git-completion.bash) is not installed in a known place")
    got = bash_complete([
        ["git", "eosvc", "checkout", "--d"],
        ["git", "-C", ".", "eosvc", "init", "--kind", "s"],
        ["git", "eosvc", "comp"],
    ], cwd=repo, prelude=f"source {found}", function="__git_wrap__git_main")
    assert got == [["--dry-run "], ["standard "], ["completion "]]


# ---------------------------------------------------------------- zsh

ZSH_HARNESS = r"""
# zsh -f harness.zsh SCRIPT OUT LINE...: what zsh's completion offers for each LINE<TAB>,
# typed into an interactive zsh on a pseudo-terminal; compadd is wrapped to record matches.
zmodload zsh/zpty || exit 3
script=$1 out=$2
shift 2
: > $out
zpty z zsh -f -i
zpty -w z "PS1=; autoload -U compinit; compinit -u -D; source ${(q)script}"
zpty -w z "compadd() { if [[ \${@[1,(i)--]} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi; local -a h; builtin compadd -A h \"\$@\"; print -rl -- \$h >> ${(q)out}; builtin compadd \"\$@\"; }"
# TAB completes, then says so: the next keys are sent only after the completion ran
zpty -w z "tab() { zle complete-word; print -n TAB-DONE; }; zle -N tab; bindkey '^I' tab"
# wait for a command's output, not its echo: the echo shows $((...)), the output its value
n=1000
zpty -w z "print -r -- @@ >> ${(q)out}; print M\$(( $n + 1 ))"
zpty -r -m z x "*M$(( n + 1 ))*"
for line in "$@"; do
  (( n++ ))
  zpty -w -n z "$line"$'\t'
  zpty -r -m z x "*TAB-DONE*"
  zpty -w -n z $'\C-e\C-u'
  zpty -w z "print -r -- @@ >> ${(q)out}; print M\$(( $n + 1 ))"
  zpty -r -m z x "*M$(( n + 1 ))*"
done
zpty -d z
"""


def zsh() -> str:
    path = shutil.which("zsh")
    if path is None:
        pytest.skip("zsh is not installed (apt-get install zsh); the zsh completion is untested here")
    return path


def test_zsh_registers_both_programs_sourced_or_from_fpath(tmp_path: Path) -> None:
    shell = zsh()
    sourced = run([shell, "-f", "-c", ("autoload -U compinit; compinit -u -D; "
                                       "source <(git-eosvc completion zsh); print -r -- $_comps[git-eosvc] $_comps[eosvc]")])
    assert sourced.stdout.split() == ["_git-eosvc", "_git-eosvc"]
    fpath = tmp_path / "zfunc"
    fpath.mkdir()
    shutil.copy(ROOT / SHARE["zsh"][0], fpath / "_git-eosvc")  # as the wheel installs it
    from_fpath = run([shell, "-f", "-c", (f"fpath=({fpath} $fpath); autoload -U compinit; compinit -u -D; "
                                          "print -r -- $_comps[git-eosvc] $_comps[eosvc]")])
    assert from_fpath.stdout.split() == ["_git-eosvc", "_git-eosvc"]


def test_zsh_completes_commands_options_and_values(tmp_path: Path, repo: Path) -> None:
    shell = zsh()
    (tmp_path / "harness.zsh").write_text(ZSH_HARNESS)
    (tmp_path / "_git-eosvc").write_text(completion("zsh"))
    out = tmp_path / "out"
    lines = ["git-eosvc checkout --d", "eosvc init --kind ", "git-eosvc init --kind=m", "git-eosvc diff v",
             "git-eosvc checkout --ours --th", "git-eosvc ", "git eosvc completion "]
    proc = subprocess.run([shell, "-f", str(tmp_path / "harness.zsh"), str(tmp_path / "_git-eosvc"), str(out),
                           *lines], cwd=repo, capture_output=True, text=True, timeout=60)
    if proc.returncode == 3:
        pytest.skip("zsh has no zsh/zpty module: cannot type into an interactive zsh")
    assert proc.returncode == 0, proc.stderr
    got = [[w for w in chunk.split("\n") if w] for chunk in out.read_text().split("@@\n")[1:-1]]
    commands = [c.name for c in describe(build_parser("git eosvc")).commands]
    assert got[0] == ["--dry-run"]
    assert got[1] == ["standard", "model"]
    assert got[2] == ["model"]
    assert got[3] == ["v1"]
    assert got[4] == []  # --ours and --theirs exclude each other
    assert got[5] == commands
    assert got[6] == ["bash", "zsh", "fish"]  # zsh's git completion calls _git-eosvc


# ---------------------------------------------------------------- fish


def test_fish_completes_commands_options_and_values(repo: Path) -> None:
    shell = shutil.which("fish")
    if shell is None:
        pytest.skip("fish is not installed (apt-get install fish); the fish completion is untested here")
    lines = ["git-eosvc checkout --d", "eosvc init --kind ", "git-eosvc --progress=p", "git-eosvc diff v",
             "git-eosvc ", "eosvc -q hook pre-p", "git-eosvc status "]
    body = "git-eosvc completion fish | source\n" + "\n".join(
        f"complete -C {_fish_quote(line)}; echo @@" for line in lines)
    out = run([shell, "--no-config", "-c", body], cwd=repo).stdout
    got = [[w.split("\t")[0] for w in chunk.split("\n") if w] for chunk in out.split("@@\n")[:-1]]
    commands = sorted(c.name for c in describe(build_parser("git eosvc")).commands)
    assert got[0] == ["--dry-run"]
    assert got[1] == ["model", "standard"]
    assert got[2] == ["--progress=plain"]
    assert got[3] == ["v1"]
    assert got[4] == commands
    assert got[5] == ["pre-push"]
    assert got[6] == []  # no file names where no argument is taken


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_scripts_are_what_the_generator_makes() -> None:
    parser = build_parser("git eosvc")
    assert describe(parser).command("completion").positionals[0].choices == completion_mod.SHELLS
    for shell in SHELLS:
        assert script(shell, parser) == (ROOT / SHARE[shell][0]).read_text(encoding="utf-8")

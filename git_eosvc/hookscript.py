"""The hook scripts: short `sh` rendered from `hooks/hook.sh.tmpl` (packaged as
`git_eosvc.hooks`), each with a marker line naming the hook and its version (how install
tells ours from a foreign hook), the absolute git-eosvc recorded at install (PATH as the
fallback), and for the post-* hooks a fast path that exits before Python starts."""

from __future__ import annotations

import re
from pathlib import Path

from .access import MANIFESTS

HOOK_NAMES = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite", "post-commit",
              "post-index-change", "post-applypatch", "reference-transaction")
HOOK_VERSION = 3
CHAINED_DIR = "eosvc-chained"  # --chain keeps a foreign hook here, under its own name; ours runs it first
CHAINED_SUFFIX = ".eosvc-chained"  # where v1 kept it (uninstall still restores from there)
REPLACED_SUFFIX = ".eosvc-replaced"  # a foreign hook replaced by --force, kept as a copy
# what hook managers (pre-commit, husky, lefthook) run for us; they have no stage for the others
MANAGED_HOOKS = HOOK_NAMES[:6]
_MARKER = re.compile(rb"^# git-eosvc-hook (\S+) v(\d+):", re.MULTILINE)
_STDIN_HOOKS = {"pre-push", "post-rewrite", "reference-transaction"}  # git feeds these on stdin
# hooks that run after git did its work: they never fail git
_AFTER = {"reference-transaction"}
_ABOUT = {
    "pre-commit": "Blocks a commit whose staged manifests name objects missing from the local store.",
    "pre-push": "Uploads to S3 the artifacts the pushed commits need; blocks the push on failure.",
    "post-checkout": "Materialises the artifacts of the checked-out commit (never loses local work).",
    "post-merge": "Materialises the artifacts of the merged commit (never loses local work).",
    "post-rewrite": "Materialises the artifacts after a rebase (never loses local work).",
    "post-commit": "Materialises the artifacts after a commit that changed them (cherry-pick, revert, a merge "
                   "concluded by hand).",
    "post-index-change": "Materialises the artifacts after git rewrote the work tree (reset, stash, "
                         "cherry-pick -n, a merge stopped by conflicts).",
    "post-applypatch": "Materialises the artifacts after `git am` applied a patch.",
    "reference-transaction": "When a fetch brings commits that track files inside a section, saves "
                             "the local bytes git could overwrite.",
}
_MISSING = {
    "pre-commit": "git-eosvc: not found ({where}): commit blocked, the staged artifacts cannot be "
                  "checked; reinstall git-eosvc, or commit with EOSVC_SKIP=1",
    "pre-push": "git-eosvc: not found ({where}): push blocked, the artifacts it needs cannot be "
                "uploaded; reinstall git-eosvc, or push with EOSVC_SKIP=1 if no data changed",
}
_MISSING_POST = ("warning: git-eosvc not found ({where}): artifacts not updated; reinstall "
                 "git-eosvc, then run `git eosvc checkout`")
_FAILED_POST = "warning: git-eosvc could not update the artifacts; run `git eosvc checkout`"



def sh_quote(text: str) -> str:
    """Single-quote for sh: the only character that needs care inside is ' itself."""
    return "'" + text.replace("'", "'\\''") + "'"



def hook_owner(path: Path) -> tuple[str, int] | None:
    """(hook name, version) if the file is one of ours, else None."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    m = _MARKER.search(head)
    return (m.group(1).decode(), int(m.group(2))) if m else None



def _template() -> str:
    from importlib.resources import files

    return (files("git_eosvc.hooks") / "hook.sh.tmpl").read_text(encoding="utf-8")



def render(name: str, command: str | None, chained: bool) -> str:
    """The hook script for `name`, calling `command` (absolute; PATH as fallback)."""
    post = name.startswith("post-") or name in _AFTER
    # git's stdin, kept to replay to both hooks, or for the fast path to read
    stdin = name in _STDIN_HOOKS and (chained or name == "reference-transaction")
    feed = "printf '%s' \"$input\" | " if stdin else ""
    before = ""
    if stdin:
        before += ('input=$(cat; echo .)  # git\'s stdin, replayed to both hooks\n'
                   'input=${input%.}\n')
    if chained:
        # the chained hook keeps its file name: tools that dispatch on $0 still work
        before += f'chained="$(dirname "$0")/{CHAINED_DIR}/$(basename "$0")"\n'
        run_chained = f'{feed}"$chained" "$@"'
        if post:  # git has done its work: run ours regardless, report the chained hook's status
            before += f'status=0\nif [ -x "$chained" ]; then {run_chained} || status=$?; fi\n'
        else:  # the chained hook can veto, exactly as it could alone
            before += f'if [ -x "$chained" ]; then {run_chained} || exit $?; fi\n'
    status = "$status" if chained and post else "0"
    where = f"not at {command}, not on PATH" if command else "not on PATH"
    if post:
        before += _fast_path(name, status)
        missing = _MISSING_POST.format(where=where)
        run = (f'{feed}"$eosvc" hook {name} "$@" || echo {sh_quote(_FAILED_POST)} >&2\n'
               f"exit {status}")
    else:
        missing = _MISSING[name].format(where=where)
        run = f'{feed}"$eosvc" hook {name} "$@"' if stdin else f'exec "$eosvc" hook {name} "$@"'
    text = _template()
    for key, value in (("@BEFORE@", before), ("@NAME@", name), ("@VERSION@", str(HOOK_VERSION)),
                       ("@ABOUT@", _ABOUT[name]), ("@EOSVC@", sh_quote(command or "")),
                       ("@MISSING_STATUS@", status if post else "1"), ("@STATUS@", status),
                       ("@MISSING@", sh_quote(missing)), ("@RUN@", run)):
        text = text.replace(key, value)
    return text


def _fast_path(name: str, status: str) -> str:
    """sh that exits before Python starts when every manifest is byte-identical to what the
    work tree was last materialised to, or to what the last reconcile already tried (and
    reported: kept files, private sections without credentials): `Workspace.is_current`.
    `git add` and `git status` (post-index-change) stop here too; a reference-transaction
    goes on only for a fetch that moved remote-tracking refs."""
    lines = []
    if name == "reference-transaction":
        lines.append(f'[ "${{1:-}}" = committed ] || exit {status}')
        lines.append(f'case "$input" in *" refs/remotes/"*) ;; *) exit {status} ;; esac')
        return "".join(line + "\n" for line in lines)
    pairs = " ".join(f"{m}:{m.replace('/', '%2F')}" for m in MANIFESTS)
    lines.append(
        f'd=$(git rev-parse --git-dir 2>/dev/null) && {{ same=1; for p in {pairs}; do '
        f'm=${{p%%:*}}; r=$d/eosvc/materialised/${{p#*:}}; a=$d/eosvc/attempted/${{p#*:}}; '
        f'if [ -e "$m" ] || [ -e "$r" ]; then cmp -s "$m" "$r" 2>/dev/null || cmp -s "$m" "$a" 2>/dev/null '
        f'|| {{ same=0; break; }}; fi; '
        f'done; [ $same = 1 ] && exit {status}; }}')
    return "".join(line + "\n" for line in lines)

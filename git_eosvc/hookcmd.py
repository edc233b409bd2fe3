"""`git eosvc hook <name> …`: the one entry point the installed hooks (and hook managers) call.

It validates git's arguments, calls the engine and prints. The rules (DESIGN.md §4):

- pre-commit and pre-push can block git: on failure they print what was wrong and what to
  do, and exit non-zero (1: an operation failed; 2: bad usage or configuration).
- the post-* hooks never fail git: git has already done its
  work, so on error they print what to run (`git eosvc checkout`) and exit 0.
- `EOSVC_SKIP=1` makes every hook a no-op; a work tree without access.json is not an
  eosvc repo and every hook passes silently.

Called by a hook manager instead of git, the hooks also accept no arguments and read
pre-commit-framework's PRE_COMMIT_* variables (docs/hooks.md).

Startup is the budget here: nothing heavy is imported until a hook knows it has work
(the git processes once a repo is opened, botocore only when a transfer is due).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Sequence

from . import ui
from .errors import EosvcError, UsageError
from .hashing import is_object_id
from .hookscript import HOOK_NAMES

if TYPE_CHECKING:
    from .engine.push import RefUpdate
    from .repo import Repo

HOOKS = HOOK_NAMES


def run(name: str, args: Sequence[str]) -> int:
    """Run hook `name` with git's arguments; returns the exit code for git."""
    if os.environ.get("EOSVC_SKIP") == "1":
        return 0
    if name.startswith("post-"):
        return _post(name, list(args))
    if name == "reference-transaction":
        return _reference_transaction(list(args))
    try:
        if name == "pre-commit":
            return _pre_commit(list(args))
        if name == "pre-push":
            return _pre_push(list(args))
        raise UsageError(f"unknown hook {name!r}", hint=f"hooks: {', '.join(HOOKS)}")
    except Exception as exc:  # noqa: BLE001 - fail closed, but without a traceback
        if ui.debug_enabled() and not isinstance(exc, EosvcError):
            raise
        return ui.report_error(exc, f"git-eosvc {name}")


# ---------------------------------------------------------------- opening the repo


def _open_repo() -> "Repo | None":
    """The work tree git runs the hook in; None when there is nothing for eosvc to do
    (a bare repository, or no access.json: not an eosvc repo)."""
    from .access import ACCESS_FILE
    from .repo import Repo

    try:
        repo = Repo.discover()
    except UsageError:
        if Repo.is_bare_at():
            return None
        raise
    if not (repo.workdir / ACCESS_FILE).is_file():
        repo.close()
        return None
    return repo


# ---------------------------------------------------------------- pre-commit


def _pre_commit(args: list[str]) -> int:
    if args:
        raise UsageError(f"pre-commit takes no arguments, got {' '.join(args)!r}",
                         hint="hook managers: do not pass file names (pass_filenames: false)")
    repo = _open_repo()
    if repo is None:
        return 0
    from .cli_common import workspace
    from .engine.precommit import pre_commit_check

    index = os.environ.get("GIT_INDEX_FILE") or None  # relative to the top level, our cwd
    with workspace(repo=repo, settle=False) as ws:  # a commit never makes a store copy the only one
        report = pre_commit_check(ws, os.path.abspath(index) if index else None)
    if report.behind:
        ui.info("git-eosvc: the work tree's artifacts do not match the manifests yet, so changes to "
                "them were not checked (nor auto-added); `git eosvc checkout` brings them")
    if report.auto_added:
        ui.info(f"git-eosvc: re-hashed and staged {', '.join(report.auto_added)} (eosvc.autoAdd)")
    if report.unrecorded:
        lines: list[str] = []
        for _, changes in report.unrecorded:
            lines += [f"  modified: {n.path}" for _, n in changes.modified]
            lines += [f"  added:    {e.path}" for e in changes.added]
            lines += [f"  deleted:  {e.path}" for e in changes.removed]
        more = f"\n  … and {len(lines) - 10} more" if len(lines) > 10 else ""
        ui.warn("git-eosvc: artifacts changed but not added (this commit does not record them):\n"
                + "\n".join(lines[:10]) + more)
        ui.info("hint: `git eosvc add` records them (`git config eosvc.autoAdd true` does it at every "
                "commit)")
    if report.missing:
        from .errors import OperationError

        listed = "\n".join(f"  {e.path} ({e.oid.short})" for e in report.missing[:10])
        more = f"\n  … and {len(report.missing) - 10} more" if len(report.missing) > 10 else ""
        raise OperationError(
            f"commit blocked: {len(report.missing)} artifact(s) in the staged manifests are not in "
            f"the local store, so `git push` could not upload them:\n{listed}{more}",
            hint="run `git eosvc add` where these files are (it stores them), or `git eosvc fetch "
                 "REV` if they come from another commit; `git commit --no-verify` skips this check")
    return 0


# ---------------------------------------------------------------- pre-push


def _pre_push(args: list[str]) -> int:
    remote, url, updates, unseen = _push_input(args)
    repo = _open_repo()
    if repo is None:
        return 0
    from .cli_common import workspace
    from .engine.push import upload_for_push

    with workspace(repo=repo) as ws:
        result = upload_for_push(ws, updates, remote, url)
        if unseen:
            try:
                more = upload_for_push(ws, unseen, remote, url)
            except EosvcError as exc:
                names = ", ".join(u.local_ref.removeprefix("refs/heads/") for u in unseen[:5])
                raise UsageError(
                    f"the hook manager showed this hook only {updates[0].local_ref}; the other local "
                    f"refs this push may send ({names}) need objects that could not be uploaded: {exc.message}",
                    hint="push those refs one at a time, or let git run git-eosvc's own pre-push hook "
                         "(`git eosvc install --chain`)") from None
            result.uploaded += more.uploaded
            result.bytes += more.bytes
    if result.uploaded:
        ui.info(f"git-eosvc: uploaded {result.uploaded} object(s), {ui.human_size(result.bytes)}")
    return 0


def _push_input(args: list[str]) -> tuple[str, str, list["RefUpdate"], list["RefUpdate"]]:
    """(remote, url, ref updates, refs the push may also send unseen) from git's arguments and
    stdin, or from pre-commit-framework's environment when a hook manager calls us without them."""
    from .engine.push import RefUpdate

    if not args and os.environ.get("PRE_COMMIT_REMOTE_NAME"):
        return _push_input_from_pre_commit()
    if len(args) != 2:
        raise UsageError("pre-push expects git's two arguments <remote> <url>, and the ref "
                         "lines on stdin", hint="see `git help githooks` (pre-push)")
    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("pre-push reads git's ref lines on stdin; run it from a pre-push hook")
    updates: list[RefUpdate] = []
    for n, raw in enumerate(sys.stdin.buffer.read().decode("utf-8", "replace").splitlines(), 1):
        if not raw.strip():
            continue
        fields = raw.split()
        if len(fields) != 4 or not (is_object_id(fields[1]) and is_object_id(fields[3])):
            raise UsageError(f"pre-push: stdin line {n} is not "
                             f"'<local ref> <local oid> <remote ref> <remote oid>': {raw[:120]!r}")
        updates.append(RefUpdate(*fields))
    return args[0], args[1], updates, []


def _push_input_from_pre_commit() -> tuple[str, str, list["RefUpdate"], list["RefUpdate"]]:
    """pre-commit-framework hands its hooks one ref per push (PRE_COMMIT_TO_REF, and
    PRE_COMMIT_FROM_REF when the remote has something), even when `git push` sends several
    (`git push origin br1 br2`, `--all`, `--tags`). The others cannot be seen, so every
    local branch and tag may be in the push: commits the remote already has (its tracking
    refs) drop out, the rest are uploaded too (content-addressed, so harmless if that ref
    is not pushed after all), or the push is refused naming them: never a pushed ref
    without its objects."""
    from .engine.push import ZERO_OID, RefUpdate
    from .repo import Repo

    env = os.environ
    remote = env["PRE_COMMIT_REMOTE_NAME"]
    with Repo.discover() as repo:
        local = env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
        if not is_object_id(local):
            local = repo.resolve(local)
        old = env.get("PRE_COMMIT_FROM_REF") or ""
        named = RefUpdate(env.get("PRE_COMMIT_LOCAL_BRANCH", "HEAD"), local,
                          env.get("PRE_COMMIT_REMOTE_BRANCH", ""), old if is_object_id(old) else ZERO_OID)
        unseen = [RefUpdate(ref, tip, ref, ZERO_OID) for ref, tip in repo.local_refs() if tip != local]
    return remote, env.get("PRE_COMMIT_REMOTE_URL", ""), [named], unseen


# ---------------------------------------------------------------- reference-transaction


def _reference_transaction(args: list[str]) -> int:
    """After a fetch moved remote-tracking refs: if the new commits track files inside a
    section, save the local bytes at those paths before a merge or checkout overwrites them.
    Like the post-* hooks, it never fails git."""
    try:
        if args != ["committed"] or sys.stdin is None:
            return 0
        from .engine.push import is_zero

        tips = [fields[1] for line in sys.stdin.buffer.read().decode("utf-8", "replace").splitlines()
                for fields in [line.split()] if len(fields) == 3 and fields[2].startswith("refs/remotes/")
                and is_object_id(fields[1]) and not is_zero(fields[1])]
        repo = _open_repo()
        if repo is None or not tips:
            return 0
        from .cli_common import workspace
        from .engine.guard import save_before_overwrite

        with workspace(repo=repo) as ws:  # closes the repo too
            saved = save_before_overwrite(ws, tips)
        for path, oid in saved:
            ui.warn(f"git-eosvc: fetched commits track {path} in git, inside a section; your bytes "
                    f"there are saved in the local store as {oid} (`git eosvc` refuses to push such commits)")
    except Exception as exc:  # noqa: BLE001 - never fail git for a fetch that happened
        _post_failed("reference-transaction", exc)
    return 0


# ---------------------------------------------------------------- after git changed the work tree


def _post(name: str, args: list[str]) -> int:
    """Reconcile after git changed the work tree; whatever happens, git's command succeeded."""
    try:
        if _post_args(name, args):
            _reconcile(name)
    except KeyboardInterrupt:
        _post_failed(name, EosvcError("interrupted"))
    except Exception as exc:  # noqa: BLE001 - never fail git for a command that happened
        _post_failed(name, exc)
    return 0


def _post_failed(name: str, exc: BaseException) -> None:
    ui.report_error(exc, f"git-eosvc {name}", warn=True)
    ui.info("hint: git itself succeeded; the artifacts were not (fully) updated. Fix the cause, "
            "then run `git eosvc checkout`")


def _post_args(name: str, args: list[str]) -> bool:
    """Validate git's arguments; whether git may have changed the work tree's manifests.

    Measured on git 2.39 (tests/test_git_hooks_recorded.py, docs/hooks.md): a true merge
    runs post-merge with MERGE_HEAD still present, a cherry-pick runs post-commit with
    CHERRY_PICK_HEAD present, reset/stash/revert/cherry-pick -n run only post-index-change
    (first argument 1), `checkout REV -- path` and `restore --source` run post-checkout
    with flag 0, and `git am` runs only post-applypatch. Each of them finished its work.
    """
    env = os.environ
    if name == "post-checkout":
        if not args:  # a hook manager: pre-commit-framework's variables, else a branch checkout
            args = [env.get("PRE_COMMIT_FROM_REF", ""), env.get("PRE_COMMIT_TO_REF", ""),
                    env.get("PRE_COMMIT_CHECKOUT_TYPE", "1")]
            args = [a or "0" * 40 for a in args[:2]] + args[2:]
        if len(args) != 3 or not (is_object_id(args[0]) and is_object_id(args[1])) \
                or args[2] not in ("0", "1"):
            raise UsageError(f"post-checkout expects <old> <new> <0|1>, got {' '.join(args)!r}")
        return True  # 1: a branch checkout; 0: paths checked out, a manifest among them maybe
    if name == "post-merge":
        flag = args[0] if args else env.get("PRE_COMMIT_IS_SQUASH_MERGE", "0")
        if len(args) > 1 or flag not in ("0", "1"):
            raise UsageError(f"post-merge expects <0|1>, got {' '.join(args)!r}")
        return True
    if name == "post-rewrite":
        command = args[0] if args else env.get("PRE_COMMIT_REWRITE_COMMAND", "rebase")
        if len(args) > 1 or command not in ("amend", "rebase"):
            raise UsageError(f"post-rewrite expects amend or rebase, got {' '.join(args)!r}")
        return True  # git's stdin lists the rewritten pairs; the manifests say it all
    if name == "post-index-change":
        if len(args) != 2 or any(a not in ("0", "1") for a in args):
            raise UsageError(f"post-index-change expects <0|1> <0|1>, got {' '.join(args)!r}")
        return True  # 0 too: `sparse-checkout disable` brings files back with 0 (the sh fast path
        # already let `git add` / `git status` through without Python)
    if name in ("post-commit", "post-applypatch"):
        if args:
            raise UsageError(f"{name} takes no arguments, got {' '.join(args)!r}")
        return True
    raise UsageError(f"unknown hook {name!r}", hint=f"hooks: {', '.join(HOOKS)}")


def _reconcile(name: str) -> None:
    repo = _open_repo()
    if repo is None:
        return
    if repo.sequencer_busy():
        repo.close()
        return  # a rebase, cherry-pick or revert with steps left: its last step reconciles
    from .cli_common import report_checkout, workspace
    from .engine.checkout import reconcile

    with workspace(repo=repo) as ws:  # closes the repo too
        result = reconcile(ws)
    if result is None:
        return
    report_checkout(result, prefix="git-eosvc: ")
    for manifest in result.conflicted:
        ui.info(f"git-eosvc: {manifest} has merge conflicts; its artifacts follow once it is resolved")
    if result.failed or result.kept:
        ui.info("hint: `git eosvc checkout` retries; `git eosvc status` shows what differs")

"""`git eosvc hook <name> …`: the one entry point the installed hooks (and hook managers) call.

It validates git's arguments, calls the engine and prints. The rules (DESIGN.md §4):

- pre-commit and pre-push can block git: on failure they print what was wrong and what to
  do, and exit non-zero (1: an operation failed; 2: bad usage or configuration).
- post-checkout, post-merge and post-rewrite never fail git: git has already done its
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
import re
import sys
from typing import TYPE_CHECKING, Sequence

from . import ui
from .errors import EosvcError, UsageError

if TYPE_CHECKING:
    from .engine.push import RefUpdate
    from .repo import Repo

HOOKS = ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite", "post-commit")
_OID = re.compile(r"(?:[0-9a-f]{40}|[0-9a-f]{64})")


def run(name: str, args: Sequence[str]) -> int:
    """Run hook `name` with git's arguments; returns the exit code for git."""
    if os.environ.get("EOSVC_SKIP") == "1":
        return 0
    if name.startswith("post-"):
        return _post(name, list(args))
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
    with workspace(start=repo.workdir) as ws:
        report = pre_commit_check(ws, os.path.abspath(index) if index else None)
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
        print("hint: `git eosvc add` records them (`git config eosvc.autoAdd true` does it at every "
              "commit)", file=sys.stderr, flush=True)
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
    remote, url, updates = _push_input(args)
    repo = _open_repo()
    if repo is None:
        return 0
    from .cli_common import workspace
    from .engine.push import upload_for_push

    with workspace(start=repo.workdir) as ws:
        result = upload_for_push(ws, updates, remote, url)
    if result.uploaded:
        ui.info(f"git-eosvc: uploaded {result.uploaded} object(s), {ui.human_size(result.bytes)}")
    return 0


def _push_input(args: list[str]) -> tuple[str, str, list["RefUpdate"]]:
    """(remote, url, ref updates) from git's arguments and stdin, or from pre-commit-framework's
    environment when a hook manager calls us without them."""
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
        if len(fields) != 4 or not (_OID.fullmatch(fields[1]) and _OID.fullmatch(fields[3])):
            raise UsageError(f"pre-push: stdin line {n} is not "
                             f"'<local ref> <local oid> <remote ref> <remote oid>': {raw[:120]!r}")
        updates.append(RefUpdate(*fields))
    return args[0], args[1], updates


def _push_input_from_pre_commit() -> tuple[str, str, list["RefUpdate"]]:
    """pre-commit-framework passes one ref per run: PRE_COMMIT_TO_REF (or the local branch)
    and PRE_COMMIT_FROM_REF (what the remote has, when it has something)."""
    from .engine.push import RefUpdate

    env = os.environ
    local = env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    if not _OID.fullmatch(local):
        from .repo import Repo

        local = Repo.discover().resolve(local)
    old = env.get("PRE_COMMIT_FROM_REF") or ""
    update = RefUpdate(env.get("PRE_COMMIT_LOCAL_BRANCH", "HEAD"), local,
                       env.get("PRE_COMMIT_REMOTE_BRANCH", ""), old if _OID.fullmatch(old) else "0" * 40)
    return env["PRE_COMMIT_REMOTE_NAME"], env.get("PRE_COMMIT_REMOTE_URL", ""), [update]


# ---------------------------------------------------------------- post-checkout / merge / rewrite


def _post(name: str, args: list[str]) -> int:
    """Materialise after git changed HEAD; whatever happens, git's command already succeeded."""
    try:
        why = _post_args(name, args)
        if why is not None:
            _materialise(name, why)
    except EosvcError as exc:
        _post_failed(name, exc.message, exc.hint)
    except KeyboardInterrupt:
        _post_failed(name, "interrupted", None)
    except Exception as exc:  # noqa: BLE001 - never fail git for a checkout that happened
        if ui.debug_enabled():
            import traceback

            traceback.print_exc()
        _post_failed(name, f"unexpected {type(exc).__name__}: {exc}", None)
    return 0


def _post_failed(name: str, message: str, hint: str | None) -> None:
    ui.warn(f"git-eosvc {name}: {message}")
    if hint:
        print(f"hint: {hint}", file=sys.stderr, flush=True)
    print("hint: git itself succeeded; the artifacts were not (fully) updated. Fix the cause, "
          "then run `git eosvc checkout`", file=sys.stderr, flush=True)


def _post_args(name: str, args: list[str]) -> str | None:
    """Validate git's arguments: the reason to materialise, or None when there is nothing to do."""
    env = os.environ
    if name == "post-checkout":
        if not args:  # a hook manager: pre-commit-framework's variables, else assume a branch checkout
            args = [env.get("PRE_COMMIT_FROM_REF", ""), env.get("PRE_COMMIT_TO_REF", ""),
                    env.get("PRE_COMMIT_CHECKOUT_TYPE", "1")]
            args = [a or "0" * 40 for a in args[:2]] + args[2:]
        if len(args) != 3 or not (_OID.fullmatch(args[0]) and _OID.fullmatch(args[1])) \
                or args[2] not in ("0", "1"):
            raise UsageError(f"post-checkout expects <old> <new> <0|1>, got {' '.join(args)!r}")
        return "checkout" if args[2] == "1" else None  # 0: files checked out, HEAD unchanged
    if name == "post-merge":
        flag = args[0] if args else env.get("PRE_COMMIT_IS_SQUASH_MERGE", "0")
        if len(args) > 1 or flag not in ("0", "1"):
            raise UsageError(f"post-merge expects <0|1>, got {' '.join(args)!r}")
        return "merge"
    if name == "post-rewrite":
        command = args[0] if args else env.get("PRE_COMMIT_REWRITE_COMMAND", "rebase")
        if len(args) > 1 or command not in ("amend", "rebase"):
            raise UsageError(f"post-rewrite expects amend or rebase, got {' '.join(args)!r}")
        return command  # git's stdin lists the rewritten pairs; HEAD's manifests say it all
    if name == "post-commit":
        # git runs no post-merge after a merge whose conflicts the user resolved by hand:
        # the commit that concludes it is where the merged manifests get materialised
        if args:
            raise UsageError(f"post-commit takes no arguments, got {' '.join(args)!r}")
        return "commit"
    raise UsageError(f"unknown hook {name!r}", hint=f"hooks: {', '.join(HOOKS)}")


def _materialise(name: str, why: str) -> None:
    repo = _open_repo()
    if repo is None:
        return
    busy = repo.operation_in_progress()
    if busy and not _finishing(repo, busy, why):
        if busy == "bisect":
            ui.info("git-eosvc: bisect in progress, artifacts left as they are; "
                    "`git eosvc checkout` brings this commit's")
        return  # post-rewrite (or the end of the merge) catches up once
    from .cli_common import report_checkout, workspace
    from .engine.checkout import reconcile

    with workspace(start=repo.workdir) as ws:
        result = reconcile(ws)
    if result is None:
        return
    report_checkout(result, prefix="git-eosvc: ")
    if result.failed or result.kept:
        print("hint: `git eosvc checkout` retries; `git eosvc status` shows what differs",
              file=sys.stderr, flush=True)


def _finishing(repo: "Repo", busy: str, why: str) -> bool:
    """Whether this hook runs at the end of the operation in progress, so it must do the work.

    The sequencer runs post-rewrite before removing .git/rebase-merge; and a rebase with
    nothing to replay (a fast-forward) checks out the result with an empty todo list and
    runs no post-rewrite at all.
    """
    if busy != "rebase":
        return False
    if why == "rebase":
        return True
    if why == "checkout":
        todo = repo.git_dir / "rebase-merge" / "git-rebase-todo"
        try:
            lines = todo.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return False
        return not any(line.strip() and not line.lstrip().startswith("#") for line in lines)
    return False

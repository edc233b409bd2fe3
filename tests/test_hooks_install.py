"""Issue 3: `git eosvc install` / `uninstall` and the hook scripts themselves.

Foreign hooks (refuse, --force, --chain), core.hooksPath, upgrades, a vanished
git-eosvc, and `git eosvc hook` argument validation. Real git runs the real hooks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, S3, eosvc, git
from helpers import new_repo, write

from git_eosvc.hookscript import HOOK_NAMES, HOOK_VERSION, hook_owner

FOREIGN_PRE_PUSH = """#!/bin/sh
# the team's own pre-push: logs what git gave it, fails when told to
echo "args: $*" >> "{log}"
cat >> "{log}"
[ ! -e "{fail}" ]
"""


def record(work: Path, message: str) -> None:
    eosvc(work, "add")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)


def tip(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", "--verify", "-q", ref, check=False).stdout.strip()


def hooks(work: Path) -> Path:
    return work / ".git" / "hooks"


def test_install_writes_every_hook_and_again_is_a_no_op(tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    for name in HOOK_NAMES:
        path = hooks(a) / name
        assert hook_owner(path) == (name, HOOK_VERSION)
        assert os.access(path, os.X_OK)
        assert f"'{BIN / 'git-eosvc'}'" in path.read_text()  # the absolute path, recorded
    before = {n: (hooks(a) / n).stat().st_mtime_ns for n in HOOK_NAMES}
    proc = eosvc(a, "install")
    assert "already installed" in proc.stderr
    assert {n: (hooks(a) / n).stat().st_mtime_ns for n in HOOK_NAMES} == before
    driver = git(a, "config", "merge.eosvc.driver").stdout.strip()
    assert driver == f"'{BIN / 'git-eosvc'}' merge-driver %O %A %B %P %L"
    assert git(a, "config", "diff.eosvc.textconv").stdout.strip() == f"'{BIN / 'git-eosvc'}' show-manifest"


def test_an_older_hook_of_ours_is_upgraded(tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    old = "#!/bin/sh\n# git-eosvc-hook pre-commit v0: an older git-eosvc\nexec git-eosvc hook pre-commit\n"
    (hooks(a) / "pre-commit").write_text(old)
    proc = eosvc(a, "install")
    assert "pre-commit" in proc.stderr
    assert hook_owner(hooks(a) / "pre-commit") == ("pre-commit", HOOK_VERSION)


def test_foreign_pre_push_refused_then_chained_then_restored(tmp_path: Path, remote: Path, s3: S3) -> None:
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "remote", "add", "origin", str(remote))
    log, fail = tmp_path / "foreign.log", tmp_path / "fail-now"
    foreign = FOREIGN_PRE_PUSH.format(log=log, fail=fail)
    write(work, ".git/hooks/pre-push", foreign)
    (hooks(work) / "pre-push").chmod(0o755)

    # init runs install: refused, nothing written, and the message says what to do
    proc = eosvc(work, "init", "--repo", "proj", check=False)
    assert proc.returncode == 2, proc.stderr
    assert str(hooks(work) / "pre-push") in proc.stderr
    assert "--chain" in proc.stderr and "--force" in proc.stderr and "Traceback" not in proc.stderr
    assert (hooks(work) / "pre-push").read_text() == foreign
    assert not (hooks(work) / "pre-commit").exists()

    proc = eosvc(work, "install", "--chain")
    assert (hooks(work) / "eosvc-chained" / "pre-push").read_text() == foreign
    assert hook_owner(hooks(work) / "pre-push") == ("pre-push", HOOK_VERSION)
    assert eosvc(work, "install", "--chain").stderr.count("already installed") == 1  # no-op

    # both hooks see git's arguments and the same stdin; ours uploads
    write(work, "data/f.txt", "chained\n")
    record(work, "data")
    head = tip(work, "HEAD")
    proc = git(work, "push", "-u", "origin", "main")
    assert "uploaded 1 object(s)" in proc.stderr
    logged = log.read_text()
    assert f"args: origin {remote}" in logged
    assert f"refs/heads/main {head} refs/heads/main {'0' * 40}" in logged

    # the chained hook's failure aborts the push, as it would have alone
    fail.touch()
    write(work, "data/f.txt", "second\n")
    record(work, "second")
    proc = git(work, "push", "origin", "main", check=False)
    assert proc.returncode != 0
    assert tip(remote, "main") == head

    # uninstall: ours go, the chained hook is back where it was, drivers are gone
    proc = eosvc(work, "uninstall")
    assert (hooks(work) / "pre-push").read_text() == foreign
    assert not (hooks(work) / "eosvc-chained" / "pre-push").exists()
    assert not any((hooks(work) / n).exists() for n in HOOK_NAMES if n != "pre-push")
    assert git(work, "config", "--get", "merge.eosvc.driver", check=False).returncode != 0
    assert git(work, "config", "--get", "diff.eosvc.textconv", check=False).returncode != 0


def test_force_replaces_a_foreign_hook_and_keeps_a_copy(tmp_path: Path, remote: Path) -> None:
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    mine = "#!/bin/sh\nexit 0\n"
    write(work, ".git/hooks/post-checkout", mine)
    assert eosvc(work, "init", "--repo", "proj", check=False).returncode == 2
    proc = eosvc(work, "install", "--force")
    assert hook_owner(hooks(work) / "post-checkout") == ("post-checkout", HOOK_VERSION)
    assert (hooks(work) / "post-checkout.eosvc-replaced").read_text() == mine
    assert "post-checkout.eosvc-replaced" in proc.stderr


def test_core_hooks_path_gets_the_hooks(tmp_path: Path, remote: Path) -> None:
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "config", "core.hooksPath", ".husky")
    write(work, ".husky/pre-commit", "#!/bin/sh\n# husky\n")
    assert eosvc(work, "init", "--repo", "proj", check=False).returncode == 2  # foreign, in .husky
    eosvc(work, "install", "--chain")
    for name in HOOK_NAMES:
        assert hook_owner(work / ".husky" / name) == (name, HOOK_VERSION)
    assert (work / ".husky/eosvc-chained/pre-commit").exists()
    assert not any((hooks(work) / n).exists() for n in HOOK_NAMES)


def test_hooks_of_a_linked_worktree_and_a_submodule(tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "x.txt", "x\n")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "x")
    git(a, "worktree", "add", "-q", str(tmp_path / "wt"), "-b", "wt")
    assert "already installed" in eosvc(tmp_path / "wt", "install").stderr  # shared hooks dir
    git(a, "push", "-q", "origin", "main")

    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    git(outer, "submodule", "add", "-q", str(remote), "sub")
    eosvc(outer / "sub", "install")
    assert hook_owner(outer / ".git/modules/sub/hooks/pre-push") == ("pre-push", HOOK_VERSION)
    assert not (hooks(outer) / "pre-push").exists()


def test_a_vanished_git_eosvc_blocks_pushes_and_warns_on_checkout(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    record(a, "v1")
    git(a, "switch", "-q", "-c", "other")
    # install from a copy of the script, then delete the copy and drop the venv from PATH
    copy = tmp_path / "bin" / "git-eosvc"
    copy.parent.mkdir()
    shutil.copy2(BIN / "git-eosvc", copy)
    subprocess.run([str(copy), "install"], cwd=a, check=True, capture_output=True)
    assert f"'{copy}'" in (hooks(a) / "pre-push").read_text()
    copy.unlink()
    monkeypatch.setenv("PATH", "/usr/bin:/bin")

    proc = git(a, "push", "origin", "main", check=False)
    assert proc.returncode != 0
    lines = [x for x in proc.stderr.splitlines() if "git-eosvc" in x]
    assert len(lines) == 1 and "not found" in lines[0] and "push blocked" in lines[0], proc.stderr
    assert tip(remote, "main") == ""

    proc = git(a, "checkout", "main")
    assert proc.returncode == 0
    assert "warning: git-eosvc not found" in proc.stderr and "git eosvc checkout" in proc.stderr

    proc = git(a, "commit", "--allow-empty", "-q", "-m", "x", check=False)  # pre-commit fails closed
    assert proc.returncode != 0 and "commit blocked" in proc.stderr


@pytest.mark.parametrize("args, code", [
    (["pre-commit", "x"], 2),
    (["pre-push"], 2),
    (["pre-push", "origin"], 2),
    (["post-checkout", "nonsense"], 0),   # post-* never fail git, even on bad arguments
    (["post-merge", "2"], 0),
    (["post-rewrite", "squash"], 0),
    (["post-checkout", "0" * 40, "0" * 40, "0"], 0),  # a file checkout: nothing to do
])
def test_hook_arguments_are_validated(tmp_path: Path, remote: Path, args: list[str], code: int) -> None:
    a = new_repo(tmp_path, remote)
    proc = eosvc(a, "hook", *args, check=False)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    if args[0].startswith("post-") and len(args) != 4:
        assert "expects" in proc.stderr


def test_pre_push_input_is_validated(tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    proc = eosvc(a, "hook", "pre-push", "origin", str(remote), input="garbage line\n", check=False)
    assert proc.returncode == 2 and "stdin line 1" in proc.stderr


def test_pre_commit_framework_variables_drive_pre_push(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "via pre-commit framework\n")
    record(a, "f")
    env = {"PRE_COMMIT_REMOTE_NAME": "origin", "PRE_COMMIT_REMOTE_URL": str(remote),
           "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main", "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
           "PRE_COMMIT_TO_REF": tip(a, "HEAD")}
    proc = eosvc(a, "hook", "pre-push", env=env)
    assert "uploaded 1 object(s)" in proc.stderr


def test_no_hooks_leaves_nothing_to_run_twice(tmp_path: Path) -> None:
    """Under a hook manager: the hooks it runs are not ours (after `init` wrote them, too),
    and ours stay for the two stages managers have none for."""
    from git_eosvc.hookscript import MANAGED_HOOKS

    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    eosvc(work, "init", "--repo", "proj")
    assert all(hook_owner(hooks(work) / n) for n in HOOK_NAMES)
    proc = eosvc(work, "install", "--no-hooks")
    assert "hook manager" in proc.stderr
    assert not any((hooks(work) / n).exists() for n in MANAGED_HOOKS)
    assert {n for n in HOOK_NAMES if hook_owner(hooks(work) / n)} == \
        {"post-index-change", "post-applypatch", "reference-transaction"}
    assert "merge-driver" in git(work, "config", "merge.eosvc.driver").stdout
    assert "warning" not in eosvc(work, "status").stderr  # not stale: this is what was asked for


def test_chain_keeps_the_chained_hooks_name(tmp_path: Path) -> None:
    """Tools dispatch on $0 (husky's `h`, lefthook): the chained hook runs under its own name."""
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    log = tmp_path / "log"
    write(work, ".git/hooks/post-checkout", f'#!/bin/sh\necho "$(basename "$0") $*" >> "{log}"\n')
    (hooks(work) / "post-checkout").chmod(0o755)
    assert eosvc(work, "init", "--repo", "proj", check=False).returncode == 2  # foreign hook
    eosvc(work, "install", "--chain")
    assert (hooks(work) / "eosvc-chained" / "post-checkout").exists()
    git(work, "commit", "-q", "--allow-empty", "-m", "x")
    git(work, "checkout", "-q", "-b", "other")
    assert log.read_text().startswith("post-checkout ")


def test_husky_is_detected_and_its_recipe_offered(tmp_path: Path) -> None:
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    write(work, ".husky/_/h", "#!/usr/bin/env sh\n")  # husky 9's dispatcher
    write(work, ".husky/_/pre-commit", '#!/usr/bin/env sh\n. "$(dirname "$0")/h"\n')
    git(work, "config", "core.hooksPath", ".husky/_")
    proc = eosvc(work, "install", check=False)
    assert proc.returncode == 2
    assert "husky owns" in proc.stderr and ".husky/pre-commit" in proc.stderr and "--no-hooks" in proc.stderr
    assert hook_owner(work / ".husky/_/pre-commit") is None


def test_a_global_hooks_path_is_refused_unless_asked(tmp_path: Path, git_env: Path) -> None:
    shared = tmp_path / "shared-hooks"
    git(tmp_path, "config", "--global", "core.hooksPath", str(shared))
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    proc = eosvc(work, "install", check=False)
    assert proc.returncode == 2 and "every repository on this machine" in proc.stderr
    assert not shared.exists()
    eosvc(work, "install", "--shared-hooks")
    assert hook_owner(shared / "pre-push") == ("pre-push", HOOK_VERSION)


def test_commands_warn_when_the_hooks_went_missing(tmp_path: Path) -> None:
    work = tmp_path / "a"
    work.mkdir()
    git(work, "init", "-q")
    eosvc(work, "init", "--repo", "proj")
    assert "warning" not in eosvc(work, "status").stderr
    (hooks(work) / "post-merge").write_text("#!/bin/sh\n# rewritten by another tool\n")
    proc = eosvc(work, "status")
    assert "missing or out of date" in proc.stderr and "post-merge" in proc.stderr
    assert "git eosvc install" in proc.stderr
    eosvc(work, "install", "--force")
    assert "warning" not in eosvc(work, "status").stderr


def test_the_quick_manifest_comparison_is_exact() -> None:
    from git_eosvc.hashing import hash_bytes
    from git_eosvc.manifest import Entry, Manifest, encode
    from git_eosvc.manifest import lists_exactly as _lists_exactly

    def entries(*items: tuple[str, bytes]) -> dict[str, Entry]:
        return {p: Entry(p, hash_bytes(b), len(b)) for p, b in items}

    base = entries(("data/a", b"1"), ("data/b/c", b"22"))
    data = encode(Manifest(base.values()))
    assert _lists_exactly(data, base)
    assert not _lists_exactly(data, entries(("data/a", b"1"), ("data/b/c", b"23")))
    assert not _lists_exactly(data, entries(("data/a", b"1")))
    assert not _lists_exactly(data, {**base, **entries(("data/new", b""))})
    odd = entries(("data/a b\tc", b"x"))  # quoted in the manifest: the strict path decides
    assert not _lists_exactly(encode(Manifest(odd.values())), odd)
    assert not _lists_exactly(data + data.split(b"\n", 1)[1], base)  # duplicated lines

"""Reconcile after git, beyond the matrix: it settles (what it could not do is reported
once, not at every later hook), and a rebase stop hands the user the stopped commit's bytes
(so `eosvc.autoAdd` at the stop records nothing stale). Real git, real hooks, moto S3."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import S3, eosvc, git
from helpers import commit_all, pushed_and_cloned, write


def test_a_kept_edit_is_reported_once_then_the_hooks_stay_quiet(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "v1\n"})
    write(b, "data/x.csv", "my unsaved edit\n")
    write(a, "data/x.csv", "v2\n")
    commit_all(a, "v2")
    git(a, "push", "-q")
    pulled = git(b, "pull", "-q", "--no-rebase", "--no-edit")
    assert "kept data/x.csv" in pulled.stderr
    for args in (("checkout", "-q", "-b", "tmp"), ("commit", "-q", "--allow-empty", "-m", "code"),
                 ("checkout", "-q", "main")):
        proc = git(b, *args)  # (pre-commit still notes the edit is not added: that is its job)
        assert "kept" not in proc.stderr and "artifacts:" not in proc.stderr, (args, proc.stderr)
    assert (b / "data/x.csv").read_text() == "my unsaved edit\n"
    assert "kept data/x.csv" in eosvc(b, "checkout", check=False).stderr  # the command still says so


def test_a_rebase_edit_stop_holds_the_stopped_commits_bytes(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, _b = pushed_and_cloned(tmp_path, remote, {"data/a.txt": "a0\n"})
    git(a, "config", "eosvc.autoAdd", "true")
    git(a, "checkout", "-q", "-b", "topic")
    write(a, "data/a.txt", "a1\n")
    commit_all(a, "c1: change a")
    write(a, "data/n.txt", "new in c2\n")
    commit_all(a, "c2: add n")
    env = dict(os.environ, GIT_SEQUENCE_EDITOR="sed -i 1s/^pick/edit/", GIT_EDITOR="true")
    subprocess.run(["git", "rebase", "-q", "-i", "main"], cwd=a, env=env, check=True,
                   capture_output=True)
    assert not (a / "data/n.txt").exists()  # c1's bytes at the stop, not c2's
    write(a, "code.py", "print('fix at the stop')\n")
    git(a, "add", "code.py")
    git(a, "commit", "-q", "--amend", "--no-edit")  # autoAdd runs here
    assert "data/n.txt" not in git(a, "show", "HEAD:data.eosvc").stdout
    subprocess.run(["git", "rebase", "--continue"], cwd=a, env=env, check=True, capture_output=True)
    assert (a / "data/n.txt").read_text() == "new in c2\n"
    assert "data/n.txt" not in git(a, "show", "HEAD~1:data.eosvc").stdout

"""Issue 15, part 4: git-eosvc under the pre-commit framework (a real `pre-commit install`,
real git, moto S3): what our hooks say is visible, a multi-branch push uploads every
branch's objects, and no hook of ours runs twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import BIN, S3, eosvc, git
from helpers import commit_all, new_repo, obj_key, write

CONFIG = """repos:
- repo: local
  hooks:
""" + "".join(f"""  - id: eosvc-{stage}
    name: git-eosvc {stage}
    entry: git-eosvc hook {stage}
    language: system
    pass_filenames: false
    always_run: true
    require_serial: true
    stages: [{stage}]
{"    verbose: true" + chr(10) if stage.startswith("post-") else ""}""" for stage in
    ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite", "post-commit"))
STAGES = ["-t", "pre-commit", "-t", "pre-push", "-t", "post-checkout", "-t", "post-merge",
          "-t", "post-rewrite", "-t", "post-commit"]


def pre_commit(cwd: Path, *args: str) -> None:
    proc = subprocess.run([str(BIN / "pre-commit"), *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def managed(work: Path) -> None:
    """The recipe of docs/hooks.md: pre-commit owns .git/hooks, git-eosvc keeps the drivers."""
    write(work, ".pre-commit-config.yaml", CONFIG)
    git(work, "add", ".pre-commit-config.yaml")
    pre_commit(work, "install", *STAGES)
    eosvc(work, "install", "--no-hooks")


@pytest.fixture(autouse=True)
def _pre_commit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))


def test_two_branch_push_uploads_both_branches(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    managed(a)
    write(a, "data/base.csv", "base\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    for branch in ("br1", "br2"):
        git(a, "checkout", "-q", "-b", branch, "main")
        write(a, f"data/{branch}.csv", f"only on {branch}\n")
        commit_all(a, branch)
    git(a, "checkout", "-q", "main")
    git(a, "push", "-q", "origin", "br1", "br2")  # pre-commit names only one of them
    keys = s3.keys(s3.public_bucket)
    assert obj_key("only on br1\n") in keys and obj_key("only on br2\n") in keys


def test_a_kept_local_edit_is_visible_in_git_pulls_output(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/x.csv", "v1\n")
    commit_all(a, "v1")
    git(a, "push", "-q", "-u", "origin", "main")
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    managed(b)
    git(b, "commit", "-q", "-m", "pre-commit config")
    assert (b / "data/x.csv").read_text() == "v1\n"
    write(b, "data/x.csv", "my unsaved edit\n")
    write(a, "data/x.csv", "v2\n")
    commit_all(a, "v2")
    git(a, "push", "-q")
    proc = git(b, "pull", "--no-rebase", "--no-edit")
    assert "kept data/x.csv: modified locally" in proc.stdout + proc.stderr
    assert (b / "data/x.csv").read_text() == "my unsaved edit\n"


def test_no_hook_of_ours_runs_twice(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)  # `init` installed our hooks first, as a newcomer would
    managed(a)
    legacy = [p.name for p in (a / ".git/hooks").iterdir() if p.name.endswith(".legacy")]
    assert legacy == [], legacy  # pre-commit found none of ours to keep and run as well
    from git_eosvc.hookscript import hook_owner

    for name in ("pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite", "post-commit"):
        assert hook_owner(a / ".git/hooks" / name) is None, name  # pre-commit's, which calls us once
    assert hook_owner(a / ".git/hooks/post-index-change") is not None  # ours: reset and stash still work

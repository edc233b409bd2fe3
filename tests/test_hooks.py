"""Issue 3 acceptance: plain git drives the sync through the installed hooks.

Real git, real hooks (written by `git eosvc init`/`install`), moto's S3 server over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import clone, new_repo, obj_key, pushed_and_cloned, snapshot, write

from git_eosvc.cache import Store
from git_eosvc.engine.vouch import FILE as VOUCHED
from git_eosvc.hashing import hash_bytes


def all_keys(s3: S3) -> set[str]:
    return set(s3.keys(s3.public_bucket)) | set(s3.keys(s3.private_bucket))


def record(work: Path, message: str) -> subprocess.CompletedProcess[str]:
    """Stage data with `git eosvc add` (as `git add` stages code), then a plain `git commit`."""
    eosvc(work, "add")
    git(work, "add", "-A")
    return git(work, "commit", "-q", "-m", message)


def closed_port_url() -> str:
    """An http:// URL on loopback where nothing listens: S3 is unreachable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def tip(repo: Path, ref: str) -> str:
    return git(repo, "rev-parse", "--verify", "-q", ref, check=False).stdout.strip()


def no_traceback(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_commit_push_pull_checkout_switch_with_plain_git(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    assert (a / ".git/hooks/pre-push").read_text().startswith("#!/bin/sh")
    write(a, "data/train.csv", "x,y\n1,2\n")
    write(a, "data/sub/deep.bin", b"\x00\x01" * 500)
    write(a, "output/result.txt", "secret result\n")
    record(a, "data")
    proc = no_traceback(git(a, "push", "-u", "origin", "main"))
    assert "uploaded 3 object(s)" in proc.stderr
    assert obj_key("x,y\n1,2\n") in s3.keys(s3.public_bucket)
    assert obj_key("secret result\n") in s3.keys(s3.private_bucket)
    assert obj_key("secret result\n") not in s3.keys(s3.public_bucket)

    # `git clone` + `git eosvc install` materialises HEAD
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")

    # A changes, deletes and adds; B's plain `git pull` brings exactly those bytes
    write(a, "data/train.csv", "x,y\n1,2\n3,4\n")
    (a / "data/sub/deep.bin").unlink()
    write(a, "output/new.txt", "more\n")
    record(a, "change")
    git(a, "push", "-q")
    proc = no_traceback(git(b, "pull", "--no-rebase"))
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")
    assert not (b / "data/sub").exists()
    assert "git-eosvc: artifacts:" in proc.stderr

    # checkout <old> and switch - swap the data
    no_traceback(git(b, "checkout", "-q", "HEAD~1"))
    assert (b / "data/train.csv").read_text() == "x,y\n1,2\n"
    assert (b / "data/sub/deep.bin").exists() and not (b / "output/new.txt").exists()
    no_traceback(git(b, "switch", "-q", "-"))
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")


def test_pull_rebase_over_local_commits_materialises_once_at_the_end(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    # unchanged lines between the two edits: a clean text merge
    a, b = pushed_and_cloned(tmp_path, remote, {f"data/{n}.txt": f"{n}\n" for n in "abcdefgh"})

    write(a, "data/a.txt", "a from A\n")
    record(a, "A's change")
    git(a, "push", "-q")

    write(b, "data/h.txt", "h from B\n")
    record(b, "B's local change")
    write(b, "notes.md", "code only\n")
    git(b, "add", "notes.md")
    git(b, "commit", "-q", "-m", "B's code")

    proc = no_traceback(git(b, "pull", "--rebase"))
    assert proc.stderr.count("git-eosvc: artifacts:") == 1, proc.stderr
    assert "warning" not in proc.stderr and "error" not in proc.stderr, proc.stderr
    assert not (b / ".git/rebase-merge").exists() and not (b / ".git/rebase-apply").exists()
    log = git(b, "log", "--format=%s").stdout.splitlines()
    assert log[:3] == ["B's code", "B's local change", "A's change"]
    assert (b / "data/a.txt").read_text() == "a from A\n"
    assert (b / "data/h.txt").read_text() == "h from B\n"
    assert git(b, "status", "--porcelain").stdout == ""


def test_worktree_add_gets_the_branch_artifacts(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "main\n")
    record(a, "main")
    git(a, "switch", "-q", "-c", "feature")
    write(a, "data/f.txt", "feature\n")
    write(a, "data/only-feature.txt", "new\n")
    record(a, "feature")
    git(a, "switch", "-q", "main")
    assert snapshot(a, "data") == {"data/f.txt": b"main\n"}

    proc = no_traceback(git(a, "worktree", "add", "-q", str(tmp_path / "wt"), "feature"))
    wt = tmp_path / "wt"
    assert snapshot(wt, "data") == {"data/f.txt": b"feature\n", "data/only-feature.txt": b"new\n"}
    assert snapshot(a, "data") == {"data/f.txt": b"main\n"}  # the main work tree is untouched
    assert "warning" not in proc.stderr


def test_push_of_a_new_branch_uploads_every_commit(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/base.txt", "base\n")
    record(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    git(a, "switch", "-q", "-c", "feature")
    for v in ("first", "middle", "last"):
        write(a, "data/model.txt", v)
        record(a, v)
    before = all_keys(s3)
    proc = no_traceback(git(a, "push", "origin", "feature"))
    assert all_keys(s3) - before == {obj_key(v) for v in ("first", "middle", "last")}
    assert "uploaded 3 object(s)" in proc.stderr
    assert tip(remote, "feature") == tip(a, "feature")

    # several refs at once, one of them new: only what is new is uploaded
    write(a, "data/model.txt", "again")
    record(a, "again")
    git(a, "tag", "-a", "-m", "v1", "v1")
    no_traceback(git(a, "push", "origin", "feature", "v1"))
    assert obj_key("again") in all_keys(s3)

    # a push by URL (no remote name): origin, configured with that URL, tells what is there
    git(a, "switch", "-q", "-c", "by-url")
    write(a, "data/model.txt", "by url")
    record(a, "by url")
    proc = no_traceback(git(a, "push", str(remote), "by-url"))
    assert "uploaded 1 object(s)" in proc.stderr and obj_key("by url") in all_keys(s3)


def test_pushes_that_need_no_upload_work_without_credentials_or_s3(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "data\n")
    write(a, "output/p.txt", "private\n")
    record(a, "data")
    git(a, "push", "-q", "-u", "origin", "main")
    git(a, "push", "-q", "origin", "main:refs/heads/doomed")

    # S3 unreachable and no credentials: deleting a branch and pushing code still work
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", closed_port_url())
    no_traceback(git(a, "push", "origin", "--delete", "doomed"))
    assert tip(remote, "doomed") == ""
    write(a, "README.md", "code only\n")
    git(a, "add", "README.md")
    git(a, "commit", "-q", "-m", "code")
    no_traceback(git(a, "push", "origin", "main"))
    assert tip(remote, "main") == tip(a, "HEAD")

    # a new private object without credentials: refused up front, with what to do
    write(a, "output/p2.txt", "more private\n")
    record(a, "private")
    proc = no_traceback(git(a, "push", "origin", "main", check=False))
    assert proc.returncode != 0
    assert "private section(s) output/" in proc.stderr and "AWS_ACCESS_KEY_ID" in proc.stderr
    assert tip(remote, "main") == tip(a, "HEAD~1")


def test_push_aborts_when_s3_is_unreachable(tmp_path: Path, remote: Path, s3: S3,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    record(a, "v1")
    git(a, "push", "-q", "-u", "origin", "main")
    before = tip(remote, "main")
    write(a, "data/f.txt", "v2\n")
    record(a, "v2")
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", closed_port_url())
    proc = no_traceback(git(a, "push", "origin", "main", check=False))
    assert proc.returncode != 0
    assert "git-eosvc pre-push" in proc.stderr and "127.0.0.1" in proc.stderr
    assert tip(remote, "main") == before
    assert obj_key("v2\n") not in all_keys(s3)


def test_local_modifications_survive_every_hook_checkout(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"data/f.txt": "v1\n", "data/g.txt": "g1\n"})

    # post-merge (git pull)
    write(a, "data/f.txt", "v2\n")
    record(a, "v2")
    git(a, "push", "-q")
    write(b, "data/f.txt", "unsaved work in b\n")
    proc = no_traceback(git(b, "pull", "--no-rebase"))
    assert (b / "data/f.txt").read_text() == "unsaved work in b\n"
    assert "kept data/f.txt" in proc.stderr

    # post-checkout (git checkout <old>, then back)
    # (the kept file still holds v1's place in the record, so HEAD~1's f.txt = v1 does not touch it;
    # status keeps telling the user it differs)
    proc = no_traceback(git(b, "checkout", "-q", "HEAD~1"))
    assert (b / "data/f.txt").read_text() == "unsaved work in b\n"
    assert "modified: data/f.txt" in eosvc(b, "status").stdout
    git(b, "checkout", "-q", "main")

    # post-rewrite (git pull --rebase over a local commit); g.txt changes upstream too
    write(b, "notes.md", "local\n")
    git(b, "add", "notes.md")
    git(b, "commit", "-q", "-m", "local")
    write(a, "data/f.txt", "v3\n")
    write(a, "data/g.txt", "g3\n")
    record(a, "v3")
    git(a, "push", "-q")
    proc = no_traceback(git(b, "pull", "--rebase"))
    assert (b / "data/f.txt").read_text() == "unsaved work in b\n"
    assert (b / "data/g.txt").read_text() == "g3\n"
    assert "kept data/f.txt" in proc.stderr


def test_pre_commit_blocks_objects_missing_from_the_store_and_skip_disables(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "stored\n")
    record(a, "f")
    ghost = hash_bytes(b"never stored here\n")
    manifest = (a / "data.eosvc").read_text() + f"{ghost} 18 data/ghost.txt\n"
    (a / "data.eosvc").write_text(manifest)
    git(a, "add", "data.eosvc")
    proc = no_traceback(git(a, "commit", "-q", "-m", "ghost", check=False))
    assert proc.returncode != 0
    assert "data/ghost.txt" in proc.stderr and "git eosvc add" in proc.stderr
    assert git(a, "log", "--format=%s", "-1").stdout.strip() == "f"

    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "commit", "-q", "-m", "ghost"], cwd=a, env=env, check=True)
    assert git(a, "log", "--format=%s", "-1").stdout.strip() == "ghost"
    # and the push of such a commit is refused: the object is neither local nor on S3
    proc = no_traceback(git(a, "push", "origin", "main", check=False))
    assert proc.returncode != 0 and "data/ghost.txt" in proc.stderr
    assert tip(remote, "main") == ""


def test_pre_commit_takes_adds_word_only_while_no_object_left_the_store(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    """add vouches for the manifest it staged (every object stored); pre-commit takes that
    word instead of looking each object up, but not once an object has left the store."""
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "kept\n")
    write(a, "data/g.txt", "damaged later\n")
    eosvc(a, "add")
    staged = git(a, "rev-parse", ":data.eosvc").stdout.strip()
    vouched = (a / ".git/eosvc" / VOUCHED).read_text().split()
    assert vouched[0] == staged  # the word is for exactly what git staged
    # the object goes bad; verify removes it (the store's removal mark changes first)
    oid = hash_bytes(b"damaged later\n")
    obj = a / ".git/eosvc/objects/sha256" / oid[:2] / oid[2:4] / oid
    obj.chmod(0o644)
    obj.write_bytes(b"not what its name says\n")
    assert Store(a / ".git/eosvc/objects").verify([oid]) == [oid]  # as verify and checkout do
    assert not obj.exists()
    proc = no_traceback(git(a, "commit", "-q", "-m", "g", check=False))
    assert proc.returncode != 0 and "data/g.txt" in proc.stderr and "data/f.txt" not in proc.stderr
    assert git(a, "rev-parse", "-q", "--verify", "HEAD", check=False).stdout == ""
    eosvc(a, "add")  # stores g again, and vouches again
    git(a, "commit", "-q", "-m", "g")
    assert obj.read_bytes() == b"damaged later\n"
    # the word names blob ids: a hand-edited manifest staged with the same word is checked
    ghost = hash_bytes(b"never stored\n")
    (a / "data.eosvc").write_text((a / "data.eosvc").read_text() + f"{ghost} 13 data/h.txt\n")
    git(a, "add", "data.eosvc")
    proc = no_traceback(git(a, "commit", "-q", "-m", "ghost", check=False))
    assert proc.returncode != 0 and "data/h.txt" in proc.stderr


def test_pre_commit_notes_unrecorded_changes_and_auto_add_stages_them(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    record(a, "v1")
    write(a, "data/f.txt", "v2 not added\n")
    write(a, "code.py", "print(1)\n")
    git(a, "add", "code.py")
    proc = no_traceback(git(a, "commit", "-q", "-m", "code"))
    assert "changed but not added" in proc.stderr and "data/f.txt" in proc.stderr
    assert "data.eosvc" not in git(a, "show", "--name-only", "--format=", "HEAD").stdout

    git(a, "config", "eosvc.autoAdd", "true")
    write(a, "code.py", "print(2)\n")
    git(a, "commit", "-q", "-a", "-m", "code and data")  # -a: git commits a temporary index
    assert "data.eosvc" in git(a, "show", "--name-only", "--format=", "HEAD").stdout
    assert str(hash_bytes(b"v2 not added\n")) in git(a, "show", "HEAD:data.eosvc").stdout
    assert git(a, "status", "--porcelain").stdout == ""


def test_eosvc_skip_turns_every_hook_off(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    record(a, "v1")
    write(a, "data/f.txt", "v2\n")
    record(a, "v2")
    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "push", "-q", "origin", "main"], cwd=a, env=env, check=True)
    assert all_keys(s3) == set()
    subprocess.run(["git", "checkout", "-q", "HEAD~1"], cwd=a, env=env, check=True)
    assert (a / "data/f.txt").read_text() == "v2\n"


def test_repo_without_access_json_is_left_alone(tmp_path: Path, remote: Path) -> None:
    work = tmp_path / "plain"
    work.mkdir()
    git(work, "init", "-q")
    eosvc(work, "install")
    write(work, "a.txt", "a\n")
    git(work, "add", "a.txt")
    commit = git(work, "commit", "-q", "-m", "a")
    git(work, "switch", "-q", "-c", "other")
    push = git(work, "push", "-q", str(remote), "other")
    assert commit.stderr == "" and push.stderr == ""


def test_a_clone_whose_template_carries_the_hooks_materialises_at_once(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "cloned\n")
    record(a, "f")
    git(a, "push", "-q", "-u", "origin", "main")
    template = tmp_path / "template"
    (template / "hooks").mkdir(parents=True)
    for hook in (a / ".git/hooks").iterdir():
        if not hook.name.endswith(".sample"):
            (template / "hooks" / hook.name).write_bytes(hook.read_bytes())
            (template / "hooks" / hook.name).chmod(0o755)
    proc = no_traceback(git(tmp_path, "clone", "-q", f"--template={template}", str(remote), "c"))
    assert (tmp_path / "c/data/f.txt").read_text() == "cloned\n"  # post-checkout, old = 0000…
    assert "warning" not in proc.stderr

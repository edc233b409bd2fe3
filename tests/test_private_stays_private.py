"""Private objects never reach the public bucket: per-commit access, and a committed config
that tries to redirect them (review findings)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, pushed_and_cloned, write

from git_eosvc.hashing import hash_bytes


def test_a_branch_that_made_data_private_pushes_it_to_the_private_bucket(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/open.txt", "open\n")
    commit_all(a, "open")
    git(a, "push", "-q", "-u", "origin", "main")
    skip = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "checkout", "-q", "-b", "y"], cwd=a, check=True, env=skip)
    (a / "access.json").write_text('{"data": "private", "output": "private"}')
    (a / ".git/eosvc/access.lock.json").unlink()
    write(a, "data/secret.txt", "secret on branch y\n")
    eosvc(a, "add")
    git(a, "add", "-A")
    subprocess.run(["git", "commit", "-qm", "y: data is private"], cwd=a, check=True, env=skip)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=a, check=True, env=skip)
    (a / ".git/eosvc/access.lock.json").unlink()  # the work tree says public again
    git(a, "push", "-q", "origin", "y")
    assert obj_key(b"secret on branch y\n") in s3.keys(s3.private_bucket)
    assert obj_key(b"secret on branch y\n") not in s3.keys(s3.public_bucket)


def test_a_pulled_config_cannot_redirect_private_data(tmp_path: Path, remote: Path, s3: S3,
                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote)
    # settings come from the committed file here, not from the environment
    for name, var in (("publicBucket", "EOSVC_PUBLIC_BUCKET"), ("privateBucket", "EOSVC_PRIVATE_BUCKET")):
        git(a, "config", "-f", ".eosvcconfig", f"eosvc.{name}", os.environ[var])
        monkeypatch.delenv(var)
    write(a, "output/s.txt", "secret\n")
    commit_all(a, "s")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    # a later commit points the private bucket somewhere else
    git(a, "config", "-f", ".eosvcconfig", "eosvc.privateBucket", "attacker-bucket")
    (a / ".git/eosvc/access.lock.json").unlink()
    commit_all(a, "tidy config")
    git(a, "push", "-q")
    git(b, "pull", "-q")
    write(b, "output/new.txt", "TOP SECRET\n")
    proc = eosvc(b, "add", check=False)
    assert proc.returncode == 2
    assert "attacker-bucket" in proc.stderr and "access.lock.json" in proc.stderr
    push = git(b, "push", "-q", check=False)
    assert push.returncode != 0 or git(b, "status", "--porcelain").stdout == ""


def test_same_bucket_for_public_and_private_is_refused(tmp_path: Path, remote: Path, s3: S3,
                                                        monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", s3.public_bucket)
    proc = eosvc(a, "status", check=False)
    assert proc.returncode == 2 and "same" in proc.stderr


def test_committed_config_cannot_choose_the_cache_dir(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    git(a, "config", "-f", ".eosvcconfig", "eosvc.cacheDir", str(tmp_path / "elsewhere"))
    write(a, "data/f.txt", "f\n")
    eosvc(a, "add")
    assert not (tmp_path / "elsewhere").exists()
    assert list((a / ".git/eosvc/objects").rglob(str(hash_bytes(b"f\n"))))


def test_hostile_manifest_arriving_by_pull_writes_nothing(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"data/ok.txt": "ok\n"})
    oid = hash_bytes(b"ok\n")
    (a / "data.eosvc").write_text(f"eosvc-manifest v1\n{oid} 3 data/../../escaped\n")
    skip = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "commit", "-qam", "hostile"], cwd=a, check=True, env=skip)
    subprocess.run(["git", "push", "-q"], cwd=a, check=True, env=skip)
    proc = git(b, "pull", "-q")  # the hook reports, git's pull itself stands
    assert "unsafe path" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "escaped").exists() and not (b.parent / "escaped").exists()
    assert (b / "data/ok.txt").read_text() == "ok\n"

"""Issue 5 acceptance: EOSVC users keep their habits (the `eosvc` program, real git, moto over HTTP)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, S3, eosvc, git
from helpers import commit_all, new_repo, snapshot, write

from git_eosvc.hashing import hash_bytes


def run_eosvc(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(BIN / "eosvc"), *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"eosvc {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    assert "Traceback" not in proc.stderr
    return proc


def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def published(tmp_path: Path, remote: Path, access: dict[str, str] | None = None, *init: str) -> Path:
    a = new_repo(tmp_path, remote, "a", *init)
    if access is not None:
        (a / "access.json").write_text(json.dumps(access))
        (a / ".git/eosvc/access.lock.json").unlink(missing_ok=True)
    write(a, "data/pub.csv", "public\n")
    write(a, "output/priv.csv", "private\n")
    commit_all(a, "both")
    eosvc(a, "push")
    return a


def test_clone_mixed_access_without_credentials(tmp_path: Path, remote: Path, s3: S3,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    published(tmp_path, remote)
    no_credentials(monkeypatch)
    proc = run_eosvc(tmp_path, "clone", "proj", "--url", str(remote), "--dest", "c")
    c = tmp_path / "c"
    assert snapshot(c, "data", "output") == {"data/pub.csv": b"public\n"}
    assert "output/" in proc.stderr and "skipped" in proc.stderr


def test_clone_all_private_without_credentials_fails_before_transfer(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    published(tmp_path, remote, {"data": "private", "output": "private"})
    no_credentials(monkeypatch)
    proc = run_eosvc(tmp_path, "clone", "proj", "--url", str(remote), "--dest", "c", check=False)
    assert proc.returncode == 2
    assert "private" in proc.stderr and "AWS_ACCESS_KEY_ID" in proc.stderr
    assert not (tmp_path / "c").exists()


def test_clone_refuses_non_empty_dest_and_warns_without_access_json(tmp_path: Path, remote: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    proc = run_eosvc(tmp_path, "clone", "proj", "--url", str(remote), "--dest", "full", check=False)
    assert proc.returncode == 2 and "not empty" in proc.stderr
    plain = tmp_path / "plain"
    plain.mkdir()
    git(plain, "init", "-q")
    write(plain, "README", "code only\n")
    git(plain, "add", "-A")
    git(plain, "commit", "-q", "-m", "code")
    proc = run_eosvc(tmp_path, "clone", "plain", "--url", str(plain), "--dest", "p")
    assert "no access.json" in proc.stderr
    refused = run_eosvc(tmp_path / "p", "status", check=False)
    assert refused.returncode == 2 and "access.json" in refused.stderr


def test_model_repo_paths(tmp_path: Path, remote: Path, s3: S3) -> None:
    m = new_repo(tmp_path, remote, "m", "--kind", "model")
    write(m, "model/checkpoints/a.pt", b"\x01weights")
    for args in (["download", "--path", "data/x"], ["upload", "--path", "output/"]):
        proc = run_eosvc(m, *args, check=False)
        assert proc.returncode == 2
        assert "model repo" in proc.stderr and "Allowed roots: model/checkpoints/, model/framework/fit/" in proc.stderr
    run_eosvc(m, "upload", "--path", "checkpoints/a.pt")
    manifest = (m / "model/checkpoints.eosvc").read_text()
    assert "model/checkpoints/a.pt" in manifest
    key = "proj/objects/" + hash_bytes(b"\x01weights").shard()
    assert key in s3.keys(s3.public_bucket)
    staged = git(m, "diff", "--cached", "--name-only").stdout.split()
    assert "model/checkpoints.eosvc" in staged


@pytest.mark.parametrize("hostile", ["data/..", "../x", "/etc", ".git", "data/../../x", "data/.git/config"])
def test_upload_refuses_hostile_paths(tmp_path: Path, remote: Path, s3: S3, hostile: str) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.csv", "f\n")
    proc = run_eosvc(a, "upload", "--path", hostile, check=False)
    assert proc.returncode == 2
    assert "Unsupported path" in proc.stderr
    assert s3.keys(s3.public_bucket) == [] and s3.keys(s3.private_bucket) == []
    assert not (a / "data.eosvc").exists()


def test_access_lock_refuses_changes_until_deleted(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = published(tmp_path, remote)
    (a / "access.json").write_text('{"data": "private", "output": "private"}')
    for args in (["status"], ["view"], ["push"], ["download", "--path", "data/"]):
        proc = run_eosvc(a, *args, check=False)
        assert proc.returncode == 2, args
        assert "lock:" in proc.stderr and "now:" in proc.stderr and "access.lock.json" in proc.stderr
    (a / ".git/eosvc/access.lock.json").unlink()
    run_eosvc(a, "status")


def test_pull_y_keeps_unuploaded_bytes_recoverable_and_pull_without_tty_refuses(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a = published(tmp_path, remote)
    b = tmp_path / "b"
    run_eosvc(tmp_path, "clone", "proj", "--url", str(remote), "--dest", "b")
    write(a, "data/pub.csv", "upstream v2\n")
    commit_all(a, "v2")
    eosvc(a, "push")
    write(b, "data/pub.csv", "never uploaded local edit\n")
    proc = run_eosvc(b, "pull", check=False)
    assert proc.returncode != 0
    assert (b / "data/pub.csv").read_text() == "never uploaded local edit\n"
    proc = run_eosvc(b, "pull", "-y")
    assert (b / "data/pub.csv").read_text() == "upstream v2\n"
    saved = hash_bytes(b"never uploaded local edit\n")
    assert saved in proc.stderr  # says where the bytes went
    stored = list((b / ".git/eosvc/objects").rglob(str(saved)))
    assert stored and stored[0].read_bytes() == b"never uploaded local edit\n"


def test_push_refuses_dirty_tree_then_pushes_code_and_data(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.csv", "f\n")
    commit_all(a, "f")
    write(a, "README.md", "uncommitted\n")
    proc = run_eosvc(a, "push", check=False)
    assert proc.returncode == 2 and "uncommitted" in proc.stderr
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "readme")
    assert git(a, "status", "--porcelain").stdout == ""  # lock, caches and artifacts keep the tree clean
    run_eosvc(a, "push")
    assert git(remote, "rev-parse", "main").stdout == git(a, "rev-parse", "HEAD").stdout
    assert "proj/objects/" + hash_bytes(b"f\n").shard() in s3.keys(s3.public_bucket)


def test_view_marks_same_size_edit_as_modified(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = published(tmp_path, remote)
    write(a, "data/pub.csv", "PUBLIC\n")  # same size, other bytes
    write(a, "data/extra.csv", "new\n")
    (a / "output/priv.csv").unlink()
    out = run_eosvc(a, "view").stdout
    assert "~ ✓ pub.csv" in out
    assert "+   extra.csv" in out
    assert "- ✓ priv.csv" in out
    assert "total:" in out
    shallow = run_eosvc(a, "view", "--max-depth", "0").stdout
    assert "pub.csv" not in shallow and "data/" in shallow


def test_push_refuses_a_commit_that_flips_private_to_public(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = published(tmp_path, remote)
    # an intermediate commit publishes output/, a later one hides it again: HEAD agrees with the lock
    (a / "access.json").write_text('{"data": "public", "output": "public"}')
    skip = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "commit", "-qam", "publish output"], cwd=a, check=True, env=skip)
    (a / "access.json").write_text('{"data": "public", "output": "private"}')
    subprocess.run(["git", "commit", "-qam", "hide it again"], cwd=a, check=True, env=skip)
    before = git(remote, "rev-parse", "main").stdout
    proc = run_eosvc(a, "push", check=False)
    assert proc.returncode == 2
    assert "output/ public" in proc.stderr and "access lock" in proc.stderr
    plain = git(a, "push", "-q", "origin", "main", check=False)  # the pre-push hook refuses too
    assert plain.returncode != 0
    assert git(remote, "rev-parse", "main").stdout == before
    (a / ".git/eosvc/access.lock.json").unlink()
    run_eosvc(a, "push")
    assert git(remote, "rev-parse", "main").stdout == git(a, "rev-parse", "HEAD").stdout

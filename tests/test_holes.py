"""Issue 9: the holes a fault-and-abuse campaign found, each closed and proven on real git,
real hooks and a real S3 endpoint (moto on loopback)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from conftest import S3, eosvc, git
from helpers import commit_all, obj_key, pushed_and_cloned, write

from git_eosvc.hashing import hash_bytes


def attacker_commit(work: Path, *args: str, message: str) -> None:
    """A colleague who bypasses the hooks (`--no-verify`, EOSVC_SKIP)."""
    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "add", "-f", *args], cwd=work, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", message], cwd=work, check=True, env=env)
    subprocess.run(["git", "push", "-q", "--no-verify"], cwd=work, check=True, env=env)


# ---------------------------------------------------------------- 1. the lock is out of git's reach


def test_a_pulled_commit_cannot_replace_the_lock_and_publish_private_output(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"output/old.txt": "private\n"})
    assert (b / ".git/eosvc/access.lock.json").exists() and not (b / ".eosvc").exists()
    # the attacker flips output to public and commits a lock that agrees with the flip
    write(a, "access.json", '{"data": "public", "output": "public"}')
    write(a, ".eosvc/access.lock.json", (b / ".git/eosvc/access.lock.json").read_text()
          .replace('"output": "private"', '"output": "public"'))
    attacker_commit(a, "access.json", ".eosvc/access.lock.json", message="publish")
    git(b, "pull", "-q", "--no-rebase", "--no-edit")
    write(b, "output/new.txt", "NEW PRIVATE RESULT\n")
    refused = eosvc(b, "add", check=False)
    assert refused.returncode == 2 and "disagrees with the access lock" in refused.stderr
    assert ".git/eosvc/access.lock.json" in refused.stderr
    assert obj_key("NEW PRIVATE RESULT\n") not in s3.keys(s3.public_bucket)


def refused_at_commit_and_push(work: Path, remote: Path, path: str) -> str:
    """`git add -f PATH`: the pre-commit hook refuses; committed anyway (hooks bypassed),
    the pre-push hook refuses and the remote's branch does not move. Returns pre-commit's words."""
    write(work, path, "tracked by git\n")
    git(work, "add", "-f", path)
    proc = git(work, "commit", "-q", "-m", "oops", check=False)
    assert proc.returncode != 0 and path in proc.stderr
    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "oops"], cwd=work, check=True, env=env)
    before = git(remote, "rev-parse", "main").stdout
    push = git(work, "push", "-q", check=False)
    assert push.returncode != 0 and path in push.stderr
    assert git(remote, "rev-parse", "main").stdout == before
    return proc.stderr


def test_commits_and_pushes_that_track_local_state_are_refused(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    assert "never committed" in refused_at_commit_and_push(a, remote, ".eosvc/notes.json")


# ---------------------------------------------------------------- 2. git tracks nothing inside a section


def test_git_add_f_inside_a_section_is_refused_at_commit_and_push(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    said = refused_at_commit_and_push(a, remote, "data/sneaky.csv")
    assert "git rm -r --cached" in said and "git eosvc add" in said


def test_a_fetched_commit_tracking_a_section_file_cannot_take_unsaved_bytes(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    write(b, "data/result.csv", "colleague's unsaved work\n")  # ignored by git, not added yet
    write(a, "data/result.csv", "attacker's bytes\n")
    attacker_commit(a, "data/result.csv", message="track it in git")
    proc = git(b, "pull", "--no-rebase", "--no-edit")
    # git overwrote the ignored file; the colleague's bytes were saved first
    oid = hash_bytes(b"colleague's unsaved work\n")
    assert f"saved in the local store as {oid}" in proc.stderr
    stored = b / ".git/eosvc/objects" / oid.shard()
    assert stored.read_bytes() == b"colleague's unsaved work\n"


# ---------------------------------------------------------------- 3. an interrupted pull revives nothing


def test_a_pull_killed_mid_download_never_revives_a_deleted_file(tmp_path: Path, remote: Path, s3: S3) -> None:
    import signal
    import socket
    import time

    a, b = pushed_and_cloned(tmp_path, remote, {"data/keep.csv": "keep\n", "data/gone.csv": "gone\n"})
    (a / "data/gone.csv").unlink()
    write(a, "data/new.bin", os.urandom(4096))
    commit_all(a, "delete one, add one")
    git(a, "push", "-q")
    with socket.socket() as hole:  # an S3 endpoint that accepts and never answers
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        env = dict(os.environ, EOSVC_ENDPOINT_URL=f"http://127.0.0.1:{hole.getsockname()[1]}")
        pull = subprocess.Popen(["git", "pull", "-q", "--no-rebase", "--no-edit"], cwd=b, env=env,
                                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while "new.bin" not in (b / "data.eosvc").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # git wrote the merged manifest; its hook now reconciles
        time.sleep(1.5)  # ... and waits on the silent endpoint
        os.killpg(pull.pid, signal.SIGKILL)
        pull.wait()
    assert not (b / "data/new.bin").exists()  # the download never finished
    assert not (b / "data/gone.csv").exists()  # deleted before the download began
    status = eosvc(b, "status").stdout  # (git itself was killed too: its own state is its own)
    assert "added:    data/gone.csv" not in status, status
    # written again by the user (the same bytes, while the record still lists it), it is
    # the user's: `add` records it, as `git add` would (a file a checkout left behind
    # untouched stays a pending deletion: tests/test_left_behind.py)
    write(b, "data/gone.csv", "gone\n")
    assert "added:    data/gone.csv" in eosvc(b, "status").stdout
    eosvc(b, "add")
    assert "data/gone.csv" in (b / "data.eosvc").read_text()
    eosvc(b, "checkout")
    assert (b / "data/new.bin").read_bytes() == (a / "data/new.bin").read_bytes()


# ---------------------------------------------------------------- 6. temporary files never litter


def test_temp_files_of_a_killed_copy_are_pruned(tmp_path: Path, remote: Path, s3: S3) -> None:
    _a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    old = write(b, "data/sub/.eosvc-tmp-deadbeef", b"\0" * 4096)  # a copy killed long ago
    young = write(b, "data/.eosvc-tmp-cafe", b"partial")  # a copy running right now
    two_hours_ago = old.stat().st_mtime - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert "eosvc-tmp" not in eosvc(b, "status").stdout  # never shown as the user's files
    eosvc(b, "checkout")
    assert not old.exists() and young.exists()


# ---------------------------------------------------------------- 7. failures read like the README promises


def test_a_full_disk_is_a_one_line_error(tmp_path: Path, remote: Path, s3: S3, monkeypatch,
                                         capsys) -> None:  # type: ignore[no-untyped-def]
    """ENOSPC cannot be produced here without mounting a file system: the store's write
    raises it as the kernel would, and the real CLI renders it."""
    import errno

    from git_eosvc import cli
    from git_eosvc.cache import Store

    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    write(a, "data/big.bin", b"\1" * 1000)

    def full(self, src, oid, durable):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / "tmp" / "abc.tmp"))

    monkeypatch.setattr(Store, "_stage", full)  # every copy into the store (add_file, add_files)
    monkeypatch.chdir(a)
    capsys.readouterr()
    assert cli.main(["add"]) == 1
    err = capsys.readouterr().err
    assert "error: No space left on device on " in err and "free some space" in err
    assert err.count("abc.tmp") == 1  # the path once, after the cause
    assert "unexpected" not in err and "Traceback" not in err
    assert "data/big.bin" not in (a / "data.eosvc").read_text()  # nothing half-recorded


def test_forty_failed_downloads_print_a_capped_summary(tmp_path: Path, remote: Path, s3: S3,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_PACK_MIN", "0")  # one key per object, so each can be deleted
    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    for i in range(40):
        write(a, f"data/many/{i:02}.txt", f"file {i}\n")
    commit_all(a, "forty")
    git(a, "push", "-q")
    client = s3.client()
    for i in range(40):
        client.delete_object(Bucket=s3.public_bucket, Key=obj_key(f"file {i}\n"))
    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "pull", "-q"], cwd=b, check=True, env=env)
    proc = eosvc(b, "checkout", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert len(lines) <= 25, proc.stderr
    assert "… and 30 more download(s) failed (40 in all)" in proc.stderr
    assert "… and 30 more file(s) not materialised (40 in all)" in proc.stderr


# ---------------------------------------------------------------- kill -9 at the worst moments


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], settle: float) -> None:
    import signal
    import time

    deadline = time.monotonic() + 20
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(settle)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_a_push_killed_mid_upload_moves_no_ref(tmp_path: Path, remote: Path, s3: S3) -> None:
    import socket

    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    write(a, "data/y.bin", os.urandom(2048))
    commit_all(a, "y")
    before = git(remote, "rev-parse", "main").stdout
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        env = dict(os.environ, EOSVC_ENDPOINT_URL=f"http://127.0.0.1:{hole.getsockname()[1]}")
        push = subprocess.Popen(["git", "push", "-q"], cwd=a, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _kill_when(push, lambda: True, settle=2.0)  # pre-push is waiting on S3 by then
    assert git(remote, "rev-parse", "main").stdout == before  # no ref before its objects
    git(a, "push", "-q")  # the next push completes the job
    assert obj_key((a / "data/y.bin").read_bytes()) in s3.keys(s3.public_bucket)


def test_an_add_killed_mid_copy_leaves_the_store_and_manifest_whole(tmp_path: Path, remote: Path,
                                                                   s3: S3) -> None:
    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    manifest = (a / "data.eosvc").read_bytes()
    big = a / "data/big.bin"
    with open(big, "wb") as f:
        for _ in range(192):
            f.write(os.urandom(1 << 20))
    add = subprocess.Popen([str(Path(os.environ["PATH"].split(os.pathsep)[0]) / "git-eosvc"), "add"],
                           cwd=a, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store_tmp = a / ".git/eosvc/objects/tmp"
    _kill_when(add, lambda: store_tmp.is_dir() and any(store_tmp.iterdir()), settle=0.0)
    assert add.returncode == -9  # killed while copying into the store
    assert (a / "data.eosvc").read_bytes() == manifest  # nothing half-recorded
    eosvc(a, "add")  # the next add completes the job
    assert "data/big.bin" in (a / "data.eosvc").read_text()
    verify = eosvc(a, "verify", "--local")
    assert "corrupt" not in verify.stderr


def test_a_fetched_commit_that_makes_a_section_a_file_cannot_take_its_artifacts(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    import shutil

    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    write(b, "data/result.csv", "colleague's unsaved work\n")
    shutil.rmtree(a / "data")
    (a / "data.eosvc").unlink()
    write(a, "data", "a file where the section was\n")
    env = dict(os.environ, EOSVC_SKIP="1")
    subprocess.run(["git", "add", "-A", "-f", "data", "data.eosvc"], cwd=a, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "--no-verify", "-m", "data is a file"], cwd=a, check=True, env=env)
    push = git(a, "push", "-q", check=False)  # with the hooks: refused
    assert push.returncode != 0 and "data" in push.stderr
    subprocess.run(["git", "push", "-q", "--no-verify"], cwd=a, check=True, env=env)
    git(b, "pull", "-q", "--no-rebase", "--no-edit", check=False)
    oid = hash_bytes(b"colleague's unsaved work\n")
    assert (b / ".git/eosvc/objects" / oid.shard()).read_bytes() == b"colleague's unsaved work\n"

"""Issue 2 acceptance: the engine end to end, real git, moto's S3 server over HTTP."""

from __future__ import annotations

from pathlib import Path

from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, pushed_and_cloned, snapshot, write

from git_eosvc.hashing import hash_bytes


def test_round_trip_public_and_private_buckets(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/train.csv", "x,y\n1,2\n")
    write(a, "data/sub/deep.bin", b"\x00\x01" * 1000)
    write(a, "output/result.txt", "secret result\n")
    eosvc(a, "add")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "data")
    eosvc(a, "push")

    pub, priv = s3.keys(s3.public_bucket), s3.keys(s3.private_bucket)
    assert obj_key(b"x,y\n1,2\n") in pub and obj_key(b"x,y\n1,2\n") not in priv
    assert obj_key(b"\x00\x01" * 1000) in pub
    assert obj_key(b"secret result\n") in priv and obj_key(b"secret result\n") not in pub
    assert git(remote, "rev-parse", "main").stdout.strip() == git(a, "rev-parse", "HEAD").stdout.strip()

    b = clone(tmp_path, remote, "b")
    eosvc(b, "checkout")
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")

    # B modifies one file, deletes one, adds one; A pulls.
    write(b, "data/train.csv", "x,y\n1,2\n3,4\n")
    (b / "data/sub/deep.bin").unlink()
    write(b, "output/new.txt", "more\n")
    commit_all(b, "change")
    eosvc(b, "push")
    eosvc(a, "pull")
    assert snapshot(a, "data", "output") == snapshot(b, "data", "output")
    assert not (a / "data/sub").exists()  # emptied directories go too


def test_history_checkout_old_commit_and_back(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    commit_all(a, "v1")
    write(a, "data/f.txt", "v2\n")
    write(a, "data/g.txt", "only in v2\n")
    commit_all(a, "v2")
    eosvc(a, "push")
    git(a, "checkout", "-q", "HEAD~1")  # post-checkout brings the bytes: no eosvc command
    assert snapshot(a, "data") == {"data/f.txt": b"v1\n"}
    git(a, "checkout", "-q", "main")
    assert snapshot(a, "data") == {"data/f.txt": b"v2\n", "data/g.txt": b"only in v2\n"}


def test_intermediate_commits_are_uploaded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    for v in ("first", "middle", "last"):
        write(a, "data/model.txt", v)
        commit_all(a, v)
    eosvc(a, "push")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    git(b, "checkout", "-q", "HEAD~1")  # post-checkout downloads the middle commit's object
    assert (b / "data/model.txt").read_bytes() == b"middle"


def test_local_modification_survives_pull(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "base\n")
    commit_all(a, "base")
    eosvc(a, "push")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "checkout")
    write(a, "data/f.txt", "upstream\n")
    commit_all(a, "upstream")
    eosvc(a, "push")

    write(b, "data/f.txt", "my unsaved work\n")
    proc = eosvc(b, "pull", check=False)
    assert (b / "data/f.txt").read_bytes() == b"my unsaved work\n"
    assert "kept data/f.txt" in proc.stderr
    assert proc.returncode == 1  # not an error we hide: the user must decide
    assert "Traceback" not in proc.stderr

    # -y replaces it, after saving the user's bytes in the local store
    proc = eosvc(b, "pull", "-y")
    assert (b / "data/f.txt").read_bytes() == b"upstream\n"
    saved = hash_bytes(b"my unsaved work\n")
    assert saved in proc.stderr
    assert list((b / ".git/eosvc/objects").rglob(str(saved)))


def test_push_without_credentials_fails_and_git_remote_untouched(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote)
    write(a, "output/x.txt", "private bytes\n")
    commit_all(a, "x")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    proc = eosvc(a, "push", check=False)
    assert proc.returncode == 2
    assert "AWS_ACCESS_KEY_ID" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert git(remote, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0
    assert s3.keys(s3.private_bucket) == []


def test_anonymous_clone_gets_public_and_skips_private(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote)
    write(a, "data/pub.txt", "public\n")
    write(a, "output/priv.txt", "private\n")
    commit_all(a, "both")
    eosvc(a, "push")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    b = clone(tmp_path, remote, "b")
    proc = eosvc(b, "checkout")
    assert (b / "data/pub.txt").read_bytes() == b"public\n"
    assert not (b / "output/priv.txt").exists()
    assert "output/" in proc.stderr and "skipped" in proc.stderr


def test_hostile_manifest_paths_refused_before_writing(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/ok.txt", "ok\n")
    commit_all(a, "ok")
    oid = hash_bytes(b"ok\n")
    absolute = tmp_path / "absolute-target"
    for hostile in ("data/../x", "/etc/x", str(absolute), "data/.git/x"):
        (a / "data.eosvc").write_bytes(f"eosvc-manifest v1\n{oid} 3 {hostile}\n".encode())
        proc = eosvc(a, "checkout", check=False)
        assert proc.returncode == 2, proc.stderr
        assert "unsafe path" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists() and not (a / "x").exists() and not absolute.exists()
    assert not (a / "data/.git").exists()


def test_tampered_object_rejected_on_download(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "genuine\n")
    commit_all(a, "f")
    eosvc(a, "push")
    s3.client().put_object(Bucket=s3.public_bucket, Key=obj_key(b"genuine\n"), Body=b"evil!!!\n")
    b = clone(tmp_path, remote, "b")
    proc = eosvc(b, "checkout", check=False)
    assert proc.returncode == 1
    assert "corrupt" in proc.stderr or "mismatch" in proc.stderr
    assert not (b / "data/f.txt").exists()
    assert "Traceback" not in proc.stderr


def test_malformed_access_json_exits_2(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    (a / "access.json").write_text('{"data": "publik"}')
    (a / ".git/eosvc/access.lock.json").unlink(missing_ok=True)
    proc = eosvc(a, "status", check=False)
    assert proc.returncode == 2
    assert "access.json" in proc.stderr and "'data'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_shows_recorded_and_unrecorded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "1\n")
    commit_all(a, "f")
    assert eosvc(a, "status").stdout.strip() == "nothing changed"
    write(a, "data/f.txt", "2\n")  # same size
    write(a, "data/g.txt", "new\n")
    out = eosvc(a, "status").stdout
    assert "modified: data/f.txt" in out and "added:    data/g.txt" in out
    eosvc(a, "add")
    out = eosvc(a, "status", "--remote").stdout
    assert "recorded, to be committed" in out and "not uploaded" in out


def test_hook_driven_pull_touches_only_changed_entries(tmp_path: Path, remote: Path, s3: S3) -> None:
    """A local edit to a file upstream did not change is neither rewritten nor reported."""
    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.txt": "x\n", "data/y.txt": "y\n"})
    write(b, "data/x.txt", "local edit, never added\n")
    write(a, "data/y.txt", "y2\n")
    commit_all(a, "y2")
    git(a, "push", "-q")
    proc = git(b, "pull", "-q")
    assert (b / "data/y.txt").read_bytes() == b"y2\n"
    assert (b / "data/x.txt").read_bytes() == b"local edit, never added\n"
    assert "x.txt" not in proc.stderr
    assert "1 written" in proc.stderr


def test_fetch_verify_and_dry_runs(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    commit_all(a, "v1")
    write(a, "data/f.txt", "v2\n")
    commit_all(a, "v2")
    eosvc(a, "push")
    b = clone(tmp_path, remote, "b")
    store = b / ".git/eosvc/objects"

    # fetch fills the store for a revision and leaves the work tree alone
    eosvc(b, "fetch", "HEAD~1")
    assert list(store.rglob(str(hash_bytes(b"v1\n"))))
    assert not (b / "data").exists()

    # checkout --dry-run prints the plan and writes nothing
    out = eosvc(b, "checkout", "--dry-run").stdout
    assert "write   data/f.txt" in out and not (b / "data").exists()
    eosvc(b, "checkout")
    write(b, "data/f.txt", "local\n")
    out = eosvc(b, "checkout", "--dry-run").stdout
    assert "keep    data/f.txt" in out and (b / "data/f.txt").read_text() == "local\n"

    # push --dry-run says what would go up, uploads nothing
    write(a, "data/g.txt", "new\n")
    commit_all(a, "g")
    assert "would upload 1 object(s)" in eosvc(a, "push", "--dry-run").stdout
    assert obj_key(b"new\n") not in s3.keys(s3.public_bucket)

    # verify: all good, then a corrupt local object and an object gone from S3
    assert eosvc(b, "verify").returncode == 0
    obj = next(store.rglob(str(hash_bytes(b"v2\n"))))
    obj.chmod(0o644)
    obj.write_bytes(b"rot\n")
    s3.client().delete_object(Bucket=s3.public_bucket, Key=obj_key(b"v2\n"))
    proc = eosvc(b, "verify", check=False)
    assert proc.returncode == 1
    assert "corrupt object" in proc.stderr and "not on S3: data/f.txt" in proc.stderr
    assert not obj.exists()  # removed, so it is downloaded again rather than used

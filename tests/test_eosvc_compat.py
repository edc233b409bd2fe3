"""Issue 12 items 2 and 4: an EOSVC working copy is a git-eosvc working copy.

EOSVC's access locks are read as extra pins (1.x: `.eosvc/access.lock.json`, 0.1.2:
`.evc/access.lock.json`, both written by EOSVC as `json.dumps(policy, indent=2) + "\\n"`);
its commands (`config`, `delete`, `--path .`), 0.1.2's `framework` key, 1.x's model buckets,
and its exit code 2 for a path that cannot be brought without credentials. Real git, the
real CLI, the suite's S3 server on loopback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import BIN, KEYS, S3, git
from helpers import clone, commit_all, new_repo, obj_key, snapshot, write

from git_eosvc.hashing import hash_bytes

STANDARD = {"mode": "standard", "data": "public", "output": "private"}


def run_eosvc(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """The `eosvc` program, as an EOSVC user types it."""
    import os

    proc = subprocess.run([str(BIN / "eosvc"), *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
    if check and proc.returncode != 0:
        raise AssertionError(f"eosvc {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    assert "Traceback" not in proc.stderr
    return proc


def eosvc_lock(work: Path, rel: str, policy: dict[str, str]) -> bytes:
    """A lock as EOSVC writes it (repo.ensure_access_lock, 0.1.2 and 1.x alike)."""
    data = (json.dumps(policy, indent=2) + "\n").encode()
    write(work, rel, data)
    return data


def eosvc_working_copy(tmp_path: Path, remote: Path, access: dict[str, str], name: str = "w") -> Path:
    """What EOSVC leaves: a git repo with access.json and .gitignore committed, artifacts
    beside them, and (per test) its locks and a .env."""
    w = tmp_path / name
    w.mkdir()
    git(w, "init", "-q")
    git(w, "remote", "add", "origin", str(remote))
    (w / "access.json").write_text(json.dumps(access, indent=2) + "\n")
    (w / ".gitignore").write_text("data/\noutput/\nmodel/checkpoints/\nmodel/framework/fit/\n")
    git(w, "add", "access.json", ".gitignore")
    git(w, "commit", "-q", "-m", "eosvc repo")
    return w


# ------------------------------------------------------------------------- locks


def test_an_eosvc_working_copy_runs_every_command(tmp_path: Path, remote: Path, s3: S3) -> None:
    """Both EOSVC locks and a .env with keys present: nothing deleted by hand, nothing of
    EOSVC's touched, the secrets never committed."""
    w = eosvc_working_copy(tmp_path, remote, {"data": "public", "output": "private"})
    locks = {rel: eosvc_lock(w, rel, STANDARD) for rel in (".eosvc/access.lock.json", ".evc/access.lock.json")}
    dotenv = f"AWS_ACCESS_KEY_ID={KEYS[0]}\nAWS_SECRET_ACCESS_KEY={KEYS[1]}\n"
    (w / ".env").write_text(dotenv)
    write(w, "data/train.csv", "a,b\n1,2\n")
    write(w, "output/result.csv", "score\n0.9\n")
    write(w, "output/old/model.txt", "old\n")

    run_eosvc(w, "init", "--repo", "proj")
    assert {"/.eosvc/", "/.evc/", "/.env"} <= set((w / ".gitignore").read_text().split())
    run_eosvc(w, "status")
    run_eosvc(w, "add")
    git(w, "add", "-A")
    git(w, "commit", "-q", "-m", "manifests")
    assert git(w, "status", "--porcelain").stdout == ""
    run_eosvc(w, "push")
    assert obj_key("score\n0.9\n") in s3.keys(s3.private_bucket)
    for args in (["view"], ["view", "--path", "."], ["download", "--path", "."], ["upload", "--path", "."],
                 ["download", "--path", "output/result.csv"], ["verify"], ["fetch"], ["checkout"],
                 ["doctor"], ["pull", "-y"], ["delete", "--path", "output/old", "--yes"]):
        run_eosvc(w, *args)
    git(w, "commit", "-q", "-m", "drop old output")
    run_eosvc(w, "push")
    tracked = git(w, "ls-files").stdout.split()
    assert ".env" not in tracked and not any(p.startswith((".eosvc/", ".evc/")) for p in tracked)
    assert {rel: (w / rel).read_bytes() for rel in locks} == locks  # read, never written
    assert (w / ".env").read_text() == dotenv
    c = tmp_path / "c"
    run_eosvc(tmp_path, "clone", "proj", "--url", str(remote), "--dest", str(c))
    assert snapshot(c, "data", "output") == {"data/train.csv": b"a,b\n1,2\n", "output/result.csv": b"score\n0.9\n"}


@pytest.mark.parametrize("rel, label", [(".eosvc/access.lock.json", "EOSVC 1.x"),
                                        (".evc/access.lock.json", "EOSVC 0.1.2")])
def test_an_eosvc_lock_that_disagrees_is_refused_in_eosvc_words(tmp_path: Path, remote: Path, s3: S3,
                                                                rel: str, label: str) -> None:
    w = eosvc_working_copy(tmp_path, remote, {"data": "public", "output": "public"})  # output made public
    eosvc_lock(w, rel, STANDARD)  # EOSVC locked it private
    write(w, "output/r.csv", "private result\n")
    for args in (["init", "--repo", "proj"], ["status"], ["view"], ["upload", "--path", "output"],
                 ["download", "--path", "data"], ["push"], ["delete", "--path", "output"]):
        proc = run_eosvc(w, *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Access policy change detected (public/private migration is not allowed)" in proc.stderr
        assert f"{label}'s lock {rel}" in proc.stderr
        assert "Lock:   {'mode': 'standard', 'data': 'public', 'output': 'private'}" in proc.stderr
        assert "Config: {'mode': 'standard', 'data': 'public', 'output': 'public'}" in proc.stderr
        assert f"hint: if this is intentional, delete {rel} (NOT recommended" in proc.stderr
    assert s3.keys(s3.public_bucket) == [] and s3.keys(s3.private_bucket) == []
    assert not (w / ".git/eosvc/access.lock.json").exists()  # no pin of the changed map was written
    (w / rel).unlink()  # the EOSVC user's override, as EOSVC documents it
    run_eosvc(w, "status")


def test_eosvc_reads_a_missing_key_as_public_so_its_lock_agrees(tmp_path: Path, remote: Path, s3: S3) -> None:
    """EOSVC locked {"data": "public"} as data and output public; git-eosvc keeps output
    private (its secure default): no refusal, and private data stays private."""
    w = eosvc_working_copy(tmp_path, remote, {"data": "public"})
    eosvc_lock(w, ".eosvc/access.lock.json", {"mode": "standard", "data": "public", "output": "public"})
    run_eosvc(w, "init", "--repo", "proj")
    write(w, "output/r.csv", "result\n")
    run_eosvc(w, "upload", "--path", "output")
    assert obj_key("result\n") in s3.keys(s3.private_bucket) and s3.keys(s3.public_bucket) == []
    doctor = run_eosvc(w, "doctor").stdout
    assert "agrees with access.json" in doctor
    assert "access.json leaves out output/: private here, public to EOSVC" in doctor


def test_model_repos_framework_key_short_paths_and_locks_of_both_formats(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    """EOSVC 0.1.2's model repo: access.json says "framework" for fit, its lock (at .evc/)
    too; 1.x's lock (at .eosvc/) says "fit". `framework/…` and `model/fit/…` are paths."""
    w = eosvc_working_copy(tmp_path, remote, {"checkpoints": "public", "framework": "private"})
    eosvc_lock(w, ".evc/access.lock.json", {"mode": "model", "checkpoints": "public", "framework": "private"})
    eosvc_lock(w, ".eosvc/access.lock.json", {"mode": "model", "checkpoints": "public", "fit": "private"})
    run_eosvc(w, "init", "--kind", "model", "--repo", "proj")
    write(w, "model/framework/fit/weights.bin", b"\x00fit")
    write(w, "model/checkpoints/c.pt", b"\x00ckpt")
    run_eosvc(w, "upload", "--path", "framework/weights.bin")
    run_eosvc(w, "upload", "--path", "checkpoints")
    assert "model/framework/fit/weights.bin" in (w / "model/framework/fit.eosvc").read_text()
    assert obj_key(b"\x00fit") in s3.keys(s3.private_bucket)
    assert obj_key(b"\x00ckpt") in s3.keys(s3.public_bucket)
    (w / "model/framework/fit/weights.bin").unlink()
    run_eosvc(w, "download", "--path", "model/fit/weights.bin")  # 1.x's alias
    assert (w / "model/framework/fit/weights.bin").read_bytes() == b"\x00fit"
    (w / "access.json").write_text('{"checkpoints": "public", "framework": "public"}')
    proc = run_eosvc(w, "status", check=False)
    assert proc.returncode == 2
    assert ("EOSVC 1.x's lock .eosvc/access.lock.json and EOSVC 0.1.2's lock .evc/access.lock.json"
            in proc.stderr)
    assert "'framework': 'private'" in proc.stderr and "'fit': 'private'" in proc.stderr
    assert "delete .eosvc/access.lock.json and .evc/access.lock.json and .git/eosvc/access.lock.json" \
        in proc.stderr
    both = '{"checkpoints": "public", "fit": "private", "framework": "private"}'
    (w / "access.json").write_text(both)
    proc = run_eosvc(w, "status", check=False)
    assert proc.returncode == 2 and '"framework" (EOSVC 0.1.2\'s name) and "fit" both' in proc.stderr


def test_framework_is_fit_in_a_model_repos_access_json() -> None:
    from git_eosvc import access
    from git_eosvc.errors import ConfigError

    m = access.parse('{"checkpoints": "public", "Framework": "private"}')
    assert m.kind == access.MODEL
    fit = m.section("fit")
    assert (fit.path, fit.key, fit.public) == ("model/framework/fit", "Framework", False)
    only = access.parse('{"framework": "public"}')  # checkpoints left out: private here
    assert only.section("fit").public and not only.section("checkpoints").public
    assert only.explicit == {"fit"}
    with pytest.raises(ConfigError, match="mixes"):
        access.parse('{"data": "public", "framework": "public"}')


def test_an_eosvc_1x_lock_at_git_eosvc_01s_path_is_never_moved(tmp_path: Path) -> None:
    """git-eosvc 0.1 kept its own lock at .eosvc/access.lock.json and moves it into the git
    dir; EOSVC 1.x's lock there (another format) stays, and pins."""
    from git_eosvc import access
    from git_eosvc.errors import ConfigError
    from git_eosvc.lock import AccessLock

    work = tmp_path / "work"
    data = eosvc_lock(work, ".eosvc/access.lock.json", STANDARD)
    lock = AccessLock(tmp_path / "state", work)
    assert lock.check(access.parse('{"data": "public", "output": "private"}')) is False
    assert (work / ".eosvc/access.lock.json").read_bytes() == data
    assert json.loads((tmp_path / "state/access.lock.json").read_text())["kind"] == "standard"
    with pytest.raises(ConfigError, match="EOSVC 1.x's lock"):
        lock.check(access.parse('{"data": "private", "output": "private"}'))
    write(work, ".eosvc/access.lock.json", "not json")
    with pytest.raises(ConfigError, match="unreadable"):
        lock.check(access.parse('{"data": "public", "output": "private"}'))


# ------------------------------------------------------------------------- buckets, exit codes


def test_new_model_repos_use_eosvc_models_buckets_existing_ones_keep_theirs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def doctor(work: Path) -> str:
        return run_eosvc(work, "doctor").stdout

    new = tmp_path / "new"
    new.mkdir()
    git(new, "init", "-q")
    run_eosvc(new, "init", "--kind", "model", "--repo", "m")
    cfg = git(new, "config", "-f", ".eosvcconfig", "--list").stdout
    assert "eosvc.publicbucket=eosvc-models-public" in cfg and "eosvc.privatebucket=eosvc-models-private" in cfg
    assert "public s3://eosvc-models-public/m/, private s3://eosvc-models-private/m/" in doctor(new)

    old = tmp_path / "old"  # a model repo set up before: its .eosvcconfig names no bucket
    old.mkdir()
    git(old, "init", "-q")
    (old / "access.json").write_text('{"model": "private"}')
    git(old, "config", "-f", ".eosvcconfig", "eosvc.repo", "old")
    run_eosvc(old, "init", "--kind", "model")
    assert "bucket" not in git(old, "config", "-f", ".eosvcconfig", "--list").stdout
    assert "public s3://eosvc-public/old/, private s3://eosvc-private/old/" in doctor(old)

    std = tmp_path / "std"
    std.mkdir()
    git(std, "init", "-q")
    run_eosvc(std, "init", "--repo", "s")
    assert "public s3://eosvc-public/s/, private s3://eosvc-private/s/" in doctor(std)
    own = tmp_path / "own"
    own.mkdir()
    git(own, "init", "-q")
    run_eosvc(own, "init", "--kind", "model", "--private-bucket", "mine")
    assert "private s3://mine/own/" in doctor(own) and "s3://eosvc-models-public/own/" in doctor(own)


def test_a_path_that_cannot_be_brought_without_credentials_exits_2(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """`eosvc download --path output` without credentials: EOSVC exits 2, so does this."""
    a = new_repo(tmp_path, remote)
    write(a, "data/pub.csv", "public\n")
    write(a, "output/priv.csv", "private\n")
    commit_all(a, "both")
    run_eosvc(a, "push")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    b = clone(tmp_path, remote, "b")
    run_eosvc(b, "install", env={"EOSVC_SKIP": "1"})
    (b / ".env").write_text(f"AWS_ACCESS_KEY_ID={KEYS[0]}\nAWS_SECRET_ACCESS_KEY={KEYS[1]}\n")
    proc = run_eosvc(b, "download", "--path", "output", check=False)
    assert proc.returncode == 2
    assert "output/ is private and no credentials were found (anonymous: no credentials found" in proc.stderr
    assert ".env holds AWS keys" in proc.stderr and "skipped private section" not in proc.stderr
    assert snapshot(b, "data", "output") == {}
    proc = run_eosvc(b, "download", "--path", ".", check=False)
    assert proc.returncode == 2 and "output/ is private" in proc.stderr
    assert snapshot(b, "data", "output") == {"data/pub.csv": b"public\n"}  # what could be brought was
    run_eosvc(b, "download", "--path", "data")
    proc = run_eosvc(b, "download", "--path", "data/not-there.csv", check=False)
    assert proc.returncode == 2 and "'data/not-there.csv' is not recorded in data.eosvc" in proc.stderr


# ------------------------------------------------------------------------- delete


def test_delete_untracks_and_removes_saving_every_local_byte_first(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/keep.csv", "keep\n")
    write(a, "data/sub/b.csv", "b v1\n")
    write(a, "output/o.csv", "o\n")
    commit_all(a, "base")
    run_eosvc(a, "push")
    write(a, "data/sub/b.csv", "b edited, never added\n")
    write(a, "data/sub/new.csv", "local only\n")

    proc = run_eosvc(a, "delete", "--path", "data/sub")
    assert not (a / "data/sub").exists() and (a / "data/keep.csv").exists()
    manifest = (a / "data.eosvc").read_text()
    assert "data/sub/" not in manifest and "data/keep.csv" in manifest
    assert git(a, "diff", "--cached", "--name-only").stdout.split() == ["data.eosvc"]
    for data in ("b edited, never added\n", "local only\n"):
        oid = hash_bytes(data.encode())
        assert f"as {oid}" in proc.stderr
        assert (a / ".git/eosvc/objects" / oid.shard()).read_bytes() == data.encode()
    assert obj_key("b v1\n") in s3.keys(s3.public_bucket)  # history keeps its bytes
    assert "untracked 1 file(s), removed 2 here" in proc.stderr
    git(a, "commit", "-q", "-m", "drop sub")
    run_eosvc(a, "push")

    b = clone(tmp_path, remote, "b")
    run_eosvc(b, "install")
    assert snapshot(b, "data", "output") == {"data/keep.csv": b"keep\n", "output/o.csv": b"o\n"}
    git(a, "checkout", "-q", "HEAD~1", "--", "data.eosvc")  # undo: the hook brings the bytes back
    assert (a / "data/sub/b.csv").read_text() == "b v1\n"

    proc = run_eosvc(a, "delete", "--path", "data/nothing", check=False)
    assert proc.returncode == 2 and "'data/nothing' is neither recorded in data.eosvc nor here" in proc.stderr
    run_eosvc(a, "delete", "--path", ".", "-y")
    assert snapshot(a, "data", "output") == {} and not (a / "data").exists()
    assert "data/" not in (a / "data.eosvc").read_text() and "output/" not in (a / "output.eosvc").read_text()
    assert sorted(git(a, "diff", "--cached", "--name-only").stdout.split()) == ["data.eosvc", "output.eosvc"]
    assert obj_key("o\n") in s3.keys(s3.private_bucket)

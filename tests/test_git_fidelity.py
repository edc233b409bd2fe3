"""Issue 15, part 3: `git eosvc` sees what git sees. The real command, started by git the
way a user starts it (`git --git-dir … eosvc`, `GIT_DIR`, `-C`, `-c`), in partial clones,
SHA-256 repositories and sparse checkouts, against a real S3 endpoint."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from conftest import S3, eosvc, git
from helpers import commit_all, new_repo, pushed_and_cloned, write


def git_eosvc(cwd: Path, *args: str, env: dict[str, str] | None = None,
              check: bool = True) -> subprocess.CompletedProcess[str]:
    """`git <args>` where args include the `eosvc` subcommand: git starts git-eosvc itself."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_git_dir_work_tree_and_C(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/x.csv", "x\n")
    commit_all(a, "x")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args, env in (
        (["--git-dir", str(a / ".git"), "--work-tree", str(a), "eosvc", "status"], None),
        (["eosvc", "status"], {"GIT_DIR": str(a / ".git"), "GIT_WORK_TREE": str(a)}),
        (["-C", str(a), "eosvc", "status"], None),
    ):
        write(a, "data/y.csv", "new\n")
        out = git_eosvc(elsewhere, *args, env=env).stdout
        assert "added:    data/y.csv" in out, (args, out)
    # relative GIT_DIR / GIT_WORK_TREE, from the folder above: add hashes, stores and stages
    git_eosvc(tmp_path, "eosvc", "add", env={"GIT_DIR": "a/.git", "GIT_WORK_TREE": "a"})
    assert "data/y.csv" in git(a, "show", ":data.eosvc").stdout


def test_dash_c_and_git_config_env_reach_the_settings(tmp_path: Path, remote: Path, s3: S3,
                                                       monkeypatch) -> None:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote)
    write(a, "data/x.csv", "x\n")
    commit_all(a, "x")
    monkeypatch.delenv("EOSVC_PUBLIC_BUCKET")  # so the clone's config decides
    git_eosvc(a, "-c", f"eosvc.publicBucket={s3.public_bucket}", "-c", "eosvc.repo=viac", "eosvc", "push")
    assert any(k.startswith("viac/objects/") for k in s3.keys(s3.public_bucket))
    write(a, "data/y.csv", "y\n")
    commit_all(a, "y")
    env = {"GIT_CONFIG_COUNT": "2", "GIT_CONFIG_KEY_0": "eosvc.repo", "GIT_CONFIG_VALUE_0": "viaenv",
           "GIT_CONFIG_KEY_1": "eosvc.publicBucket", "GIT_CONFIG_VALUE_1": s3.public_bucket}
    git_eosvc(a, "eosvc", "push", env=env)
    assert any(k.startswith("viaenv/objects/") for k in s3.keys(s3.public_bucket))


def test_partial_clone_diff_and_fetch_of_an_old_revision(tmp_path: Path, remote: Path, s3: S3) -> None:
    a, _b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "one\n"})
    write(a, "data/x.csv", "two\n")
    write(a, "data/z.csv", "zed\n")
    commit_all(a, "two")
    git(a, "push", "-q", "origin", "main")
    git(remote, "config", "uploadpack.allowFilter", "true")
    partial = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{remote}", str(partial))
    eosvc(partial, "install")
    assert (partial / "data/x.csv").read_text() == "two\n"
    diff = json.loads(eosvc(partial, "diff", "HEAD~1", "HEAD", "--format", "json").stdout)
    changed = {e["path"] for s in diff["sections"] for e in s["entries"]}
    assert changed == {"data/x.csv", "data/z.csv"}
    fetched = eosvc(partial, "fetch", "HEAD~1")
    assert "downloaded 1 object(s)" in fetched.stderr


def test_sha256_repository(tmp_path: Path, s3: S3) -> None:
    bare = tmp_path / "remote256.git"
    git(tmp_path, "init", "-q", "--bare", "--object-format=sha256", str(bare))
    a = tmp_path / "a"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(a))
    git(a, "remote", "add", "origin", str(bare))
    eosvc(a, "init", "--repo", "proj")
    write(a, "data/x.csv", "sha256 repo\n")
    commit_all(a, "x")
    git(a, "push", "-q", "-u", "origin", "main")  # the pre-push hook reads 64-hex ids
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(bare), str(b))
    eosvc(b, "install")
    assert (b / "data/x.csv").read_text() == "sha256 repo\n"
    write(a, "data/x.csv", "changed\n")
    commit_all(a, "y")
    git(a, "push", "-q")
    git(b, "pull", "-q")
    assert (b / "data/x.csv").read_text() == "changed\n"
    assert "nothing changed" in eosvc(b, "status").stdout


def test_sparse_checkout_leaving_out_a_manifest(tmp_path: Path, remote: Path, s3: S3) -> None:
    _a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n", "output/o.txt": "o\n"})
    git(b, "sparse-checkout", "set", "--no-cone", "/*", "!/output.eosvc", "!/output/")
    assert not (b / "output.eosvc").exists()
    out = eosvc(b, "status").stdout
    assert "deleted" not in out and "output" not in out, out
    eosvc(b, "add")
    assert git(b, "status", "--porcelain").stdout == ""  # nothing recorded as deleted


def test_git_tracing_on_stderr_is_not_an_error(tmp_path: Path, remote: Path, s3: S3) -> None:
    """GIT_TRACE=1 (and GIT_TRACE2, GIT_TRACE_PERFORMANCE) makes every git git-eosvc runs
    write trace lines to stderr: a `git config` that finds no key is still not a failure,
    and the hooks of a commit, a push and a pull still do their work."""
    a, b = pushed_and_cloned(tmp_path, remote, {"data/x.csv": "x\n"})
    tracing = {"GIT_TRACE": "1", "GIT_TRACE2": "1", "GIT_TRACE_PERFORMANCE": "1"}
    write(a, "data/x.csv", "traced\n")
    git_eosvc(a, "eosvc", "add", env=tracing)
    committed = git_eosvc(a, "commit", "-q", "-m", "traced", env=tracing)
    assert "trace: " in committed.stderr  # the tracing really was on
    said = [line for line in committed.stderr.splitlines() if not re.match(r"\d\d:\d\d:\d\d\.\d{6} ", line)]
    assert said == [], said  # nothing but trace lines: no hook complained
    git_eosvc(a, "push", "-q", "origin", "main", env=tracing)
    git_eosvc(b, "pull", "-q", env=tracing)
    assert (b / "data/x.csv").read_text() == "traced\n"
    assert "nothing changed" in git_eosvc(b, "eosvc", "status", env=tracing).stdout

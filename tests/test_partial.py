"""Partial materialisation per clone (docs/partial.md): eosvc.fetchInclude / fetchExclude,
honoured by install, the hooks, checkout and fetch; `git eosvc checkout PATH` brings an
excluded file on request. Real git, real hooks, the suite's S3 server."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, snapshot, write


def _objects(work: Path) -> int:
    """Objects in the clone's local store: what it downloaded."""
    root = work / ".git" / "eosvc" / "objects" / "sha256"
    return sum(len(files) for _, _, files in os.walk(root)) if root.exists() else 0


FILES = {"data/raw/1.csv": "r1", "data/raw/2.csv": "r2", "data/proc/x.csv": "x", "data/big/y.bin": "y"}


def _origin(tmp_path: Path, remote: Path) -> Path:
    a = new_repo(tmp_path, remote)
    for rel, text in FILES.items():
        write(a, rel, text)
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    return a


def test_fetch_include_through_install_pull_and_checkout(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = _origin(tmp_path, remote)
    b = clone(tmp_path, remote, "b")
    git(b, "config", "eosvc.fetchInclude", "data/raw/**")
    eosvc(b, "install")
    assert sorted(snapshot(b, "data")) == ["data/raw/1.csv", "data/raw/2.csv"]
    assert _objects(b) == 2
    status = eosvc(b, "status").stdout
    assert "not materialised (excluded by eosvc.fetchInclude/fetchExclude): 2 file(s)" in status
    eosvc(b, "add")
    assert (b / "data.eosvc").read_text() == (a / "data.eosvc").read_text()
    eosvc(b, "fetch")
    assert _objects(b) == 2  # fetch honours the filter too

    # new commits through the hooks: what is included comes, the rest does not
    write(a, "data/raw/3.csv", "r3")
    write(a, "data/proc/z.csv", "z")
    commit_all(a, "more")
    git(a, "push", "-q")
    git(b, "pull", "-q")
    assert sorted(snapshot(b, "data")) == ["data/raw/1.csv", "data/raw/2.csv", "data/raw/3.csv"]
    assert _objects(b) == 3
    # the reconcile remembered the manifests it left files out of: the next hooks exit in sh
    assert (b / ".git/eosvc/attempted/data.eosvc").read_bytes() == (b / "data.eosvc").read_bytes()

    # asked for by name, an excluded file comes, and then follows the commits
    eosvc(b, "checkout", "data/proc/x.csv")
    assert (b / "data/proc/x.csv").read_text() == "x"
    write(a, "data/proc/x.csv", "x2")
    commit_all(a, "x2")
    git(a, "push", "-q")
    git(b, "pull", "-q")
    assert (b / "data/proc/x.csv").read_text() == "x2"
    assert not (b / "data/proc/z.csv").exists()

    # a commit from the partial clone pushes: what it never downloaded is on S3 already
    # the hooks see (after pulls and checkouts too) the partial work tree as current: a commit's pre-commit judges it
    write(b, "data/raw/new.csv", "n")
    write(b, "code.py", "x")
    git(b, "add", "code.py")
    assert "not added" in git(b, "commit", "-q", "-m", "code").stderr
    os.unlink(b / "data/raw/new.csv")
    write(b, "data/raw/1.csv", "r1 edited")
    eosvc(b, "add")
    committed = git(b, "commit", "-q", "-am", "edit")
    assert "do not match" not in committed.stderr and "not added" not in committed.stderr
    git(b, "push", "-q")
    git(a, "pull", "-q")
    assert (a / "data/raw/1.csv").read_text() == "r1 edited"
    assert (a / "data/proc/z.csv").read_text() == "z" and (a / "data/big/y.bin").read_text() == "y"


def test_fetch_exclude_and_plain_git_checkouts(tmp_path: Path, remote: Path, s3: S3) -> None:
    _origin(tmp_path, remote)
    c = clone(tmp_path, remote, "c")
    git(c, "config", "eosvc.fetchExclude", "*.bin,data/proc")
    eosvc(c, "install")
    assert sorted(snapshot(c, "data")) == ["data/raw/1.csv", "data/raw/2.csv"]
    assert _objects(c) == 2
    git(c, "checkout", "-q", "-b", "other")
    write(c, "data/raw/4.csv", "r4")
    commit_all(c, "r4")
    git(c, "checkout", "-q", "main")
    assert sorted(snapshot(c, "data")) == ["data/raw/1.csv", "data/raw/2.csv"]
    git(c, "checkout", "-q", "other")
    assert sorted(snapshot(c, "data")) == ["data/raw/1.csv", "data/raw/2.csv", "data/raw/4.csv"]
    assert "data/big/y.bin" in (c / "data.eosvc").read_text()
    # a directory named explicitly brings everything below it
    eosvc(c, "checkout", "data/big")
    assert (c / "data/big/y.bin").read_text() == "y"
    assert "fetchExclude): 1 file(s)" in eosvc(c, "status").stdout


def test_plan_leaves_out_only_what_was_not_materialised() -> None:
    from git_eosvc.hashing import hash_bytes
    from git_eosvc.manifest import Entry
    from git_eosvc.plan import plan_checkout

    def e(path: str, data: str) -> Entry:
        return Entry(path, hash_bytes(data.encode()), len(data))

    old = {"data/in/a": e("data/in/a", "1")}
    new = {"data/in/a": e("data/in/a", "2"), "data/out/b": e("data/out/b", "b"), "data/c": e("data/c", "c")}
    current = {"data/in/a": e("data/in/a", "1")}
    plan = plan_checkout(old, new, current, lambda oid: False, left_out=lambda p: p != "data/c")
    # a file materialised here follows the commits even when its path is left out
    assert sorted(x.path for x in plan.write) == ["data/c", "data/in/a"]
    assert [x.path for x in plan.left_out] == ["data/out/b"] and not plan.delete and not plan.keep

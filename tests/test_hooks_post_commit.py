"""post-commit: a merge whose manifest conflict was resolved by hand gets its artifacts."""

from __future__ import annotations

from pathlib import Path

from conftest import S3, eosvc, git
from helpers import commit_all, new_repo, write


def test_hand_resolved_merge_is_materialised_on_commit(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "base\n")
    write(a, "data/g.txt", "g\n")
    commit_all(a, "base")
    git(a, "checkout", "-q", "-b", "theirs")
    write(a, "data/f.txt", "theirs\n")
    write(a, "data/g.txt", "g from theirs\n")
    commit_all(a, "theirs")
    theirs_manifest = (a / "data.eosvc").read_text()
    git(a, "checkout", "-q", "main")
    write(a, "data/f.txt", "ours\n")
    commit_all(a, "ours")
    merge = git(a, "merge", "theirs", check=False)
    assert merge.returncode != 0 and "<<<<<<<" in (a / "data.eosvc").read_text()
    # resolve by hand: take their manifest as a whole, without git eosvc's resolution command
    (a / "data.eosvc").write_text(theirs_manifest)
    added = git(a, "add", "data.eosvc")  # post-index-change: the resolved manifest is in the work tree
    proc = git(a, "commit", "-q", "--no-edit")
    assert (a / "data/f.txt").read_text() == "theirs\n"
    assert (a / "data/g.txt").read_text() == "g from theirs\n"
    assert "written" in added.stderr + proc.stderr  # by whichever hook saw the manifest first
    assert eosvc(a, "status").stdout.strip() == "nothing changed"


def test_ordinary_commit_runs_post_commit_quietly(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    eosvc(a, "add")
    proc = git(a, "commit", "-q", "-m", "v1")
    assert proc.stderr == ""
    assert "post-commit" in [p.name for p in (a / ".git/hooks").iterdir()]

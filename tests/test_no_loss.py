"""No local work is lost, and nothing a clone never had is recorded as deleted (review findings)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, pushed_and_cloned, write


def test_unreadable_or_special_files_are_never_replaced(tmp_path: Path, remote: Path, s3: S3) -> None:
    """What the scan cannot read safely (a FIFO a job writes into, a symlink) is kept, even with --force."""
    a = new_repo(tmp_path, remote)
    write(a, "data/pipe", "v1\n")
    write(a, "data/link", "v1\n")
    commit_all(a, "v1")
    write(a, "data/pipe", "v2\n")
    write(a, "data/link", "v2\n")
    commit_all(a, "v2")
    git(a, "checkout", "-q", "HEAD~1")  # workspace: v1
    (a / "data/pipe").unlink()
    os.mkfifo(a / "data/pipe")
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    (a / "data/link").unlink()
    (a / "data/link").symlink_to(outside)
    git(a, "checkout", "-q", "main")
    proc = eosvc(a, "checkout", "--force", check=False)
    assert (a / "data/pipe").is_fifo()
    assert (a / "data/link").is_symlink() and outside.read_text() == "not yours\n"
    assert "kept data/pipe" in proc.stderr and "kept data/link" in proc.stderr


def test_add_keeps_entries_never_downloaded_here(tmp_path: Path, remote: Path, s3: S3,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/p.txt", "public\n")
    write(a, "output/s.txt", "secret\n")
    commit_all(a, "both")
    git(a, "push", "-q", "-u", "origin", "main")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")  # output/ skipped: no credentials
    assert not (b / "output/s.txt").exists()
    out = eosvc(b, "status").stdout
    assert "deleted" not in out and "not materialised here: 1 file(s)" in out
    eosvc(b, "add")
    assert git(b, "diff", "--cached", "--name-only").stdout.strip() == ""
    assert "output/s.txt" in (b / "output.eosvc").read_text()


def test_partial_download_then_upload_keeps_the_rest(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    for name in "abc":
        write(a, f"data/{name}.txt", f"{name}\n")
    commit_all(a, "abc")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")  # hooks not installed: nothing materialised
    eosvc(b, "download", "--path", "data/a.txt")
    write(b, "data/a.txt", "a2\n")
    eosvc(b, "upload", "--path", "data/")
    manifest = (b / "data.eosvc").read_text()
    assert "data/b.txt" in manifest and "data/c.txt" in manifest
    assert git(b, "diff", "--cached", "--stat").stdout.count("data.eosvc") == 1
    assert "1 insertion(+), 1 deletion(-)" in git(b, "diff", "--cached", "--stat").stdout  # only a.txt


def test_failed_download_is_retried_and_never_recorded_over_upstream(
        tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {"data/f.txt": "v1\n"})
    write(a, "data/f.txt", "v2\n")
    commit_all(a, "v2")
    git(a, "push", "-q")
    good = os.environ["EOSVC_ENDPOINT_URL"]
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", "http://127.0.0.1:9")  # S3 unreachable during the pull
    proc = git(b, "pull", "-q")
    assert "git eosvc checkout" in proc.stderr
    assert (b / "data/f.txt").read_text() == "v1\n"
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", good)
    out = eosvc(b, "status").stdout
    assert "modified" not in out and "not materialised here: 1 file(s)" in out
    eosvc(b, "add")  # must not record the stale v1 over upstream's v2
    assert git(b, "diff", "--cached", "--name-only").stdout.strip() == ""
    git(b, "checkout", "-q", "-b", "feature")  # the next hook retries the download
    assert (b / "data/f.txt").read_text() == "v2\n"

"""First run against a fresh S3 endpoint: buckets that do not exist yet are one clear line,
and `git eosvc init --create-buckets` makes them (the public one readable by anyone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import S3, S3Server, eosvc, git
from helpers import commit_all, write


def test_missing_buckets_are_one_line_and_init_creates_them(
        tmp_path: Path, remote: Path, s3: S3, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_public, fresh_private = f"new-pub-{os.getpid()}", f"new-priv-{os.getpid()}"
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", fresh_public)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", fresh_private)
    a = tmp_path / "a"
    a.mkdir()
    git(a, "init", "-q")
    git(a, "remote", "add", "origin", str(remote))
    eosvc(a, "init", "--repo", "proj")
    for i in range(12):
        write(a, f"data/f{i}.txt", f"{i}\n")
    commit_all(a, "data")
    proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "git-eosvc" in line]
    assert len(errors) == 1 and f"bucket {fresh_public} does not exist" in errors[0], proc.stderr
    assert "--create-buckets" in proc.stderr
    assert git(remote, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0

    made = eosvc(a, "init", "--repo", "proj", "--create-buckets")
    assert f"created bucket {fresh_public}" in made.stderr and f"created bucket {fresh_private}" in made.stderr
    git(a, "push", "-q", "-u", "origin", "main")
    again = eosvc(a, "init", "--repo", "proj", "--create-buckets")
    assert f"found bucket {fresh_public}" in again.stderr  # idempotent
    if not s3_server.policies:  # (rclone) said, and done the server's own way
        assert f"could not let anyone read bucket {fresh_public}" in again.stderr
        s3_server.publish(s3.client(), fresh_public)

    # anyone can read the public objects, without credentials
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(b))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    eosvc(b, "install")
    assert (b / "data/f11.txt").read_text() == "11\n"

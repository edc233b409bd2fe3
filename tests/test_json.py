"""`--json` for status, view and verify (docs/json.md): the real CLI on real git and the
suite's S3 server; the documented fields, exit codes and byte-stable encoding."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from conftest import S3, eosvc
from helpers import commit_all, new_repo, obj_key, write

from git_eosvc.hashing import hash_bytes


def doc(work: Path, *args: str, code: int = 0) -> dict[str, Any]:
    proc = eosvc(work, *args, check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.endswith("\n") and proc.stdout.isascii()
    again = eosvc(work, *args, check=False)
    assert again.stdout == proc.stdout  # the same state, the same bytes
    out: dict[str, Any] = json.loads(proc.stdout)
    assert out["version"] == 1
    return out


def entry(path: str, data: str) -> dict[str, Any]:
    return {"path": path, "sha256": hash_bytes(data.encode()), "size": len(data.encode())}


def test_status_json(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/keep.csv", "k\n")
    write(a, "data/old.csv", "old\n")
    write(a, "output/model.txt", "m1\n")
    commit_all(a, "base")
    out = doc(a, "status", "--json", "--remote")
    assert out["schema"] == "git-eosvc/status" and out["remote_checked"] is True and out["clean"] is False
    by = {s["section"]: s for s in out["sections"]}
    assert set(by) >= {"data", "output"}
    assert by["data"]["access"] == "public" and by["output"]["manifest"] == "output.eosvc"
    assert by["data"]["not_uploaded"] == [entry("data/keep.csv", "k\n"), entry("data/old.csv", "old\n")]

    eosvc(a, "push")
    out = doc(a, "status", "--json", "--remote")
    assert out["clean"] is True and all(s["not_uploaded"] == [] for s in out["sections"])
    assert doc(a, "status", "--json")["sections"][0]["not_uploaded"] is None  # S3 not asked

    write(a, "data/old.csv", "new\n")  # modified, not yet added
    write(a, "data/fresh.csv", "f\n")
    (a / "output/model.txt").unlink()
    out = doc(a, "status", "--json")
    by = {s["section"]: s for s in out["sections"]}
    assert by["data"]["unrecorded"] == {
        "added": [entry("data/fresh.csv", "f\n")], "removed": [],
        "modified": [{"path": "data/old.csv", "old": entry("data/old.csv", "old\n"),
                      "new": entry("data/old.csv", "new\n")}]}
    assert by["output"]["unrecorded"]["removed"] == [entry("output/model.txt", "m1\n")]
    eosvc(a, "add")
    by = {s["section"]: s for s in doc(a, "status", "--json")["sections"]}
    assert [e["path"] for e in by["data"]["recorded"]["added"]] == ["data/fresh.csv"]
    assert by["data"]["unrecorded"] == {"added": [], "removed": [], "modified": []}

    bad = eosvc(a, "status", "--json", "--no-such-flag", check=False)
    assert bad.returncode == 2 and bad.stdout == ""


def test_view_json(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/x/one.csv", "1\n")
    write(a, "data/two.csv", "2\n")
    commit_all(a, "base")
    write(a, "data/two.csv", "22\n")
    write(a, "data/local.csv", "l\n")
    out = doc(a, "view", "--json")
    assert out["schema"] == "git-eosvc/view" and out["remote_checked"] is True
    files = {f["path"]: f for s in out["sections"] for f in s["files"]}
    assert files["data/x/one.csv"] == {"path": "data/x/one.csv", "state": "same", "size": 2,
                                       "recorded": entry("data/x/one.csv", "1\n"),
                                       "local": entry("data/x/one.csv", "1\n"), "remote": "not uploaded"}
    assert files["data/two.csv"]["state"] == "modified" and files["data/two.csv"]["size"] == 3
    assert files["data/local.csv"]["state"] == "not recorded" and files["data/local.csv"]["remote"] is None
    assert out["totals"] == {"files": 3, "bytes": 2 + 3 + 2}
    (a / "data/local.csv").unlink()
    write(a, "data/two.csv", "2\n")
    eosvc(a, "push")
    (a / "data/two.csv").unlink()
    local = doc(a, "view", "--json", "--local", "--path", "data/two.csv")
    assert local["remote_checked"] is False
    assert [(f["path"], f["state"], f["remote"]) for s in local["sections"] for f in s["files"]] == \
        [("data/two.csv", "not here", None)]
    pushed = doc(a, "view", "--json", "--path", "data/x")
    assert [f["remote"] for s in pushed["sections"] for f in s["files"]] == ["uploaded"]


def test_verify_json(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/a.csv", "a\n")
    write(a, "data/b.csv", "b\n")
    commit_all(a, "base")
    eosvc(a, "push")
    out = doc(a, "verify", "--json")
    assert out == {"schema": "git-eosvc/verify", "version": 1, "remote_checked": True, "ok": True,
                   "checked": 2, "corrupt": [], "not_on_remote": []}

    s3.client().delete_object(Bucket=s3.public_bucket, Key=obj_key("b\n"))
    stored = next((a / ".git/eosvc/objects").rglob(str(hash_bytes(b"a\n"))))
    os.chmod(stored, stat.S_IWUSR | stat.S_IRUSR)
    stored.write_bytes(b"tampered")
    proc = eosvc(a, "verify", "--json", check=False)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["ok"] is False and out["corrupt"] == [hash_bytes(b"a\n")]
    assert out["not_on_remote"] == [{"path": "data/b.csv", "sha256": hash_bytes(b"b\n"), "size": 2,
                                     "bucket": s3.public_bucket}]
    assert doc(a, "verify", "--json", "--local", code=0)["not_on_remote"] is None

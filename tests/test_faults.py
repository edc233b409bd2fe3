"""Issue 9, items 8a and 9: multipart uploads and ranged downloads (>= 64 MiB) under S3
faults, injected by a loopback proxy (tests/faultproxy.py) between git-eosvc and moto.

What is proven, on real git with the real hooks and the real defaults (64 MiB parts and
ranges, a 130 MiB file; `git push` / `git pull` with EOSVC_ENDPOINT_URL at the proxy):
- no ref is pushed before its objects: a part that keeps failing fails the push after a
  bounded number of tries, the remote's ref does not move, nothing is visible under the
  object's key, and the multipart upload is aborted; transient faults (500, a reset
  mid-part, 503 SlowDown) are retried and the stored object is byte-identical;
- no corrupt byte is stored: 503, a reset mid-range and a truncated range are retried;
  a flipped byte is caught by sha256; a range that keeps failing fails cleanly. In no
  case does a wrong object enter `.git/eosvc/objects`, a temp file stay behind, or the
  work tree hold wrong bytes; a later checkout brings the right ones.
Remote-level tests (5 MiB parts via Remote's constructor) cover the rest cheaply: answers
lost after the server acted, every range fault at once, objects below the threshold, and
a byte flipped on the way up. moto does not check x-amz-checksum-sha256 (S3 does), so the
proxy checks it for moto, as S3 would: every upload in this file is verified that way.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from conftest import KEYS as S3_KEYS, S3, S3Server, eosvc, git
from faultproxy import (
    COMPLETE_MULTIPART,
    UPLOAD_PART,
    FaultProxy,
    Flip,
    Reset,
    Selector,
    Status,
    Truncate,
)
from helpers import clone, commit_all, new_repo, write

from git_eosvc.cache import Store
from git_eosvc.config import Settings
from git_eosvc.hashing import Sha256, hash_file
from git_eosvc.remote import MULTIPART_THRESHOLD, PART_SIZE, STREAM_ATTEMPTS, Remote
from git_eosvc.s3client import RETRIES, Credentials
from git_eosvc.transfer import Download, Upload

MiB = 1 << 20
BIG = 130 * MiB + 12_345  # three parts at the real defaults: 64 MiB, 64 MiB, 2 MiB + 12,345
PART = r"[?&]partNumber={}(&|$)"
KEYS = Credentials(*S3_KEYS)
MAX_ATTEMPTS = 5  # s3client.RETRIES; botocore counts them as retries


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def loose_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about one object per key (multipart, ranged): no packs, no chunks.
    Packed transfers under faults are tests/test_packs.py's."""
    monkeypatch.setenv("EOSVC_CHUNK_MIN", "0")
    monkeypatch.setenv("EOSVC_PACK_MIN", "0")


@pytest.fixture
def proxy(s3: S3, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of moto; every git-eosvc process (hooks too) talks to it.
    It checks each uploaded body against its x-amz-checksum-* header, as S3 does."""
    with FaultProxy(s3.endpoint, timeout=30, lifetime=300, verify_checksums=True) as p:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", p.url)
        yield p


def sparse_file(path: Path, size: int, seed: int) -> Sha256:
    """A sparse-ish file: a random 4 KiB at every MiB, holes between. Distinct per seed and
    per MiB, so a misplaced or repeated range changes the hash. Returns its sha256."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)
        for offset in range(0, size, MiB):
            f.seek(offset)
            f.write(rng.randbytes(min(4096, size - offset)))
    return hash_file(path)[0]


def key_of(oid: Sha256, repo: str = "proj") -> str:
    return f"{repo}/objects/{oid.shard()}"


def s3_sha256(s3: S3, bucket: str, key: str) -> str | None:
    """The sha256 of an object as moto holds it (read directly, not through the proxy)."""
    client = s3.client()
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except client.exceptions.NoSuchKey:
        return None
    digest = hashlib.sha256()
    for chunk in body.iter_chunks(MiB):
        digest.update(chunk)
    return digest.hexdigest()


def open_uploads(s3: S3, bucket: str) -> list[Any]:
    return s3.open_uploads(bucket)


def store_of(work: Path) -> Store:
    return Store(work / ".git" / "eosvc" / "objects")


def store_is_clean(work: Path, expect: set[Sha256]) -> None:
    """The local store holds exactly `expect` among big objects, each verified, and no temp."""
    store = store_of(work)
    big = {oid for oid in store.iter_oids() if store.object_path(oid).stat().st_size >= MULTIPART_THRESHOLD}
    assert big == expect
    for oid in big:
        assert hash_file(store.object_path(oid))[0] == oid
    assert not store.tmp.exists() or not any(store.tmp.iterdir())


def remote_head(remote: Path) -> str | None:
    proc = git(remote, "rev-parse", "--verify", "-q", "refs/heads/main", check=False)
    return proc.stdout.strip() or None


def base_then_big(tmp_path: Path, remote: Path, seed: int = 1) -> tuple[Path, Sha256, str]:
    """Clone `a`: a small commit pushed, then a commit adding data/big.bin (BIG bytes),
    not pushed. Returns (a, the big file's oid, the remote's tip)."""
    a = new_repo(tmp_path, remote)
    write(a, "data/small.txt", "small\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    oid = sparse_file(a / "data/big.bin", BIG, seed)
    commit_all(a, "big")
    return a, oid, git(a, "rev-parse", "HEAD~1").stdout.strip()


# ------------------------------------------------------------------------ the proxy itself


class _Recorder(socketserver.BaseRequestHandler):
    """A one-request upstream: records the raw request bytes, answers 200 with BODY."""

    received: ClassVar[list[bytes]] = []

    def handle(self) -> None:
        f = self.request.makefile("rb")
        head = f.readline()
        while (line := f.readline()) not in (b"\r\n", b""):
            head += line
        head += b"\r\n"
        body = b""
        if b"chunked" in head.lower():
            while size_line := f.readline():
                body += size_line
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while (line := f.readline()) not in (b"\r\n", b""):
                        body += line  # trailers
                    body += b"\r\n"
                    break
                body += f.read(size + 2)
        elif match := re.search(rb"(?i)content-length: *(\d+)", head):
            body = f.read(int(match.group(1)))
        self.received.append(head + body)
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY)


BODY = bytes(range(256)) * 64


@pytest.fixture
def recorder() -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _exchange(url: str, request: bytes) -> bytes:
    """Send raw request bytes; everything received until the recorder's BODY has come."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        out = b""
        while not out.endswith(BODY) and (data := sock.recv(65536)):
            out += data
        return out


def test_proxy_forwards_requests_byte_for_byte(recorder: str) -> None:
    chunked = (b"PUT /bkt/key?partNumber=1&uploadId=x HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
               b"Authorization: AWS4-HMAC-SHA256 Credential=testing/x, Signature=abc\r\n"
               b"Range: bytes=0-9\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5;ext=1\r\nhello\r\n3\r\n\x00\r\n\r\n0\r\nx-amz-checksum-sha256: abc=\r\n\r\n")
    expect = (b"PUT /bkt/k HTTP/1.1\r\nHost: 127.0.0.1:1\r\nExpect: 100-continue\r\n"
              b"Content-Length: 4\r\n\r\n")
    with FaultProxy(recorder) as proxy:
        assert _exchange(proxy.url, chunked).endswith(BODY)
        answer = _exchange(proxy.url, expect + b"\xff\x00\r\n")
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert _Recorder.received[0] == chunked  # head, chunk extensions, trailers: all as sent
    # The one change: the proxy answered `Expect: 100-continue` itself (SigV4 never signs it).
    assert _Recorder.received[1] == expect.replace(b"Expect: 100-continue\r\n", b"") + b"\xff\x00\r\n"
    assert [h.status for h in proxy.hits] == [200, 200]


def test_proxy_stops_by_itself(recorder: str) -> None:
    proxy = FaultProxy(recorder, lifetime=0.2)
    proxy.start()
    proxy.stopped.wait(5)
    assert proxy.stopped.is_set()
    with pytest.raises(OSError):
        _exchange(proxy.url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


# ------------------------------------------------- uploads, end to end at the real defaults


def test_defaults_are_what_these_tests_assume() -> None:
    assert PART_SIZE == MULTIPART_THRESHOLD == 64 * MiB and BIG >= 2 * PART_SIZE
    assert RETRIES["max_attempts"] == MAX_ATTEMPTS


def test_push_never_moves_a_ref_before_its_object_and_retries_transient_part_faults(
        tmp_path: Path, remote: Path, s3: S3, proxy: FaultProxy) -> None:
    """One 130 MiB file, three parts. First push: part 2 keeps failing. Second push:
    each part meets one transient fault (500, a reset 8 MiB into the part, 503 SlowDown)."""
    a, oid, before = base_then_big(tmp_path, remote)
    rule = proxy.add(Status(500), method="PUT", target=PART.format(2), times=None)

    push = git(a, "push", "origin", "main", check=False)  # the pre-push hook uploads

    assert push.returncode != 0
    assert "upload(s) failed" in push.stderr and "data/big.bin" in push.stderr
    # Bounded: botocore's `max_attempts` counts retries; the first try comes on top.
    assert rule.fired == MAX_ATTEMPTS + 1
    assert remote_head(remote) == before  # the ref did not move
    assert s3_sha256(s3, s3.public_bucket, key_of(oid)) is None  # nothing under the final key
    assert open_uploads(s3, s3.public_bucket) == []  # the multipart upload was aborted
    assert git(a, "status", "--porcelain").stdout == ""

    proxy.clear()
    proxy.add(Status(500), **UPLOAD_PART)  # the first part request to arrive
    proxy.add(Reset("request", after=8 * MiB), method="PUT", target=PART.format(2))
    proxy.add(Status(503, "SlowDown"), method="PUT", target=PART.format(3))

    git(a, "push", "-q", "origin", "main")

    assert sorted(h.fault or "" for h in proxy.faulted()) == [
        "reset request after 8388608 bytes", "status 500 InternalError", "status 503 SlowDown"]
    assert remote_head(remote) == git(a, "rev-parse", "HEAD").stdout.strip()
    assert s3_sha256(s3, s3.public_bucket, key_of(oid)) == oid  # byte-identical
    assert open_uploads(s3, s3.public_bucket) == []


# ------------------------------------------------ downloads, end to end at the real defaults


@dataclass(frozen=True)
class Published:
    """A bare remote whose main adds data/big.bin on top of a small commit, and the S3
    buckets that hold its objects. Built once per module: the tests only read it."""

    remote: Path
    s3: S3
    oid: Sha256


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Published:
    from conftest import BIN
    from s3server import isolated_env  # (scripts/ is on sys.path once s3_endpoint runs)

    root = tmp_path_factory.mktemp("published")
    s3_endpoint = s3_server.url
    s3 = S3(s3_endpoint, f"pub-faults-{os.getpid()}", f"priv-faults-{os.getpid()}")
    client = s3.client()
    client.create_bucket(Bucket=s3.public_bucket)
    s3_server.publish(client, s3.public_bucket)
    client.create_bucket(Bucket=s3.private_bucket)
    # This fixture outlives the per-test pinned environment: pin git and AWS explicitly.
    env = isolated_env(root / "home", "Publisher", BIN)
    env.update(AWS_ACCESS_KEY_ID=S3_KEYS[0], AWS_SECRET_ACCESS_KEY=S3_KEYS[1],
               EOSVC_ENDPOINT_URL=s3_endpoint,  # straight to moto: this upload is not under test
               EOSVC_PUBLIC_BUCKET=s3.public_bucket, EOSVC_PRIVATE_BUCKET=s3.private_bucket,
               EOSVC_CHUNK_MIN="0", EOSVC_PACK_MIN="0")

    def run(cwd: Path, *args: str) -> None:
        subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)

    remote, a = root / "remote.git", root / "a"
    run(root, "git", "init", "--bare", "-q", str(remote))
    a.mkdir()
    run(a, "git", "init", "-q")
    run(a, "git", "remote", "add", "origin", str(remote))
    run(a, "git-eosvc", "init", "--repo", "proj")
    write(a, "data/small.txt", "small\n")
    for message in ("base", "big"):
        if message == "big":
            oid = sparse_file(a / "data/big.bin", BIG, seed=3)
        run(a, "git-eosvc", "add")
        run(a, "git", "add", "-A")
        run(a, "git", "commit", "-q", "-m", message)
    run(a, "git", "push", "-q", "-u", "origin", "main")
    assert s3_sha256(s3, s3.public_bucket, key_of(oid)) == oid
    return Published(remote, s3, oid)


@pytest.fixture
def pulling(published: Published, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> Published:
    """This test's clones read `published` through the proxy."""
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", published.s3.public_bucket)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", published.s3.private_bucket)
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
    return published


def behind(tmp_path: Path, published: Published, name: str = "b") -> Path:
    """A clone one commit behind the remote, hooks installed: its `git pull` brings
    data/big.bin (three ranged GETs at the real defaults)."""
    # setup, not a stand-in for a hook: the clone is put one behind before its one-time
    # install, so data/big.bin was never downloaded here (installing first would cache it)
    b = clone(tmp_path, published.remote, name)
    git(b, "reset", "-q", "--hard", "HEAD~1")
    eosvc(b, "install")
    assert (b / "data/small.txt").exists() and not (b / "data/big.bin").exists()
    return b


def ranged(start: int) -> Selector:
    """Selects the ranged GETs whose range starts at byte `start`."""
    return {"method": "GET", "headers": {"range": rf"^bytes={start}-\d+$"}}


def test_pull_retries_503_reset_and_truncated_ranges(tmp_path: Path, pulling: Published,
                                                    proxy: FaultProxy) -> None:
    oid = pulling.oid
    b = behind(tmp_path, pulling)
    proxy.add(Status(503, "SlowDown"), **ranged(0))
    proxy.add(Reset("response", after=5 * MiB), **ranged(PART_SIZE))
    proxy.add(Truncate(keep=1 * MiB), **ranged(2 * PART_SIZE))

    pull = git(b, "pull", "-q")  # the post-merge hook downloads and materialises

    assert sorted(h.fault or "" for h in proxy.faulted()) == [
        "reset response after 5242880 bytes", "status 503 SlowDown", "truncate response to 1048576 bytes"]
    assert "corrupt" not in pull.stderr and "failed" not in pull.stderr
    assert sorted(p.name for p in (b / "data").iterdir()) == ["big.bin", "small.txt"]
    assert hash_file(b / "data/big.bin")[0] == oid
    store_is_clean(b, {oid})


@pytest.mark.parametrize("fault", [Flip(offset=12_345), Reset("response", after=3 * MiB)],
                         ids=["flipped-byte", "reset-every-time"])
def test_pull_with_a_bad_range_stores_and_materialises_nothing(
        tmp_path: Path, pulling: Published, proxy: FaultProxy, fault: Flip | Reset) -> None:
    """A range that arrives corrupt (caught by sha256) or never arrives (retried, bounded):
    the pull completes as git's, the data fails cleanly, and a later checkout recovers."""
    oid = pulling.oid
    b = behind(tmp_path, pulling)
    rule = proxy.add(fault, **ranged(PART_SIZE), times=None)

    pull = git(b, "pull")  # hooks never fail git; they say what went wrong and what to run

    assert {h.fault for h in proxy.faulted()} == {fault.name}
    if isinstance(fault, Reset):  # the range was retried (and, the pull being over, stopped)
        assert rule.fired >= STREAM_ATTEMPTS
    assert "data/big.bin" in pull.stderr and "git eosvc checkout" in pull.stderr
    if isinstance(fault, Flip):
        assert "corrupt" in pull.stderr
    # Never wrong bytes in the work tree: no big.bin, no partial or temp file beside it.
    assert sorted(p.name for p in (b / "data").iterdir()) == ["small.txt"]
    assert (b / "data/small.txt").read_text() == "small\n"
    store_is_clean(b, set())  # no wrong object, no temp file

    if isinstance(fault, Flip):  # (one recovery is enough to prove it; each costs 130 MiB)
        proxy.clear()
        eosvc(b, "checkout")  # the fault has passed: the next attempt brings the right bytes
        assert hash_file(b / "data/big.bin")[0] == oid
        store_is_clean(b, {oid})


# ------------------------------------------------------- Remote, with smaller parts and ranges


SMALL_PART = 5 * MiB  # S3's (and moto's) smallest part


def small_remote(s3: S3, endpoint: str) -> Remote:
    settings = Settings(repo="proj", public_bucket=s3.public_bucket, private_bucket=s3.private_bucket,
                        endpoint=endpoint, jobs=4, chunk_min=0, pack_min=0)
    return Remote(settings, KEYS, part_size=SMALL_PART, multipart_threshold=SMALL_PART)


def test_lost_complete_answer_never_leaves_a_wrong_object(tmp_path: Path, s3: S3,
                                                          proxy: FaultProxy) -> None:
    """CompleteMultipartUpload reaches the server but its answer is lost: whatever the
    client concludes, the key holds the right bytes or nothing, and a retry succeeds."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, 3 * SMALL_PART + 7, seed=4)
    item = Upload(s3.private_bucket, oid, src.stat().st_size, src)
    proxy.add(Status(500, forward=True), **COMPLETE_MULTIPART)
    with small_remote(s3, proxy.url) as r:
        report = r.upload([item])
        assert [h.fault for h in proxy.faulted()] == ["status 500 InternalError (after forwarding)"]
        assert s3_sha256(s3, s3.private_bucket, key_of(oid)) in (oid, None)
        if not report.ok:
            assert r.missing(s3.private_bucket, [oid]) in (set(), {oid})
            assert r.upload([item]).ok
        assert r.missing(s3.private_bucket, [oid]) == set()
    assert s3_sha256(s3, s3.private_bucket, key_of(oid)) == oid


def test_every_range_fault_at_once_small_parts(tmp_path: Path, s3: S3, proxy: FaultProxy) -> None:
    """Six ranges, each with a different fault on its first try: retried, verified, stored."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, 6 * SMALL_PART - 3, seed=5)
    size = src.stat().st_size
    with small_remote(s3, proxy.url) as r:
        assert r.upload([Upload(s3.private_bucket, oid, size, src)]).ok
        proxy.clear()
        proxy.add(Status(500), **ranged(0))
        proxy.add(Status(503, "SlowDown"), **ranged(SMALL_PART))
        proxy.add(Reset("request"), **ranged(2 * SMALL_PART))  # before any response byte
        proxy.add(Reset("response", after=0), **ranged(3 * SMALL_PART))  # after the head
        proxy.add(Reset("response", after=MiB + 1), **ranged(4 * SMALL_PART))
        proxy.add(Truncate(keep=SMALL_PART // 2), **ranged(5 * SMALL_PART))
        store = Store(tmp_path / "store")
        report = r.download([Download(s3.private_bucket, oid, size)], store)
    assert report.ok, report.failed
    assert len(proxy.faulted()) == 6
    assert hash_file(store.object_path(oid))[0] == oid
    assert not any(store.tmp.glob("*"))


def test_lost_part_and_create_answers_are_retried(tmp_path: Path, s3: S3, proxy: FaultProxy) -> None:
    """The server acted but the client never heard: CreateMultipartUpload (a new upload is
    started; the orphan is left to the bucket's lifecycle rule) and UploadPart (the part is
    sent again). The object is right."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, 2 * SMALL_PART + 1, seed=7)
    proxy.add(Status(500, forward=True), method="POST", target=r"\?uploads$")
    proxy.add(Status(500, forward=True), **UPLOAD_PART)
    proxy.add(Reset("reply"), **UPLOAD_PART, nth=2)
    with small_remote(s3, proxy.url) as r:
        assert r.upload([Upload(s3.private_bucket, oid, src.stat().st_size, src)]).ok
    assert len(proxy.faulted()) == 3
    assert s3_sha256(s3, s3.private_bucket, key_of(oid)) == oid


def test_objects_below_the_threshold_survive_the_same_faults(tmp_path: Path, s3: S3,
                                                             proxy: FaultProxy) -> None:
    """One PUT and one streamed GET per object: 500, a reset mid-body and a truncation on
    the first tries are retried; the bytes on S3 and in the store are right."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, SMALL_PART - 1, seed=8)
    size = src.stat().st_size
    proxy.add(Status(500), method="PUT")
    proxy.add(Reset("request", after=MiB), method="PUT", nth=2)
    proxy.add(Truncate(keep=MiB), method="GET", target="/objects/")  # (not the pack listing)
    proxy.add(Reset("response", after=2 * MiB), method="GET", target="/objects/", nth=2)
    with small_remote(s3, proxy.url) as r:
        assert r.upload([Upload(s3.private_bucket, oid, size, src)]).ok
        assert s3_sha256(s3, s3.private_bucket, key_of(oid)) == oid
        store = Store(tmp_path / "store")
        assert r.download([Download(s3.private_bucket, oid, size)], store).ok
    assert len(proxy.faulted()) == 4
    assert hash_file(store.object_path(oid))[0] == oid
    assert not any(store.tmp.glob("*"))


@pytest.mark.parametrize("size", [2 * SMALL_PART + 1, SMALL_PART - 1], ids=["multipart", "whole"])
def test_a_byte_flipped_on_the_way_up_is_refused_and_stores_nothing(
        tmp_path: Path, s3: S3, proxy: FaultProxy, size: int) -> None:
    """The checksum the client sends is the file's, not the bytes on the wire: S3 refuses
    the flipped body (BadDigest), the upload fails and is aborted, nothing is under the key."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, size, seed=9)
    item = Upload(s3.private_bucket, oid, size, src)
    proxy.add(Flip(offset=1000, stage="request"), method="PUT", target=PART.format(1) if size > SMALL_PART else "")
    with small_remote(s3, proxy.url) as r:
        report = r.upload([item])
        assert not report.ok and "BadDigest" in report.failed[oid]
        assert [(h.status, h.fault) for h in proxy.faulted()] == [(400, "flip request byte 1000")]
        assert s3_sha256(s3, s3.private_bucket, key_of(oid)) is None
        assert open_uploads(s3, s3.private_bucket) == []
        assert r.upload([item]).ok  # a later push succeeds
    assert s3_sha256(s3, s3.private_bucket, key_of(oid)) == oid


@pytest.mark.parametrize("size", [2 * SMALL_PART + 1, SMALL_PART - 1], ids=["ranged", "whole"])
@pytest.mark.parametrize("fault", [Flip(offset=SMALL_PART - 2), Truncate(keep=10)],
                         ids=["flip", "truncate-every-time"])
def test_a_bad_body_stores_nothing_small_parts(tmp_path: Path, s3: S3, proxy: FaultProxy,
                                               fault: Flip | Truncate, size: int) -> None:
    """Ranged or whole, a body with a flipped byte or one that is always cut short: the
    download fails, the store holds neither the object nor a temp file."""
    src = tmp_path / "f.bin"
    oid = sparse_file(src, size, seed=6)
    with small_remote(s3, proxy.url) as r:
        assert r.upload([Upload(s3.private_bucket, oid, size, src)]).ok
        proxy.add(fault, method="GET", times=None)
        store = Store(tmp_path / "store")
        report = r.download([Download(s3.private_bucket, oid, size)], store)
    assert not report.ok and oid in report.failed
    assert proxy.faulted()
    assert not store.has(oid) and not any(store.tmp.glob("*"))

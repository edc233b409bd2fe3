"""Packs and chunks end to end (docs/storage.md): real git, real hooks, a real S3 server.

Every test here pushes with plain `git push` (the pre-push hook uploads) and reads with a
fresh clone and `git eosvc install` (once per clone, as the README says), then plain
`git checkout` (the post-checkout hook downloads): no git-eosvc command stands in for a hook.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import new_repo, snapshot, write

from git_eosvc.packfmt import decode_index, decode_recipe, index_name

MiB = 1 << 20


def packed(s3: S3, bucket: str) -> dict[str, list]:  # type: ignore[type-arg]
    """The indexes in `bucket`, decoded (name -> slots)."""
    client = s3.client()
    out = {}
    for key in s3.keys(bucket):
        name = index_name(key, "proj")
        if name:
            out[name] = decode_index(name, client.get_object(Bucket=bucket, Key=key)["Body"].read())
    return out


def loose(s3: S3, bucket: str) -> list[str]:
    return [k for k in s3.keys(bucket) if k.startswith("proj/objects/")]


def many(n: int, seed: str = "") -> dict[str, bytes]:
    return {f"data/d{i // 50}/f{i}.bin": f"{seed}{i}".encode() * 40 for i in range(n)}


def csv_bytes(rows: int, start: int = 0) -> bytes:
    return b"".join(b"%d,%d,row %d of a table that grows\n" % (i, i * 7, i) for i in range(start, start + rows))


def fresh(tmp_path: Path, remote: Path, name: str, *args: str) -> tuple[Path, str]:
    """A new clone with `git eosvc install` done; returns it and install's stderr."""
    git(tmp_path, "clone", "-q", *args, str(remote), name)
    return tmp_path / name, eosvc(tmp_path / name, "install", check=False).stderr


def committed(tmp_path: Path, remote: Path, files: dict[str, bytes], access: str | None = None) -> Path:
    """A new clone with `files` recorded and committed (`access`: its access.json), not pushed."""
    a = new_repo(tmp_path, remote)
    if access is not None:
        (a / "access.json").write_text(access)
    for rel, data in files.items():
        write(a, rel, data)
    eosvc(a, "add")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "data")
    return a


def push_files(tmp_path: Path, remote: Path, files: dict[str, bytes], access: str | None = None) -> Path:
    a = committed(tmp_path, remote, files, access)
    git(a, "push", "-q", "-u", "origin", "main")
    return a


def test_many_small_files_travel_in_one_pack(s3: S3, remote: Path, tmp_path: Path) -> None:
    files = many(100)
    push_files(tmp_path, remote, files)
    assert loose(s3, s3.public_bucket) == []  # nothing one-object-per-key
    indexes = packed(s3, s3.public_bucket)
    assert len(indexes) == 1
    assert {s.oid for slots in indexes.values() for s in slots} == {hashlib.sha256(d).hexdigest() for d in files.values()}
    b, _ = fresh(tmp_path, remote, "b")  # post-checkout hook downloads through ranged reads
    assert snapshot(b, "data") == files


def test_few_files_stay_loose(s3: S3, remote: Path, tmp_path: Path) -> None:
    push_files(tmp_path, remote, many(3))
    assert len(loose(s3, s3.public_bucket)) == 3
    assert packed(s3, s3.public_bucket) == {}


def test_anonymous_reader_finds_packs_through_catalogs(s3: S3, remote: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    files = many(40)
    a = push_files(tmp_path, remote, files)
    write(a, "data/late.bin", b"late" * 100)  # a second push: one loose object, old ones packed
    eosvc(a, "add")
    git(a, "commit", "-qam", "one more")
    git(a, "push", "-q")
    assert any(k.startswith("proj/catalogs/") for k in s3.keys(s3.public_bucket))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    b, _ = fresh(tmp_path, remote, "b")  # no credentials: the bucket cannot be listed
    assert snapshot(b, "data") == {**files, "data/late.bin": b"late" * 100}
    assert "not uploaded" not in eosvc(b, "status", "--remote").stdout
    git(b, "checkout", "-q", "HEAD~1")  # an older commit: its manifest's catalog
    assert snapshot(b, "data") == files


def test_private_objects_never_enter_a_public_pack(s3: S3, remote: Path, tmp_path: Path) -> None:
    files = {**many(40), **{f"output/o{i}.bin": b"secret %d" % i * 50 for i in range(40)}}
    push_files(tmp_path, remote, files, access='{"data": "public", "output": "private"}')
    public = {s.oid for slots in packed(s3, s3.public_bucket).values() for s in slots}
    private = {s.oid for slots in packed(s3, s3.private_bucket).values() for s in slots}
    secret = {hashlib.sha256(d).hexdigest() for r, d in files.items() if r.startswith("output/")}
    assert secret <= private and not secret & public
    assert not any(k.startswith("proj/catalogs/") for k in s3.keys(s3.private_bucket))


def test_appending_to_a_large_csv_uploads_about_the_appended_bytes(s3: S3, remote: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(1 * MiB))
    first = csv_bytes(120_000)  # ~5 MiB
    a = push_files(tmp_path, remote, {"data/table.csv": first})
    before = sum(o["Size"] for o in s3.client().list_objects_v2(Bucket=s3.public_bucket)["Contents"])
    grown = first + csv_bytes(1_200, start=120_000)  # 1 % more rows
    write(a, "data/table.csv", grown)
    eosvc(a, "add")
    git(a, "commit", "-qam", "more rows")
    git(a, "push", "-q")
    after = sum(o["Size"] for o in s3.client().list_objects_v2(Bucket=s3.public_bucket)["Contents"])
    assert after - before < 0.05 * len(grown), (after - before, len(grown))
    b, _ = fresh(tmp_path, remote, "b")
    assert (b / "data/table.csv").read_bytes() == grown
    git(b, "checkout", "-q", "HEAD~1")
    assert (b / "data/table.csv").read_bytes() == first


def _pack_bytes_read(hits: list) -> int:  # type: ignore[type-arg]
    """The bytes the ranged GETs of packs among `hits` asked for."""
    total = 0
    for h in hits:
        if h.method == "GET" and h.target.split("?")[0].endswith(".pack") and h.range:
            first, last = h.range.removeprefix("bytes=").split("-")
            total += int(last) - int(first) + 1
    return total


@pytest.mark.parametrize("damaged", [False, True], ids=["intact", "old-version-damaged"])
def test_pulling_appended_rows_copies_the_shared_chunks_from_the_store(
        s3: S3, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damaged: bool) -> None:
    """A clone that holds the old version pulls the new one with plain `git pull`: the
    chunks they share come from its store, only about the appended bytes from the packs.
    A damaged old copy is read around (its bad chunk fetched), never copied in."""
    from faultproxy import FaultProxy

    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    first = csv_bytes(120_000)  # ~5 MiB
    a = push_files(tmp_path, remote, {"data/table.csv": first})
    b, _ = fresh(tmp_path, remote, "b")
    assert (b / "data/table.csv").read_bytes() == first
    if damaged:  # a byte flipped in the store's copy (a new inode: the work tree is untouched)
        old = next((b / ".git/eosvc/objects/sha256").rglob(hashlib.sha256(first).hexdigest()))
        spoiled = bytearray(first)
        spoiled[len(first) // 2] ^= 0xFF
        (old.parent / "spoiled").write_bytes(spoiled)
        os.replace(old.parent / "spoiled", old)
    grown = first + csv_bytes(1_200, start=120_000)  # 1 % more rows
    write(a, "data/table.csv", grown)
    eosvc(a, "add")
    git(a, "commit", "-qam", "more rows")
    git(a, "push", "-q")
    with FaultProxy(s3.endpoint, timeout=30, lifetime=300) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        git(b, "pull", "-q")
        assert (b / "data/table.csv").read_bytes() == grown
        read = _pack_bytes_read(proxy.hits)
        assert read < (0.2 if damaged else 0.05) * len(grown), (read, len(grown))
        proxy.clear()
        c, _ = fresh(tmp_path, remote, "c")  # holds no old version: reads it all
        assert (c / "data/table.csv").read_bytes() == grown
        assert _pack_bytes_read(proxy.hits) >= len(grown)


def _corrupt(s3: S3, bucket: str, key: str, offset: int) -> None:
    client = s3.client()
    data = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    data[offset] ^= 0xFF
    client.put_object(Bucket=bucket, Key=key, Body=bytes(data))


def test_a_corrupted_pack_range_is_never_materialised(s3: S3, remote: Path, tmp_path: Path) -> None:
    files = many(40)
    push_files(tmp_path, remote, files)
    (name, slots), = packed(s3, s3.public_bucket).items()
    victim = slots[5]
    _corrupt(s3, s3.public_bucket, f"proj/packs/{name}.pack", victim.offset + 3)
    b, _ = fresh(tmp_path, remote, "b")  # the hook reports, git's clone itself succeeds
    got = snapshot(b, "data")
    bad = [r for r, d in files.items() if hashlib.sha256(d).hexdigest() == victim.oid]
    assert bad and not any(r in got for r in bad)  # never written, not even partly
    assert {r: d for r, d in got.items()} == {r: d for r, d in files.items() if r not in bad}
    proc = eosvc(b, "checkout", check=False)
    assert proc.returncode != 0 and "corrupt" in proc.stderr


def test_a_corrupted_chunk_is_never_materialised(s3: S3, remote: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    big = os.urandom(3 * MiB)
    push_files(tmp_path, remote, {"data/big.bin": big})
    chunk_pack = next(n for n, slots in packed(s3, s3.public_bucket).items() if slots[0].kind == "c")
    _corrupt(s3, s3.public_bucket, f"proj/packs/{chunk_pack}.pack", 12345)
    b, _ = fresh(tmp_path, remote, "b")
    assert not (b / "data/big.bin").exists()
    proc = eosvc(b, "checkout", check=False)
    assert proc.returncode != 0 and "corrupt" in proc.stderr
    assert not (b / "data/big.bin").exists()


def test_recipe_rebuilds_the_file_and_names_its_packs(s3: S3, remote: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    big = os.urandom(2 * MiB) * 2  # a repeated half: its chunks are stored once
    push_files(tmp_path, remote, {"data/big.bin": big})
    indexes = packed(s3, s3.public_bucket)
    client = s3.client()
    recipe_slot = next(s for slots in indexes.values() for s in slots if s.kind == "f")
    text = client.get_object(Bucket=s3.public_bucket, Key=f"proj/packs/{recipe_slot.pack}.pack",
                             Range=f"bytes={recipe_slot.offset}-{recipe_slot.offset + recipe_slot.length - 1}")["Body"].read()
    chunks, packs = decode_recipe(recipe_slot.oid, len(big), text)
    stored = [s for slots in indexes.values() for s in slots if s.kind == "c"]
    assert len(stored) < len(chunks)  # deduplicated inside the file
    assert set(packs) <= set(indexes)
    # rebuild by hand, as docs/storage.md tells someone with only `aws s3`
    where = {s.oid: s for s in stored}
    rebuilt = b"".join(client.get_object(
        Bucket=s3.public_bucket, Key=f"proj/packs/{where[c.oid].pack}.pack",
        Range=f"bytes={where[c.oid].offset}-{where[c.oid].offset + where[c.oid].length - 1}")["Body"].read()
        for c in chunks)
    assert rebuilt == big


def test_concurrent_pushes_from_two_clones_lose_nothing(s3: S3, remote: Path, tmp_path: Path) -> None:
    a = push_files(tmp_path, remote, {"data/seed.txt": b"seed"})
    b, _ = fresh(tmp_path, remote, "b")
    for i, (work, branch) in enumerate(((a, "one"), (b, "two"))):
        git(work, "checkout", "-q", "-b", branch)
        for rel, data in many(60, seed=branch).items():
            write(work, rel, data)
        eosvc(work, "add")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", branch)
    procs = [subprocess.Popen(["git", "push", "-q", "origin", branch], cwd=work, stderr=subprocess.PIPE)
             for work, branch in ((a, "one"), (b, "two"))]
    assert all(p.wait(120) == 0 for p in procs)
    assert len(packed(s3, s3.public_bucket)) == 2
    for branch in ("one", "two"):
        c, _ = fresh(tmp_path, remote, f"c-{branch}", "-b", branch)
        assert snapshot(c, "data") == {"data/seed.txt": b"seed", **many(60, seed=branch)}


def test_kill_9_mid_push_loses_nothing(s3: S3, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    files = {**many(60), "data/big.bin": os.urandom(24 * MiB)}
    a = committed(tmp_path, remote, files)
    push = subprocess.Popen(["git", "push", "-q", "-u", "origin", "main"], cwd=a, start_new_session=True,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any("/packs/" in k for k in s3.keys(s3.public_bucket)) and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(push.pid, signal.SIGKILL)  # mid-push: some packs written, git not updated
    push.wait()
    assert snapshot(a, "data") == files  # the local bytes are untouched
    git(a, "push", "-q", "-u", "origin", "main")  # a second push completes the job
    b, _ = fresh(tmp_path, remote, "b")
    assert snapshot(b, "data") == files


def test_status_remote_sees_packed_objects(s3: S3, remote: Path, tmp_path: Path) -> None:
    a = push_files(tmp_path, remote, many(40))
    assert "not uploaded" not in eosvc(a, "status", "--remote").stdout
    write(a, "data/new.bin", b"new")
    eosvc(a, "add")
    out = eosvc(a, "status", "--remote").stdout  # the check can fail: a file not pushed is listed
    assert "not uploaded" in out and "data/new.bin" in out


def test_directory_remote_packs_too(tmp_path: Path, remote: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "dirremote"
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", f"file://{store}")
    files = many(40)
    a = new_repo(tmp_path, remote, "a")
    eosvc(a, "init", "--create-buckets", check=False)
    for rel, data in files.items():
        write(a, rel, data)
    eosvc(a, "add")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "data")
    git(a, "push", "-q", "-u", "origin", "main")
    assert list(store.rglob("*.idx")) and not list(store.rglob("objects/sha256/*/*/*"))
    b, _ = fresh(tmp_path, remote, "b")
    assert snapshot(b, "data") == files



def test_a_pack_spoiled_on_the_way_up_is_refused_and_lands_on_the_next_push(
        s3: S3, remote: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pack bodies travel unsigned (UNSIGNED-PAYLOAD: no second sha256 of every byte) with
    a CRC32 the server checks, as S3 does (the proxy checks it here; moto does not): a byte
    flipped on the way fails the push by name and keeps the branch off the remote; the next
    push lands byte-identical bytes."""
    from faultproxy import FaultProxy, Flip

    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    files = {**many(40), "data/big.bin": os.urandom(3 * MiB)}
    with FaultProxy(s3.endpoint, timeout=30, lifetime=300, verify_checksums=True) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        proxy.add(Flip(offset=1000, stage="request"), method="PUT", target=r"\.pack$", times=None)
        a = committed(tmp_path, remote, files)
        proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
        assert proc.returncode != 0 and "BadDigest" in proc.stderr, proc.stderr
        assert git(a, "ls-remote", "origin", "main").stdout == ""
        puts = proxy.seen("PUT", r"\.pack$")
        assert puts and all(h.status == 400 and h.fault for h in puts)
        assert all(h.header("x-amz-content-sha256") == "UNSIGNED-PAYLOAD" and h.header("x-amz-checksum-crc32")
                   for h in puts)
        assert not [k for k in s3.keys(s3.public_bucket) if k.endswith(".pack")]  # none reached the server
        proxy.clear()
        git(a, "push", "-q", "-u", "origin", "main")
        assert [h.status for h in proxy.seen("PUT", r"\.pack$")] == [200] * len(proxy.seen("PUT", r"\.pack$"))
        b, _ = fresh(tmp_path, remote, "b")
        assert snapshot(b, "data") == files


def test_pack_transfers_retry_faults_and_store_nothing_wrong(s3: S3, remote: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the fault proxy: a 500 on a pack's PUT, then a 503, a reset mid-body and a
    truncated body on its ranged GETs are retried; what lands is byte-identical. A byte
    flipped on every try fails cleanly, storing and writing nothing."""
    from faultproxy import FaultProxy, Flip, Reset, Status, Truncate

    monkeypatch.setenv("EOSVC_CHUNK_MIN", str(MiB))
    files = {**many(40), "data/big.bin": os.urandom(3 * MiB)}
    with FaultProxy(s3.endpoint, timeout=30, lifetime=300) as proxy:
        monkeypatch.setenv("EOSVC_ENDPOINT_URL", proxy.url)
        proxy.add(Status(500), method="PUT", target=r"\.pack$")
        push_files(tmp_path, remote, files)
        proxy.add(Status(503, "SlowDown"), method="GET", target=r"\.pack$")
        proxy.add(Reset("response", after=1000), method="GET", target=r"\.pack$", nth=2)
        proxy.add(Truncate(keep=500), method="GET", target=r"\.pack$", nth=3)
        b, _ = fresh(tmp_path, remote, "b")
        assert snapshot(b, "data") == files
        assert len(proxy.faulted()) == 4
        proxy.add(Flip(offset=100), method="GET", target=r"\.pack$", times=None)
        c, err = fresh(tmp_path, remote, "c")
        got = snapshot(c, "data")
        spoiled = [r for r in files if r not in got]
        # every read has a byte flipped: the small object at that offset, and the large
        # file (its recipe, or a chunk), are refused by name; the others are unharmed
        assert "data/big.bin" in spoiled and len(spoiled) == 2, err
        assert all(f"{r}: " in err for r in spoiled) and err.count("corrupt") == 2, err
        assert all(files[r] == d for r, d in got.items())
        stored = [p for p in (c / ".git/eosvc/objects/sha256").rglob("*") if p.is_file()]
        assert all(hashlib.sha256(p.read_bytes()).hexdigest() == p.name for p in stored)

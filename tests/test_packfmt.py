"""The packed layout's formats and rules (git_eosvc/packfmt.py): pure, no I/O."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from git_eosvc.chunker import chunks_of
from git_eosvc.config import resolve
from git_eosvc.errors import ConfigError, IntegrityError
from git_eosvc.hashing import Sha256
from git_eosvc.packfmt import (Chunk, Slot, coalesce, cut_packs, decode_catalog, decode_index, decode_recipe,
                               encode_catalog, encode_index, encode_recipe, index_name)

A, B, C = (Sha256(hashlib.sha256(x).hexdigest()) for x in (b"a", b"b", b"c"))


def test_index_round_trip_and_name() -> None:
    name, text = encode_index([("o", A, 10), ("c", B, 0), ("f", C, 7)])
    assert name == hashlib.sha256(text).hexdigest()
    assert decode_index(name, text) == [Slot("o", A, name, 0, 10), Slot("c", B, name, 10, 0),
                                        Slot("f", C, name, 10, 7)]


@pytest.mark.parametrize("edit", [
    lambda t: t.replace(b" 0 10", b" 0 11"),  # a length that does not add up
    lambda t: t.replace(b"o ", b"x "),  # an unknown kind
    lambda t: t.replace(b" 10 0", b" 010 0"),  # a second encoding of the same number
    lambda t: t.replace(b"eosvc-pack 1", b"eosvc-pack 2"),
    lambda t: t + b"\n",
])
def test_index_has_one_valid_encoding(edit) -> None:  # type: ignore[no-untyped-def]
    name, text = encode_index([("o", A, 10), ("c", B, 0)])
    changed = edit(text)
    with pytest.raises(IntegrityError):
        decode_index(name, changed)  # the name no longer matches
    with pytest.raises(IntegrityError):
        decode_index(hashlib.sha256(changed).hexdigest(), changed)  # nor does the format


def test_recipe_round_trip_and_damage() -> None:
    chunks = [Chunk(A, 0, 5), Chunk(B, 5, 3), Chunk(A, 8, 5)]
    text = encode_recipe(13, chunks, [B, A, A])
    assert decode_recipe(C, 13, text) == (chunks, sorted({A, B}))
    for bad in (text.replace(b"13", b"14", 1), text[:-2] + b"\n", text.replace(b" 3\n", b" 0\n"),
                text.replace(b"p ", b"q ", 1)):
        with pytest.raises(IntegrityError):
            decode_recipe(C, 13, bad)


def test_catalog_round_trip_and_damage_lists_nothing() -> None:
    assert decode_catalog(encode_catalog([B, A, A])) == sorted([A, B])
    assert decode_catalog(b"garbage\n" + A.encode()) == []
    assert decode_catalog(b"\xff") == []


def test_index_name_of_keys() -> None:
    assert index_name(f"r/packs/{A}.idx", "r") == A
    assert index_name(f"r/packs/{A}.pack", "r") is None
    assert index_name(f"other/packs/{A}.idx", "r") is None
    assert index_name("r/packs/../x.idx", "r") is None


@given(st.lists(st.integers(min_value=0, max_value=100), max_size=60), st.integers(min_value=1, max_value=150))
def test_cut_packs_covers_everything_in_order(sizes: list[int], target: int) -> None:
    runs = cut_packs(sizes, target)
    assert [i for r in runs for i in r] == list(range(len(sizes)))
    for r in runs:  # a pack passes the target only by its last entry
        assert sum(sizes[i] for i in r[:-1]) <= target


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 500), st.integers(0, 50)), max_size=40))
def test_coalesce_reads_every_slot_inside_its_range(spec: list[tuple[int, int, int]]) -> None:
    slots = [Slot("o", A, f"p{p}", off, n) for p, off, n in spec]
    reads = list(coalesce(slots, gap=20, limit=100))
    covered = [s for _, _, _, members in reads for s in members]
    assert sorted(set(covered), key=repr) == sorted(set(slots), key=repr)
    for pack, start, length, members in reads:
        assert all(m.pack == pack and start <= m.offset and m.offset + m.length <= start + length for m in members)


def test_chunks_follow_content(tmp_path: Path) -> None:
    """An append moves only the last chunk: the rest keep their boundaries and hashes."""
    data = os.urandom(3 << 20)
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(data)
    two.write_bytes(data + os.urandom(30_000))
    a, b = chunks_of(one), chunks_of(two)
    assert b"".join(data[c.offset:c.offset + c.length] for c in a) == data
    assert all(hashlib.sha256(data[c.offset:c.offset + c.length]).hexdigest() == c.oid for c in a)
    assert a[:-1] == b[:len(a) - 1] and len(a) > 10
    assert all(16 * 1024 <= c.length <= 256 * 1024 for c in a[:-1])
    (tmp_path / "empty").write_bytes(b"")
    assert chunks_of(tmp_path / "empty") == []


@pytest.mark.parametrize("value", ["-1", "ten", "1.5"])
def test_pack_and_chunk_settings_are_checked(value: str) -> None:
    for key in ("eosvc.packmin", "eosvc.chunkmin"):
        with pytest.raises(ConfigError):
            resolve({}, {key: value}, {}, "proj")
    assert resolve({"EOSVC_PACK_MIN": "0", "EOSVC_CHUNK_MIN": "0"}, {}, {}, "proj").pack_min == 0


@pytest.mark.parametrize("object_format", ["sha1", "sha256"])
def test_catalog_names_are_what_git_hash_object_prints(tmp_path: Path, object_format: str) -> None:
    """A reader names a manifest's catalog by the blob id it computes itself: it must be
    the id real git gives that manifest, in sha1 and in sha256 repositories."""
    import subprocess

    from git_eosvc.gitproc import hash_object

    repo = tmp_path / object_format
    subprocess.run(["git", "init", "-q", f"--object-format={object_format}", str(repo)], check=True)
    data = b"# eosvc manifest v1\n" + b"x" * 1000 + b"\n"
    (repo / "m").write_bytes(data)
    real = subprocess.run(["git", "hash-object", "m"], cwd=repo, capture_output=True, text=True,
                          check=True).stdout.strip()
    assert hash_object(data, len(real)) == real


def test_a_directory_remote_refuses_keys_that_leave_its_bucket(tmp_path: Path) -> None:
    from git_eosvc.config import Settings
    from git_eosvc.dirremote import DirectoryBackend
    from git_eosvc.errors import TransferError

    root = tmp_path / "remote"
    (root / "pub").mkdir(parents=True)
    backend = DirectoryBackend(Settings(repo="proj", public_bucket="pub", private_bucket="priv"), root)
    for key in ("proj/../../x", "/etc/passwd", "proj//packs/a.idx", "proj/./a"):
        with pytest.raises(TransferError):
            backend.get_bytes("pub", key)
        with pytest.raises(TransferError):
            backend.put_bytes("pub", key, b"x")
    assert not (tmp_path / "x").exists()

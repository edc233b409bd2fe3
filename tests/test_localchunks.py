"""The chunks the local store already holds (git_eosvc/localchunks.py): which old version
a rebuild copies from, and that a copy is used only while its bytes hash right. End to
end (a real `git pull` that reads only the appended bytes) is tests/test_packs.py's."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from git_eosvc.cache import Store
from git_eosvc.chunker import chunks_of
from git_eosvc.hashing import Sha256
from git_eosvc.localchunks import Held, LocalChunks, read_held
from git_eosvc.packfmt import encode_recipe

MiB = 1 << 20
P1, P2, P3 = ("1" * 64, "2" * 64, "3" * 64)


def one(oid: Sha256, where: Held) -> bytes | None:
    """read_held of a single chunk."""
    (got, data), = read_held({oid: where})
    assert got == oid
    return data


def stored(store: Store, tmp_path: Path, data: bytes, name: str) -> tuple[Sha256, Path]:
    src = tmp_path / name
    src.write_bytes(data)
    return store.add_file(src), src


def test_a_rebuild_copies_from_the_old_version_that_shares_its_packs(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    old_bytes = os.urandom(2 * MiB)
    old, src = stored(store, tmp_path, old_bytes, "old")
    other, other_src = stored(store, tmp_path, os.urandom(MiB), "other")
    local = LocalChunks(tmp_path / "recipes")
    old_chunks = chunks_of(src)
    local.remember(old, encode_recipe(len(old_bytes), old_chunks, [P1, P2]))
    local.remember(other, encode_recipe(MiB, chunks_of(other_src), [P3]))
    new = old_bytes + os.urandom(MiB // 4)
    new_chunks = chunks_of_bytes(tmp_path, new)
    wanted = {c.oid for c in new_chunks}
    shared = wanted & {c.oid for c in old_chunks}
    assert shared and shared != wanted  # most of the file, not the appended end

    # found through a pack both recipes name, whichever process kept the recipe
    for finder in (local, LocalChunks(tmp_path / "recipes")):
        held = finder.find(store, [P2, "9" * 64], wanted)
        assert set(held) == shared
        for oid, where in held.items():
            assert where.source == store.object_path(old)
            assert one(oid, where) is not None
    assert local.find(store, ["9" * 64], wanted) == {}  # no pack in common: not looked into
    assert LocalChunks(None).find(store, [P1], wanted) == {}


def test_a_held_copy_is_used_only_while_it_hashes_right(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    data = os.urandom(MiB)
    oid, src = stored(store, tmp_path, data, "f")
    local = LocalChunks(tmp_path / "recipes")
    chunks = chunks_of(src)
    local.remember(oid, encode_recipe(len(data), chunks, [P1]))
    held = local.find(store, [P1], {c.oid for c in chunks})
    first = chunks[0]
    assert one(first.oid, held[first.oid]) == data[:first.length]
    path = store.object_path(oid)  # damaged in place
    spoiled = bytearray(data)
    spoiled[3] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(spoiled)
    assert one(first.oid, held[first.oid]) is None
    assert one(chunks[1].oid, held[chunks[1].oid]) == data[chunks[1].offset:chunks[1].offset + chunks[1].length]
    path.unlink()
    assert one(chunks[1].oid, held[chunks[1].oid]) is None
    assert LocalChunks(tmp_path / "recipes").find(store, [P1], {first.oid}) == {}  # not in the store


def test_a_damaged_kept_recipe_is_ignored(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    data = os.urandom(MiB)
    oid, src = stored(store, tmp_path, data, "f")
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    text = encode_recipe(len(data), chunks_of(src), [P1])
    (recipes / oid).write_bytes(text.replace(b"\n", b"\n\n", 3))
    (recipes / "not-a-hash").write_bytes(text)
    (recipes / hashlib.sha256(b"x").hexdigest()).write_bytes(b"eosvc-recipe 1 x\np " + P1.encode() + b"\n")
    assert LocalChunks(recipes).find(store, [P1], {c.oid for c in chunks_of(src)}) == {}


def chunks_of_bytes(tmp_path: Path, data: bytes) -> list:  # type: ignore[type-arg]
    path = tmp_path / "new"
    path.write_bytes(data)
    return chunks_of(path)

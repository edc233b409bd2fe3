"""Property-based fuzzing of the manifest codec (issue 9, item 9): one valid encoding for
every set of files, strict parsing that only ever fails with ManifestError, and a
collision rule (file/directory, case, Unicode form) checked against a naive oracle."""

from __future__ import annotations

import os
import unicodedata
from itertools import combinations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from git_eosvc.errors import ManifestError
from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import HEADER, MAX_SIZE, Entry, Manifest, decode, encode, encode_entry
from git_eosvc.paths import clashes

OIDS = [hash_bytes(b"one"), hash_bytes(b"two")]
FUZZ = settings(max_examples=200, deadline=None)

# Names built from awkward bytes: controls, quotes, backslashes, spaces, UTF-8, non-UTF-8,
# and letters that collide once case and Unicode form are ignored.
_awkward = st.binary(min_size=1, max_size=12)
_colliding = st.sampled_from(["a", "A", "b", "B", "\u00e9", "e\u0301", "\u00c9", "ss", "\u00df", "SS",
                              "\u212a", "k"]).map(os.fsencode)
_component = st.one_of(_awkward, _colliding).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..") and b.lower() != b".git")
_paths = st.lists(_component, min_size=1, max_size=3).map(lambda parts: os.fsdecode(b"data/" + b"/".join(parts)))
_sizes = st.one_of(st.integers(0, 2**40), st.sampled_from([0, 1, MAX_SIZE - 1, MAX_SIZE]))
_entries = st.lists(st.builds(Entry, _paths, st.sampled_from(OIDS), _sizes), max_size=12,
                    unique_by=lambda e: e.path)


def _fold(name: str) -> str:
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def naive_clashes(paths: list[str]) -> set[str]:
    """The rule of docs/manifest.md, pair by pair and name by name."""
    out: set[str] = set()
    for p, q in combinations(paths, 2):
        a, b = p.split("/"), q.split("/")
        for depth in range(1, min(len(a), len(b)) + 1):
            if [_fold(x) for x in a[:depth]] != [_fold(x) for x in b[:depth]]:
                break
            if a[:depth] != b[:depth] or (depth == len(a)) != (depth == len(b)):
                out |= {p, q}
                break
    return out


@FUZZ
@given(_entries)
def test_any_set_of_files_has_exactly_one_encoding(entries: list[Entry]) -> None:
    bad = naive_clashes([e.path for e in entries])
    assert set(clashes(e.path for e in entries)) == bad
    event("clashing paths" if bad else "a valid set")
    if bad:  # no file system holds them all: the writer refuses, as the reader would
        try:
            encode(entries)
        except ManifestError as exc:
            assert "both a file and a directory" in exc.message or "differ only in case" in exc.message
        else:
            raise AssertionError(f"encoded clashing paths {sorted(bad)}")
        return
    data = encode(entries)
    m = decode(data, "x.eosvc", "data")
    assert m == Manifest(entries)
    assert encode(m) == data
    assert encode(reversed(entries)) == data  # order of the input never matters


@FUZZ
@given(st.lists(st.lists(st.sampled_from(["a", "A", "\u00e9", "e\u0301", "\u00df", "SS", "x"]),
                         min_size=1, max_size=3).map("/".join), unique=True, max_size=8))
def test_the_collision_rule_matches_a_naive_oracle(paths: list[str]) -> None:
    found = clashes(paths)
    assert set(found) == naive_clashes(paths)
    event("clashing paths" if found else "a valid set")
    for path, clash in found.items():  # each names a real partner, at a name both have
        assert clash.other in paths and clash.other != path
        assert path.startswith(clash.name) and clash.other.startswith(clash.other_name)
        assert _fold(clash.name) == _fold(clash.other_name)


def _mutate(data: bytes, fuzz: st.DataObject) -> bytes:
    """One random edit of the kind a disk, a bad merge or a hand edit makes."""
    draw = fuzz.draw
    lines = data.split(b"\n")
    how = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "swap", "repeat", "case",
                                "size", "line", "crlf"]))
    i = draw(st.integers(0, max(0, len(data) - 1)))
    j = draw(st.integers(0, max(0, len(lines) - 1)))
    if how == "flip" and data:
        return data[:i] + bytes([data[i] ^ (1 << draw(st.integers(0, 7)))]) + data[i + 1:]
    if how == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]
    if how == "delete":
        return data[:i] + data[i + draw(st.integers(1, 8)):]
    if how == "truncate":
        return data[:i]
    if how == "swap" and len(lines) > 2:
        k = draw(st.integers(0, len(lines) - 1))
        lines[j], lines[k] = lines[k], lines[j]
    elif how == "repeat":
        lines.insert(j, lines[j])
    elif how == "case":
        lines[j] = lines[j].swapcase()
    elif how == "size":
        lines[j] = lines[j].replace(b" ", b" " + draw(st.sampled_from([b"0", b"9" * 19, b"1" * 40, b"-"])), 1)
    elif how == "line":
        lines[j] = draw(st.binary(max_size=90))
    elif how == "crlf":
        lines[j] += b"\r"
    return b"\n".join(lines)


@settings(max_examples=400, deadline=None)
@given(_entries, st.data())
def test_accepted_bytes_re_encode_to_themselves(entries: list[Entry], data: st.DataObject) -> None:
    if clashes(e.path for e in entries):
        return
    raw = encode(entries)
    for _ in range(data.draw(st.integers(1, 3))):
        raw = _mutate(raw, data)
    try:
        m = decode(raw, "x.eosvc", "data")
    except ManifestError as exc:
        assert exc.message.startswith("x.eosvc") and exc.exit_code in (1, 2)
        event("mutation refused")
        return
    event("mutation accepted")
    assert encode(m) == raw  # anything accepted is the one encoding of what it lists


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused_or_canonical(tail: bytes) -> None:
    raw = HEADER + b"\n" + tail
    try:
        m = decode(raw, "x.eosvc")
    except ManifestError:
        return
    assert encode(m) == raw


@FUZZ
@given(st.one_of(st.integers(0, 2**64), st.integers(-(2**64), -1), st.integers(2**63 - 4, 10**40)))
def test_sizes_beyond_any_file_are_refused_both_ways(size: int) -> None:
    entry = Entry("data/a", OIDS[0], size)
    line = OIDS[0].encode() + b" " + str(size).encode() + b" data/a"
    if 0 <= size <= MAX_SIZE:
        assert encode_entry(entry) == line
        assert decode(HEADER + b"\n" + line + b"\n")["data/a"].size == size
        return
    for attempt in (lambda: encode_entry(entry), lambda: decode(HEADER + b"\n" + line + b"\n", "x.eosvc")):
        try:
            attempt()
        except ManifestError:
            continue
        raise AssertionError(f"size {size} accepted")

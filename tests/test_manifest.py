"""The manifest codec: one valid encoding, strict parsing, safe paths."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from git_eosvc.errors import ConflictError, ManifestError
from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import (HEADER, Entry, Manifest, decode, diff, encode, quote_path,
                                unquote_path)

H1 = hash_bytes(b"one")
H2 = hash_bytes(b"two")


def line(oid: str, size: int | str, path: bytes) -> bytes:
    return oid.encode() + b" " + str(size).encode() + b" " + path


def doc(*lines: bytes) -> bytes:
    return b"\n".join([HEADER, *lines]) + b"\n"


def test_encode_is_sorted_bytewise_and_round_trips() -> None:
    m = Manifest([Entry("data/b", H1, 3), Entry("data/a/z", H2, 0), Entry("data/B", H1, 3)])
    data = encode(m)
    assert data == doc(line(H1, 3, b"data/B"), line(H2, 0, b"data/a/z"), line(H1, 3, b"data/b"))
    assert decode(data, section="data") == m
    assert encode(decode(data)) == data


def test_empty_manifest_is_the_header_alone() -> None:
    assert encode(Manifest()) == HEADER + b"\n"
    assert len(decode(HEADER + b"\n")) == 0


@pytest.mark.parametrize("name,encoded", [
    ("data/a b", b"data/a b"),
    ("data/\u00e9t\u00e9.csv", "data/\u00e9t\u00e9.csv".encode()),
    ("data/tab\there", b'"data/tab\\there"'),
    ("data/new\nline", b'"data/new\\nline"'),
    ('data/q"x', b'"data/q\\"x"'),
    ("data/back\\slash", b'"data/back\\\\slash"'),
    ("data/bell\x07", b'"data/bell\\a"'),
    ("data/esc\x1b", b'"data/esc\\033"'),
    ("data/trailing ", b'"data/trailing "'),
    (os.fsdecode(b"data/\xff\xfe"), b'"data/\\377\\376"'),
])
def test_quoting_follows_git(name: str, encoded: bytes) -> None:
    assert quote_path(name) == encoded
    assert unquote_path(encoded) == name


@pytest.mark.parametrize("bad,message", [
    (doc(line(H1, 1, b"data/../x")), "'..'"),
    (doc(line(H1, 1, b"/etc/x")), "absolute"),
    (doc(line(H1, 1, b"data/.git/x")), ".git"),
    (doc(line(H1, 1, b"data/.GIT/config")), ".git"),
    (doc(line(H1, 1, b"output/x")), "not inside the section"),
    (doc(line(H1, 1, b"data//x")), "empty"),
    (doc(line(H1, 1, b"data/./x")), "empty or '.'"),
    (doc(line(H1, "01", b"data/x")), "malformed"),
    (doc(line(H1, "-1", b"data/x")), "malformed"),
    (doc(line(H1.upper(), 1, b"data/x")), "malformed"),
    (doc(line(H1[:-1], 1, b"data/x")), "malformed"),
    (doc(line(H1, 1, b'"data/x"')), "canonical"),
    (doc(line(H1, 1, b'"data/\\101"')), "canonical"),
    (doc(line(H1, 1, b'"data/\\q"')), "unknown escape"),
    (doc(line(H1, 1, b'"data/x')), "unterminated"),
    (doc(line(H1, 1, b"data/b"), line(H1, 1, b"data/a")), "not sorted"),
    (doc(line(H1, 1, b"data/a"), line(H1, 1, b"data/a")), "duplicate"),
    (doc(line(H1, 1, b"data/a"), line(H1, 1, b"data/a/b")), "both a file and a directory"),
    (doc(line(H1, 1, b"data/a")).replace(b"\n", b"\r\n"), "expected"),
    (doc(line(H1, 1, b"data/a\r")), "CRLF"),
    (doc(line(H1, 1, b"data/a"))[:-1], "newline"),
    (b"", "empty file"),
    (b"eosvc-manifest v2\n", "expected 'eosvc-manifest v1'"),
    (doc(b""), "malformed"),
    (doc(line(H1, 1, b"data/a")) + b"\n", "malformed"),
])
def test_strict_parse_names_file_and_line(bad: bytes, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        decode(bad, "data.eosvc", section="data")
    assert "data.eosvc" in info.value.message
    assert message in info.value.message
    assert info.value.exit_code == 2


def test_error_names_the_line_number() -> None:
    bad = doc(line(H1, 1, b"data/a"), line(H1, 1, b"data/../b"))
    with pytest.raises(ManifestError, match=r"data\.eosvc:3:"):
        decode(bad, "data.eosvc", "data")


def test_conflict_markers_are_refused_with_a_resolution_hint() -> None:
    bad = HEADER + b"\n<<<<<<< ours\n" + line(H1, 1, b"data/a") + b"\n=======\n" + \
        line(H2, 1, b"data/a") + b"\n>>>>>>> theirs\n"
    with pytest.raises(ConflictError) as info:
        decode(bad, "data.eosvc", "data")
    assert "--theirs" in (info.value.hint or "")


def test_diff_lists_added_removed_modified_and_renames() -> None:
    old = Manifest([Entry("data/a", H1, 3), Entry("data/b", H2, 3), Entry("data/c", H1, 3)])
    new = Manifest([Entry("data/a", H2, 3), Entry("data/c", H1, 3), Entry("data/d", H2, 3)])
    ch = diff(old, new)
    assert [e.path for e in ch.added] == ["data/d"]
    assert [e.path for e in ch.removed] == ["data/b"]
    assert [(o.path, o.oid, n.oid) for o, n in ch.modified] == [("data/a", H1, H2)]
    assert [(o.path, n.path) for o, n in ch.renamed()] == [("data/b", "data/d")]
    assert not diff(new, new)


# Names built from awkward bytes: controls, quotes, backslashes, spaces, UTF-8, non-UTF-8.
_component = st.binary(min_size=1, max_size=12).filter(
    lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..") and b.lower() != b".git")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(_component, min_size=1, max_size=3),
                          st.sampled_from([H1, H2]), st.integers(0, 2**40)),
                max_size=12))
def test_any_set_of_files_round_trips_exactly(items: list) -> None:
    entries: dict[str, Entry] = {}
    for parts, oid, size in items:
        path = os.fsdecode(b"data/" + b"/".join(parts))
        entries[path] = Entry(path, oid, size)
    # drop file/directory clashes, which no filesystem can hold
    keys = sorted(entries, key=os.fsencode)
    clean = [entries[k] for k in keys if not any(o.startswith(k + "/") for o in keys)]
    data = encode(clean)
    m = decode(data, "x.eosvc", "data")
    assert m == Manifest(clean)
    assert encode(m) == data

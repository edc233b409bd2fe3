"""The manifest codec: one valid encoding, strict parsing, safe paths."""

from __future__ import annotations

import os

import pytest
from git_eosvc.errors import ConflictError, ManifestError
from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import (HEADER, MAX_SIZE, Entry, Manifest, clashes, decode, diff, encode,
                                encode_entry, quote_path, split_line, unquote_path)

H1 = hash_bytes(b"one")
H2 = hash_bytes(b"two")


def line(oid: str, size: int | str, path: bytes) -> bytes:
    return oid.encode() + b" " + str(size).encode() + b" " + path


def doc(*lines: bytes) -> bytes:
    return b"\n".join([HEADER, *lines]) + b"\n"


def test_encode_is_sorted_bytewise_and_round_trips() -> None:
    m = Manifest([Entry("data/b", H1, 3), Entry("data/a/z", H2, 0), Entry("data/C", H1, 3)])
    data = encode(m)
    assert data == doc(line(H1, 3, b"data/C"), line(H2, 0, b"data/a/z"), line(H1, 3, b"data/b"))
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
    # sizes no file can have (issue 9, item 4): a parse error, not an OverflowError later
    (doc(line(H1, 10**30, b"data/a")), "larger than any file"),
    (doc(line(H1, 2**63, b"data/a")), "larger than any file"),
    (doc(line(H1, "9" * 5000, b"data/a")), "larger than any file"),
    # names one file on a case-insensitive file system (issue 9, item 8b)
    (doc(line(H1, 1, b"data/A"), line(H1, 1, b"data/a")), "differ only in case"),
    (doc(line(H1, 1, b"data/Dir/x"), line(H1, 1, b"data/dir/y")), "'data/Dir' and 'data/dir'"),
    (doc(line(H1, 1, b"data/A"), line(H1, 1, b"data/a/x")), "differ only in case"),
    (doc(line(H1, 1, "data/e\u0301".encode()), line(H1, 1, "data/\u00e9".encode())), "Unicode form"),
    (doc(line(H1, 1, "data/STRASSE".encode()), line(H1, 1, "data/stra\u00dfe".encode())), "differ only in case"),
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


def test_a_clash_names_the_line_that_completes_it() -> None:
    bad = doc(line(H1, 1, b"data/Dir/x"), line(H1, 1, b"data/b"), line(H1, 1, b"data/dir/y"))
    with pytest.raises(ManifestError, match=r"^data\.eosvc:4: 'data/Dir' and 'data/dir' differ only in case") as info:
        decode(bad, "data.eosvc", "data")
    assert "rename" in (info.value.hint or "")
    with pytest.raises(ManifestError, match="differ only in case"):  # the writer refuses them too
        encode([Entry("data/A", H1, 1), Entry("data/a", H1, 1)])
    assert set(clashes(["data/Dir/x", "data/b", "data/dir/y", "data/dir/z"])) == \
        {"data/Dir/x", "data/dir/y", "data/dir/z"}


def test_the_largest_size_is_2_63_minus_1() -> None:
    ok = doc(line(H1, MAX_SIZE, b"data/a"))
    assert decode(ok, "data.eosvc", "data")["data/a"].size == 2**63 - 1
    assert encode(decode(ok)) == ok
    for size in (2**63, -1):
        with pytest.raises(ManifestError, match="not a file size"):
            encode_entry(Entry("data/a", H1, size))
    with pytest.raises(ManifestError, match=r"^data\.eosvc:3: size 10{29}\.\.\. is larger than any file"):
        decode(doc(line(H1, 1, b"data/a"), line(H1, 10**30, b"data/b")), "data.eosvc", "data")
    # listings (git diff's textconv) read lines through split_line: an absurd size is no entry
    assert split_line(line(H1, 10**30, b"data/a")) is None
    assert split_line(line(H1, MAX_SIZE, b"data/a")) is not None

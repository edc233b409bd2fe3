"""Issue 4: the per-path 3-way merge of manifests, its marker form, and the merge driver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from git_eosvc import cli
from git_eosvc.errors import ManifestError
from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import EMPTY, HEADER, Entry, Manifest, encode, encode_entry
from git_eosvc.merge import (BOTH_ADDED, BOTH_MODIFIED, CASE_COLLISION, DELETED_BY_THEM, DELETED_BY_US,
                             FILE_DIRECTORY, MergeResult, Style, merge3, merge_bytes,
                             parse_conflicted, render, resolve, section_of_manifest, with_base)

BLOBS = [(hash_bytes(b), len(b)) for b in (b"one", b"two!", b"three")]


def E(path: str, i: int = 0) -> Entry:
    oid, size = BLOBS[i]
    return Entry(path, oid, size)


def M(*entries: Entry) -> Manifest:
    return Manifest(entries)


def hunks(data: bytes) -> tuple[list[bytes], list[list[bytes]]]:
    """(lines outside markers, the entry lines of each hunk) of a rendered manifest."""
    outside: list[bytes] = []
    blocks: list[list[bytes]] = []
    current: list[bytes] | None = None
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"<<<<<<<"):
            current = []
        elif line.startswith(b">>>>>>>"):
            assert current is not None
            blocks.append(current)
            current = None
        elif line.startswith(b"======="):
            continue
        elif current is not None:
            current.append(line)
        else:
            outside.append(line)
    assert current is None
    return outside, blocks


# ---------------------------------------------------------------- the rule, case by case


def test_disjoint_changes_merge() -> None:
    base = M(E("data/a"), E("data/b"), E("data/c d"))
    ours = M(E("data/a", 1), E("data/b"), E("data/c d"), E("data/new"))      # modify a, add new
    theirs = M(E("data/a"), E("data/b"))                                       # delete "c d"
    r = merge3(base, ours, theirs)
    assert r.conflicts == ()
    assert r.clean == M(E("data/a", 1), E("data/b"), E("data/new"))


@pytest.mark.parametrize("ours,theirs,merged", [
    (M(E("data/a", 1)), M(E("data/a", 1)), M(E("data/a", 1))),    # identical change
    (M(), M(), M()),                                                 # both deleted
    (M(E("data/a"), E("data/n", 2)), M(E("data/a"), E("data/n", 2)),
     M(E("data/a"), E("data/n", 2))),                                # add/add, same bytes
])
def test_same_change_on_both_sides_merges(ours: Manifest, theirs: Manifest, merged: Manifest) -> None:
    r = merge3(M(E("data/a")), ours, theirs)
    assert (r.clean, r.conflicts) == (merged, ())


@pytest.mark.parametrize("ours,theirs,kind", [
    (M(E("data/a", 1)), M(E("data/a", 2)), BOTH_MODIFIED),
    (M(), M(E("data/a", 1)), DELETED_BY_US),
    (M(E("data/a", 1)), M(), DELETED_BY_THEM),
])
def test_changed_differently_conflicts(ours: Manifest, theirs: Manifest, kind: str) -> None:
    r = merge3(M(E("data/a")), ours, theirs)
    assert [(c.path, c.kind) for c in r.conflicts] == [("data/a", kind)]
    assert r.clean == M()


def test_add_add_with_different_bytes_conflicts() -> None:
    r = merge3(M(), M(E("data/n", 1)), M(E("data/n", 2)))
    assert [(c.kind, c.base, c.ours, c.theirs) for c in r.conflicts] == \
        [(BOTH_ADDED, None, E("data/n", 1), E("data/n", 2))]


def test_file_on_one_side_directory_on_the_other_conflicts() -> None:
    # Each path merges cleanly on its own, but together `data/a` would be a file and a directory.
    base = M(E("data/b"))
    r = merge3(base, M(E("data/b"), E("data/a")), M(E("data/b"), E("data/a/x")))
    assert {c.path: c.kind for c in r.conflicts} == {"data/a": FILE_DIRECTORY, "data/a/x": FILE_DIRECTORY}
    assert r.clean == M(E("data/b"))
    assert encode(r.taking("ours")) and encode(r.taking("theirs"))


@pytest.mark.parametrize("ours,theirs", [
    ([E("data/A")], [E("data/a")]),                        # one file on macOS and Windows
    ([E("data/Dir/x")], [E("data/dir/y")]),                # one directory
    ([E("data/A")], [E("data/a/x")]),                      # a file and a directory
    ([E("data/e\u0301")], [E("data/\u00e9")]),             # NFD and NFC: one name on APFS
])
def test_names_one_on_a_case_insensitive_disk_conflict(ours: list[Entry], theirs: list[Entry]) -> None:
    """Issue 9, item 8b: both sides add a name that is valid alone; together they collide."""
    base = M(E("data/b"))
    r = merge3(base, M(E("data/b"), *ours), M(E("data/b"), *theirs))
    assert r.clean == base
    assert {c.path: c.kind for c in r.conflicts} == {e.path: CASE_COLLISION for e in ours + theirs}
    assert r.taking("ours") == M(E("data/b"), *ours) and r.taking("theirs") == M(E("data/b"), *theirs)
    back = with_base(parse_conflicted(render(r), "data.eosvc", "data"), base)  # as conflict_state reads it
    assert (back.clean, back.conflicts) == (r.clean, r.conflicts)
    with pytest.raises(ManifestError, match="cannot both be kept") as info:
        resolve(r, {ours[0].path: "ours", theirs[0].path: "theirs"})
    assert "same side" in (info.value.hint or "")
    assert resolve(r, {c.path: "theirs" for c in r.conflicts}).clean == M(E("data/b"), *theirs)


def test_a_file_directory_conflict_survives_its_base() -> None:
    """with_base (index stage 1 for a marker file) re-merged each path alone, so `data/a`
    and `data/a/x` both became clean again: a manifest no file system can hold."""
    r = merge3(M(), M(E("data/a")), M(E("data/a/x")))
    back = with_base(parse_conflicted(render(r), "data.eosvc", "data"), M())
    assert {c.path: c.kind for c in back.conflicts} == {"data/a": FILE_DIRECTORY, "data/a/x": FILE_DIRECTORY}
    assert back.clean == M()


def test_git_text_hunks_that_collide_by_case_stay_conflicts() -> None:
    # diff3 hunk: each side added one name, so per path each is a one-sided change
    lines = [HEADER, b"<<<<<<< HEAD", encode_entry(E("data/A")), b"||||||| base", b"=======",
             encode_entry(E("data/a", 1)), b">>>>>>> feature"]
    r = parse_conflicted(b"\n".join(lines) + b"\n", "data.eosvc", "data")
    assert r.clean == M()
    assert {c.path: c.kind for c in r.conflicts} == {"data/A": CASE_COLLISION, "data/a": CASE_COLLISION}


def test_parse_refuses_clean_lines_that_collide() -> None:
    body = [encode_entry(E("data/A")), b"<<<<<<< ours", encode_entry(E("data/b", 1)), b"=======",
            encode_entry(E("data/b", 2)), b">>>>>>> theirs", encode_entry(E("data/a"))]
    with pytest.raises(ManifestError, match=r"data\.eosvc:8: .*differ only in case"):
        parse_conflicted(b"\n".join([HEADER, *body]) + b"\n", "data.eosvc", "data")


def test_unknown_base_merges_only_when_sides_agree() -> None:
    r = merge3(M(E("data/a"), E("data/b")), M(E("data/a"), E("data/b", 1)), M(E("data/a", 2), E("data/b", 1)),
               unknown_base=["data/a", "data/b"])
    assert r.clean == M(E("data/b", 1))
    assert [c.path for c in r.conflicts] == ["data/a"] and not r.conflicts[0].base_known


# ---------------------------------------------------------------- marker form


def test_render_respects_marker_size_and_labels() -> None:
    r = merge3(M(E("data/a")), M(E("data/a", 1), E("data/b")), M(E("data/a", 2), E("data/b")))
    data = render(r, Style(9, "ours", "theirs"))
    assert data == b"\n".join([
        HEADER,
        b"<" * 9 + b" ours", encode_entry(E("data/a", 1)), b"=" * 9, encode_entry(E("data/a", 2)),
        b">" * 9 + b" theirs",
        encode_entry(E("data/b")),
    ]) + b"\n"
    back = parse_conflicted(data)
    assert back.style == Style(9, "ours", "theirs")
    assert render(back) == data


def test_parse_reads_git_text_merge_hunks_with_a_base_section() -> None:
    # What git's own text merge writes (diff3 style) when no driver is installed: one hunk
    # spanning several paths. Per path, a change on one side only is not a conflict.
    lines = [HEADER, b"<<<<<<< HEAD",
             encode_entry(E("data/a", 1)), encode_entry(E("data/b")), encode_entry(E("data/c d", 1)),
             b"||||||| base",
             encode_entry(E("data/a")), encode_entry(E("data/b")), encode_entry(E("data/c d")),
             b"=======",
             encode_entry(E("data/a")), encode_entry(E("data/c d", 2)), encode_entry(E("data/n")),
             b">>>>>>> feature"]
    r = parse_conflicted(b"\n".join(lines) + b"\n", "data.eosvc", "data")
    assert r.clean == M(E("data/a", 1), E("data/n"))  # a: ours only; b: deleted by them; n: added
    assert [(c.path, c.kind) for c in r.conflicts] == [("data/c d", BOTH_MODIFIED)]
    assert r.style.ours_label == "HEAD" and r.style.theirs_label == "feature"


@pytest.mark.parametrize("body,needle", [
    ([b"<<<<<<< ours", encode_entry(E("data/a"))], "never closed"),
    ([b"=======", encode_entry(E("data/a"))], "unexpected conflict marker"),
    ([b"<<<<<<< ours", b"=======", b"=======", b">>>>>>> theirs"], "unexpected conflict marker"),
    ([encode_entry(E("data/a")), b"<<<<<<< ours", encode_entry(E("data/a", 1)), b"=======",
      b">>>>>>> theirs"], "more than one place"),
    ([b"<<<<<<< ours", b"garbage", b"=======", b">>>>>>> theirs"], "malformed line"),
    ([b"<<<<<<< ours", encode_entry(E("data/../x")), b"=======", b">>>>>>> theirs"], "'..'"),
])
def test_parse_refuses_broken_marker_files(body: list[bytes], needle: str) -> None:
    with pytest.raises(ManifestError, match=needle):
        parse_conflicted(b"\n".join([HEADER, *body]) + b"\n", "data.eosvc", "data")


def test_resolve_takes_a_side_per_path() -> None:
    r = merge3(M(E("data/a"), E("data/b")), M(E("data/a", 1)), M(E("data/a", 2), E("data/b", 1)))
    assert {c.path for c in r.conflicts} == {"data/a", "data/b"}
    half = resolve(r, {"data/a": "theirs"})
    assert [c.path for c in half.conflicts] == ["data/b"]
    assert half.clean == M(E("data/a", 2))
    done = resolve(half, {"data/b": "ours"})  # ours deleted it
    assert (done.clean, done.conflicts) == (M(E("data/a", 2)), ())


def test_merge_bytes_empty_base_and_criss_cross_base() -> None:
    a, b = encode(M(E("data/n"), E("data/x"))), encode(M(E("data/n"), E("data/y")))
    assert merge_bytes(b"", a, b).clean == M(E("data/n"), E("data/x"), E("data/y"))  # add/add
    # A virtual base (criss-cross merge) that itself conflicts on data/a, markers of size 9.
    virtual = render(merge3(M(E("data/a")), M(E("data/a", 1)), M(E("data/a", 2))), Style(9))
    r = merge_bytes(virtual, encode(M(E("data/a", 1))), encode(M(E("data/a", 1), E("data/n"))))
    assert (r.clean, r.conflicts) == (M(E("data/a", 1), E("data/n")), ())
    r = merge_bytes(virtual, encode(M(E("data/a", 1))), encode(M(E("data/a", 2))))
    assert [c.path for c in r.conflicts] == ["data/a"]


def test_merge_bytes_refuses_markers_on_a_side() -> None:
    marked = render(merge3(M(E("data/a")), M(E("data/a", 1)), M(E("data/a", 2))))
    with pytest.raises(ManifestError) as info:
        merge_bytes(encode(EMPTY), marked, encode(EMPTY), "data.eosvc", "data")
    assert info.value.exit_code == 2 and "conflict markers" in info.value.message


def test_section_of_manifest() -> None:
    assert section_of_manifest("data.eosvc") == "data"
    assert section_of_manifest("model/framework/fit.eosvc") == "model/framework/fit"
    assert section_of_manifest(".eosvc") is None and section_of_manifest("notes.txt") is None


# ---------------------------------------------------------------- the driver (in process)


def driver(tmp_path: Path, base: bytes, ours: bytes, theirs: bytes, *extra: str) -> tuple[int, bytes]:
    paths = []
    for name, data in (("O", base), ("A", ours), ("B", theirs)):
        p = tmp_path / f".merge_file_{name}"
        p.write_bytes(data)
        paths.append(str(p))
    rc = cli.main(["merge-driver", *paths, "data.eosvc", *extra])
    return rc, Path(paths[1]).read_bytes()


def test_driver_clean_merge_writes_canonical_manifest(tmp_path: Path) -> None:
    base = encode(M(E("data/a"), E("data/b")))
    rc, out = driver(tmp_path, base, encode(M(E("data/a", 1), E("data/b"))), encode(M(E("data/a"))), "7")
    assert rc == 0
    assert out == encode(M(E("data/a", 1)))


def test_driver_conflict_exit_1_with_marker_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = encode(M(E("data/a"), E("data/b")))
    rc, out = driver(tmp_path, base, encode(M(E("data/a", 1), E("data/b"))),
                     encode(M(E("data/a", 2), E("data/b"), E("data/c d"))), "11")
    assert rc == 1
    outside, blocks = hunks(out)
    assert blocks == [[encode_entry(E("data/a", 1)), encode_entry(E("data/a", 2))]]
    assert outside == [HEADER, encode_entry(E("data/b")), encode_entry(E("data/c d"))]
    assert b"<" * 11 + b" ours\n" in out and b"\n" + b">" * 11 + b" theirs\n" in out
    err = capsys.readouterr().err
    assert "both modified: data/a" in err and "checkout --ours" in err


@pytest.mark.parametrize("bad", ["base", "theirs"])
def test_driver_refuses_garbage_and_leaves_ours_untouched(tmp_path: Path, bad: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    good = encode(M(E("data/a")))
    ours = encode(M(E("data/a", 1)))
    garbage = b"eosvc-manifest v1\nnot a line\n"
    rc, out = driver(tmp_path, garbage if bad == "base" else good, ours, garbage if bad == "theirs" else good)
    assert rc == 2
    assert out == ours
    err = capsys.readouterr().err
    assert f"data.eosvc ({bad}):2: malformed line" in err
    assert "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def test_driver_refuses_entries_outside_the_section(tmp_path: Path) -> None:
    rc, out = driver(tmp_path, encode(M()), encode(M()), encode(M(E("output/x"))))
    assert rc == 2 and out == encode(M())


def test_driver_imports_neither_boto3_nor_pygit2(tmp_path: Path) -> None:
    """The driver runs on every merge of a manifest: it must stay a small, pure program."""
    files = []
    for name in "OAB":
        p = tmp_path / name
        p.write_bytes(encode(M(E("data/a"))))
        files.append(str(p))
    code = ("import sys\nfrom git_eosvc.cli import main\n"
            f"rc = main(['merge-driver', *{files!r}, 'data.eosvc', '7'])\n"
            "heavy = sorted(m for m in ('boto3', 'botocore', 'pygit2', 'tqdm') if m in sys.modules)\n"
            "print(rc, heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert out.stdout.strip() == "0 []", out.stderr


def test_merge_result_truthiness() -> None:
    assert not MergeResult(M())
    assert merge3(M(E("data/a")), M(E("data/a", 1)), M(E("data/a", 2)))

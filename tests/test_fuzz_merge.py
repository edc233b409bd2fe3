"""Property-based fuzzing of the 3-way manifest merge (issue 9, item 9): random base, ours
and theirs over a few paths that nest, need quoting or collide by case and Unicode form."""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from git_eosvc.errors import ManifestError
from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import Entry, Manifest, clashes, decode, encode, encode_entry
from git_eosvc.merge import (CASE_COLLISION, DELETED_BY_THEM, DELETED_BY_US, FILE_DIRECTORY, MergeResult,
                             Style, merge3, merge_bytes, parse_conflicted, render, resolve, with_base)

BLOBS = [(hash_bytes(b), len(b)) for b in (b"one", b"two!", b"three")]
# Few paths: several nest (file/directory), differ only in case or Unicode form, or need quoting.
PATHS = ["data/a", "data/A", "data/a/x", "data/A/y", "data/b", "data/b/z", "data/c d",
         "data/\u00e9t\u00e9.csv", "data/e\u0301te\u0301.csv", "data/t\tab", 'data/q"x']
FUZZ = settings(max_examples=200, deadline=None)
MIRROR = {DELETED_BY_US: DELETED_BY_THEM, DELETED_BY_THEM: DELETED_BY_US}


def E(path: str, i: int = 0) -> Entry:
    oid, size = BLOBS[i]
    return Entry(path, oid, size)


def valid(entries: list[Entry]) -> Manifest:
    """Keep entries in order, dropping each that would clash with one kept before it."""
    kept: dict[str, Entry] = {}
    for e in entries:
        if e.path not in kept and not clashes([*kept, e.path]):
            kept[e.path] = e
    return Manifest(kept.values())


@st.composite
def manifests(draw: st.DrawFn) -> Manifest:
    chosen = draw(st.lists(st.integers(0, len(PATHS) * len(BLOBS) - 1), max_size=8))  # one draw an entry
    return valid([E(PATHS[k // len(BLOBS)], k % len(BLOBS)) for k in chosen])


@st.composite
def changed(draw: st.DrawFn, base: Manifest, paths: list[str]) -> Manifest:
    """`base` with each of `paths` deleted, modified or added; additions that would clash
    with what is already there are dropped, so only `paths` ever change."""
    edits = {p: draw(st.sampled_from([None, 0, 1, 2])) for p in paths}
    kept = [e if e.path not in edits else E(e.path, edits[e.path]) for e in base.values()
            if not (e.path in edits and edits[e.path] is None)]
    added = [E(p, i) for p, i in edits.items() if i is not None and p not in base]
    return valid(kept + added)


def side_view(r: MergeResult) -> list[tuple[str, str, Entry | None, Entry | None, Entry | None, bool]]:
    return [(c.path, c.kind, c.base, c.ours, c.theirs, c.base_known) for c in r.conflicts]


def outside_hunks(data: bytes, style: Style) -> tuple[bytes, int]:
    """(the lines outside marker hunks as a file, how many hunks) of a rendered manifest."""
    outside, depth, count = [], 0, 0
    for line in data.split(b"\n")[:-1]:
        if line.startswith(b"<" * style.marker_size + b" "):
            depth, count = 1, count + 1
        elif line.startswith(b">" * style.marker_size + b" "):
            depth = 0
        elif not depth:
            outside.append(line)
    return b"\n".join(outside) + b"\n", count


def assert_valid(m: Manifest) -> None:
    data = encode(m)
    assert decode(data, "x.eosvc", "data") == m and encode(decode(data)) == data


# ---------------------------------------------------------------- the 3-way rule


@FUZZ
@given(manifests(), manifests())
def test_merging_with_itself_or_an_unchanged_side(base: Manifest, other: Manifest) -> None:
    same = merge3(other, other, other)
    assert (same.clean, same.conflicts) == (other, ())
    for r in (merge3(base, base, other), merge3(base, other, base), merge3(base, other, other)):
        assert (r.clean, r.conflicts) == (other, ())


@FUZZ
@given(manifests(), manifests(), manifests(), st.sets(st.sampled_from(PATHS)))
def test_merge_is_symmetric_up_to_side_labels(base: Manifest, ours: Manifest, theirs: Manifest,
                                              unknown: set[str]) -> None:
    a, b = merge3(base, ours, theirs, unknown), merge3(base, theirs, ours, unknown)
    assert a.clean == b.clean
    assert [(c.path, MIRROR.get(c.kind, c.kind), c.base, c.theirs, c.ours, c.base_known) for c in a.conflicts] \
        == side_view(b)
    for side, other in (("ours", "theirs"), ("theirs", "ours")):
        assert a.taking(side) == b.taking(other)


@FUZZ
@given(manifests(), st.lists(st.sampled_from(PATHS), unique=True, max_size=len(PATHS)), st.data())
def test_disjoint_changes_merge_cleanly(base: Manifest, paths: list[str], data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(paths)))
    ours = data.draw(changed(base, paths[:cut]))
    theirs = data.draw(changed(base, paths[cut:]))
    expected = dict(base)
    touched: set[str] = set()
    for side in (ours, theirs):
        for p in set(base) | set(side):
            if base.get(p) != side.get(p):
                touched.add(p)
                expected.pop(p, None)
                if p in side:
                    expected[p] = side[p]
    r = merge3(base, ours, theirs)
    if not clashes(expected):
        event("disjoint changes")
        assert (r.clean, r.conflicts) == (Manifest(expected.values()), ())
        return
    # e.g. ours added data/A, theirs data/a: each fine alone, together one file on macOS
    event("disjoint changes that collide")
    assert r.conflicts and all(c.kind in (FILE_DIRECTORY, CASE_COLLISION) for c in r.conflicts)
    assert {c.path for c in r.conflicts} <= touched  # nothing both sides left alone conflicts
    assert_valid(r.taking("ours"))
    assert_valid(r.taking("theirs"))


# ---------------------------------------------------------------- marker form and resolution


styles = st.builds(Style, st.integers(1, 12),
                   st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8),
                   st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=8))


@FUZZ
@given(manifests(), manifests(), manifests(), styles)
def test_rendered_conflicts_parse_back_to_the_same_state(base: Manifest, ours: Manifest, theirs: Manifest,
                                                         style: Style) -> None:
    r = merge3(base, ours, theirs)
    for path, e in r.clean.items():  # every merged line comes from one of the sides
        assert e in (ours.get(path), theirs.get(path))
    data = render(r, style)
    if not r.conflicts:
        event("clean")
        assert_valid(r.clean)
        assert data == encode(r.clean)
        return
    event("conflicted")
    outside, count = outside_hunks(data, style)
    assert decode(outside, "x.eosvc", "data") == r.clean and count == len(r.conflicts)  # sorted, canonical
    back = parse_conflicted(data, "data.eosvc", "data")
    assert back.clean == r.clean
    assert [(c.path, c.ours, c.theirs) for c in back.conflicts] == [(c.path, c.ours, c.theirs) for c in r.conflicts]
    assert back.style == style
    assert render(back) == data
    # what `git eosvc status` and `checkout --ours/--theirs` read: markers plus index stage 1
    rebased = with_base(back, base)
    assert (rebased.clean, side_view(rebased)) == (r.clean, side_view(r))
    for c in r.conflicts:  # one hunk per conflicting path: its lines on each side of the marker
        hunk = [encode_entry(e) for e in (c.ours,) if e] + [b"=" * style.marker_size] + \
            [encode_entry(e) for e in (c.theirs,) if e]
        assert b"\n" + b"\n".join(hunk) + b"\n" in data


@FUZZ
@given(manifests(), manifests(), manifests(), st.data())
def test_resolving_every_conflict_gives_a_valid_manifest(base: Manifest, ours: Manifest, theirs: Manifest,
                                                         data: st.DataObject) -> None:
    r = merge3(base, ours, theirs)
    for side in ("ours", "theirs"):  # the same side everywhere: always valid
        done = resolve(r, {c.path: side for c in r.conflicts})
        assert done.conflicts == () and done.clean == r.taking(side)
        assert_valid(done.clean)
    choice = {c.path: data.draw(st.sampled_from(["ours", "theirs"])) for c in r.conflicts}
    try:
        done = resolve(r, choice)
    except ManifestError as exc:  # mixed sides may put data/A beside data/a: refused, never written
        event("mixed sides refused")
        assert "cannot both be kept" in exc.message
        return
    assert done.conflicts == ()
    assert_valid(done.clean)


# ---------------------------------------------------------------- hostile input


@FUZZ
@given(manifests(), manifests(), manifests(), st.data())
def test_damaged_marker_files_fail_only_with_manifest_errors(base: Manifest, ours: Manifest, theirs: Manifest,
                                                             data: st.DataObject) -> None:
    raw = render(merge3(base, ours, theirs))
    lines = raw.split(b"\n")
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, max(0, len(lines) - 1)))  # a draw may have emptied it
        lines[i:i + data.draw(st.integers(0, 1))] = data.draw(st.lists(st.sampled_from(
            [b"<<<<<<< x", b"=======", b">>>>>>> y", b"||||||| b", b"", b"junk", *lines]), max_size=2))
    mangled = b"\n".join(lines)
    try:
        back = parse_conflicted(mangled, "data.eosvc", "data")
    except ManifestError:
        event("refused")
        return
    event("accepted")
    for side in ("ours", "theirs"):  # whatever was accepted can be resolved to a valid manifest
        assert_valid(back.taking(side))
    try:
        merge_bytes(mangled, encode(ours), encode(theirs), "data.eosvc", "data")  # a criss-cross base
    except ManifestError:
        pass

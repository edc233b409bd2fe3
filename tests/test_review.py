"""Issue 4: readable artifact diffs: the textconv listing, `git eosvc diff` in every format."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import eosvc, git
from helpers import commit_all, new_repo, write

from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import HEADER, Entry, Manifest, encode
from git_eosvc.merge import merge3, render
from git_eosvc.review import (JSON_SCHEMA, Report, listing, md_code, render_json, render_markdown,
                              render_text, section_diff, to_json)

GOLDEN = Path(__file__).parent / "golden"


def E(path: str, data: bytes) -> Entry:
    return Entry(path, hash_bytes(data), len(data))


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff!)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


# ---------------------------------------------------------------- textconv listing


def test_listing_is_aligned_and_line_by_line() -> None:
    m = Manifest([E("data/a.csv", b"x" * 12), E("data/big/model.bin", b"y" * 1536),
                  E("data/tab\there", b"")])
    out = listing(encode(m)).decode()
    quoted = '"data/tab\\there"'  # one line per entry: unusual names are quoted as in the manifest
    assert out.splitlines() == [
        f"{'data/a.csv':<40}  {'12 B':>10}  {hash_bytes(b'x' * 12)[:10]}",
        f"{'data/big/model.bin':<40}  {'1.5 KiB':>10}  {hash_bytes(b'y' * 1536)[:10]}",
        f"{quoted:<40}  {'0 B':>10}  {hash_bytes(b'')[:10]}",
    ]
    # One line never depends on another: adding a long path leaves the others as they were.
    longer = Manifest([*m.values(), E("data/" + "z" * 80, b"z")])
    assert listing(encode(m)).splitlines() == listing(encode(longer)).splitlines()[:3]


def test_listing_of_empty_manifest_is_empty() -> None:
    assert listing(HEADER + b"\n") == b""


def test_listing_never_fails() -> None:
    """git aborts the whole diff if a textconv fails: markers and junk pass through."""
    base = Manifest([E("data/a", b"1")])
    marked = render(merge3(base, Manifest([E("data/a", b"2")]), Manifest([E("data/a", b"3")])))
    out = listing(marked).decode().splitlines()
    assert out[0] == "<<<<<<< ours" and out[2] == "=======" and out[4] == ">>>>>>> theirs"
    assert out[1].startswith("data/a ") and out[3].startswith("data/a ")
    assert listing(b"not a manifest\n\xff\xfe") == b"not a manifest\n\xff\xfe\n"


# ---------------------------------------------------------------- the diff model and its forms


def sample_report() -> Report:
    old = Manifest([E("data/a.csv", b"a" * 3000), E("data/old.csv", b"o" * 40), E("data/t.csv", b"t" * 1000)])
    new = Manifest([E("data/moved/a.csv", b"a" * 3000), E("data/t.csv", b"T" * 2400),
                    E("data/new|x.csv", b"n")])
    return Report("main", "HEAD", (section_diff("data", "data.eosvc", "public", old, new),
                                   section_diff("output", "output.eosvc", "private", Manifest(), Manifest())),
                  "1" * 40, "2" * 40)


def test_section_diff_finds_renames_by_hash() -> None:
    s = sample_report().sections[0]
    assert [(o.path, n.path) for o, n in s.renamed] == [("data/a.csv", "data/moved/a.csv")]
    assert [e.path for e in s.added] == ["data/new|x.csv"]
    assert [e.path for e in s.removed] == ["data/old.csv"]
    assert [n.path for _, n in s.modified] == ["data/t.csv"]
    assert s.bytes() == {"added": 1, "removed": 40, "modified_before": 1000, "modified_after": 2400,
                         "renamed": 3000, "before": 4040, "after": 5401, "net": 1361}


def test_text_and_stat() -> None:
    text = render_text(sample_report())
    assert text.splitlines()[0] == ("data/ (public): 4 files changed: 1 added, 1 modified, 1 renamed, "
                                    "1 removed; 3.9 KiB → 5.3 KiB (+1.3 KiB)")
    assert "  renamed   data/a.csv → data/moved/a.csv  2.9 KiB" in text
    assert "1000 B → 2.3 KiB" in text and "output/" not in text
    assert render_text(sample_report(), stat=True).splitlines() == [
        " data/  4 files changed: 1 added, 1 modified, 1 renamed, 1 removed; 3.9 KiB → 5.3 KiB (+1.3 KiB)",
        " total: 4 files changed: 1 added, 1 modified, 1 renamed, 1 removed; 3.9 KiB → 5.3 KiB (+1.3 KiB)"]
    assert render_text(Report("a", "b", ())) == ""


def test_markdown_escapes_table_cells() -> None:
    md = render_markdown(sample_report())
    assert "| added | `data/new\\|x.csv` | 1 B |" in md
    assert md_code("a`b") == "`` a`b ``" and md_code("x|y") == "`x\\|y`"
    assert "No artifact changes." in render_markdown(Report("a", "b", ()))


def test_json_is_stable_and_complete() -> None:
    doc = json.loads(render_json(sample_report()))
    assert (doc["schema"], doc["version"]) == (JSON_SCHEMA, 1)
    assert doc["old"] == {"rev": "main", "commit": "1" * 40}
    assert [s["section"] for s in doc["sections"]] == ["data"]  # unchanged sections are left out
    entries = doc["sections"][0]["entries"]
    assert [e["change"] for e in entries] == ["added", "modified", "renamed", "removed"]
    renamed = entries[2]
    assert renamed["path"] == "data/moved/a.csv" and renamed["old"]["path"] == "data/a.csv"
    assert renamed["new"]["sha256"] == hash_bytes(b"a" * 3000) and renamed["new"]["size"] == 3000
    assert entries[0]["old"] is None and entries[3]["new"] is None
    assert doc["totals"]["files"] == {"added": 1, "modified": 1, "renamed": 1, "removed": 1, "changed": 4}
    assert render_json(sample_report()) == render_json(sample_report())
    assert "entries" not in to_json(sample_report(), stat=True)["sections"][0]  # type: ignore[index]
    empty = json.loads(render_json(Report("a", "b", ())))
    assert empty["sections"] == [] and empty["totals"]["files"]["changed"] == 0


def test_json_paths_that_are_not_utf8_use_the_quoted_form() -> None:
    name = os.fsdecode(b"data/\xff.bin")
    report = Report("a", "b", (section_diff("data", "data.eosvc", "public", Manifest(), Manifest([E(name, b"")])),))
    text = render_json(report)
    assert json.loads(text)["sections"][0]["entries"][0]["path"] == '"data/\\377.bin"'
    assert text.isascii()


# ---------------------------------------------------------------- with real git


def history(tmp_path: Path, remote: Path) -> Path:
    """Four commits: a base, then adds and a modification, a rename, a deletion.
    (Hooks off while building it, for speed: nothing here needs them.)"""
    os.environ["EOSVC_SKIP"] = "1"
    try:
        return _history(tmp_path, remote)
    finally:
        del os.environ["EOSVC_SKIP"]


def _history(tmp_path: Path, remote: Path) -> Path:
    a = new_repo(tmp_path, remote)
    write(a, "data/train.csv", b"x,y\n" * 250)
    write(a, "data/old.csv", b"old\n" * 10)
    write(a, "data/a.csv", b"a" * 3000)
    write(a, "data/keep.csv", b"keep\n")
    write(a, "output/result.txt", b"r" * 100)
    commit_all(a, "base")
    write(a, "data/train.csv", b"x,y\n" * 600)
    write(a, "data/new/features.parquet", b"\0" * (1536 * 1024))
    commit_all(a, "more data")
    (a / "data/moved").mkdir()
    (a / "data/a.csv").rename(a / "data/moved/a.csv")
    write(a, "data/odd|name `x`.csv", b"p")
    commit_all(a, "move")
    (a / "data/old.csv").unlink()
    write(a, "output/result.txt", b"R")
    commit_all(a, "drop")
    return a


def test_diff_command_golden_and_textconv(tmp_path: Path, remote: Path) -> None:
    a = history(tmp_path, remote)

    check_golden("diff_markdown.md", eosvc(a, "diff", "HEAD~3", "HEAD", "--format", "markdown").stdout)
    check_golden("diff_text.txt", eosvc(a, "diff", "HEAD~3", "HEAD").stdout)
    doc = json.loads(eosvc(a, "diff", "HEAD~3..HEAD", "--format", "json").stdout)
    assert doc["old"]["commit"] == git(a, "rev-parse", "HEAD~3").stdout.strip()
    doc["old"]["commit"] = doc["new"]["commit"] = "<commit>"
    check_golden("diff.json", json.dumps(doc, sort_keys=True, indent=2) + "\n")

    # git's own commands show manifests through the textconv
    shown = git(a, "diff", "HEAD~1", "--", "data.eosvc").stdout
    old_hash = hash_bytes(b"old\n" * 10)
    assert f"-{'data/old.csv':<40}  {'40 B':>10}  {old_hash[:10]}\n" in shown
    assert "eosvc-manifest" not in shown and old_hash not in shown
    log = git(a, "log", "-p", "-1", "--format=%s", "HEAD~2", "--", "data.eosvc").stdout
    assert f"+{'data/new/features.parquet':<40}  {'1.5 MiB':>10}  " in log
    assert f"+{'data/train.csv':<40}  {'2.3 KiB':>10}  " in log
    show = git(a, "show", "HEAD", "--", "output.eosvc").stdout
    assert f"+{'output/result.txt':<40}  {'1 B':>10}  {hash_bytes(b'R')[:10]}" in show
    raw = git(a, "diff", "--no-textconv", "HEAD~1", "--", "data.eosvc").stdout
    assert old_hash in raw  # the real bytes are one flag away


def test_diff_sides_like_git_diff(tmp_path: Path, remote: Path) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/f.txt", "v1\n")
    commit_all(a, "v1")
    assert eosvc(a, "diff").stdout == ""
    assert eosvc(a, "diff", "--exit-code").returncode == 0

    write(a, "data/f.txt", "v2 longer\n")
    eosvc(a, "add")  # recorded in the working manifest, not committed: HEAD vs working tree
    out = eosvc(a, "diff").stdout
    assert "modified  data/f.txt  3 B → 10 B" in out
    assert eosvc(a, "diff", "--exit-code", check=False).returncode == 1
    md = eosvc(a, "diff", "HEAD", "--format", "markdown").stdout
    assert md.startswith("### Artifact changes: `HEAD` → `working tree`")

    git(a, "commit", "-q", "-m", "v2")
    stat = eosvc(a, "diff", "HEAD~1", "HEAD", "--stat").stdout
    assert stat.splitlines() == [" data/  1 file changed: 1 modified; 3 B → 10 B (+7 B)",
                                 " total: 1 file changed: 1 modified; 3 B → 10 B (+7 B)"]
    git(a, "checkout", "-q", "-b", "side", "HEAD~1")
    write(a, "data/g.txt", "side\n")
    commit_all(a, "side")
    # A...B: from the merge base, like a pull request
    doc = json.loads(eosvc(a, "diff", "main...side", "--format", "json").stdout)
    assert [e["path"] for e in doc["sections"][0]["entries"]] == ["data/g.txt"]
    two = json.loads(eosvc(a, "diff", "main", "side", "--format", "json").stdout)
    assert sorted(e["change"] for e in two["sections"][0]["entries"]) == ["added", "modified"]

    bad = eosvc(a, "diff", "nosuchrev", check=False)
    assert bad.returncode == 2 and "unknown revision" in bad.stderr and "Traceback" not in bad.stderr

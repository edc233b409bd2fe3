"""Issue 4: readable artifact diffs: the textconv listing, `git eosvc diff` in every format."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import eosvc, git
from helpers import commit_all, new_repo, write

from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import HEADER, Entry, Manifest, encode
from git_eosvc.merge import merge3, render
from git_eosvc.review import JSON_SCHEMA, Report, listing, render_json, render_text, section_diff, to_json
from git_eosvc.errors import UsageError
from git_eosvc.review_md import BUDGET, DEFAULT_MAX_ROWS, PATH_LIMIT, clip, md_code, render_markdown
from git_eosvc.ui import human_size

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
    assert render_markdown(Report("a", "b", ())) == "### Artifact changes: `a` → `b`\n\nNo artifact changes.\n"


# ---------------------------------------------------------------- the pull-request comment


def cells(row: str) -> list[str]:
    """A GFM table row's cells: split at every `|` that is not escaped (as cmark-gfm does)."""
    assert row.startswith("| ") and row.endswith(" |"), row
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def listed(md: str) -> list[list[str]]:
    """The rows of the changes table."""
    lines = md.splitlines()
    if "| change | path | size |" not in lines:
        return []
    start = lines.index("| change | path | size |") + 2
    out = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        out.append(cells(line))
    return out


def more(md: str) -> tuple[int, str] | None:
    """(N, size) of the `N more files` line, or None."""
    found = re.findall(r"^… and \*\*([\d,]+) more files?\*\* \(([^)]*) changed\)", md, re.MULTILINE)
    assert len(found) <= 1
    return (int(found[0][0].replace(",", "")), found[0][1]) if found else None


def synthetic(n: int, name: Callable[[int], str] = lambda i: f"data/f{i:06d}.bin",
              label: str = "main") -> Report:
    """n added files, file i of i * 1000 bytes (no bytes are hashed: sizes are just numbers)."""
    new = Manifest([Entry(name(i), hash_bytes(str(i).encode()), i * 1000) for i in range(n)])
    return Report(label, "feature", (section_diff("data", "data.eosvc", "public", Manifest(), new),),
                  "a" * 40, "b" * 40)


def test_markdown_names_both_commits() -> None:
    first = render_markdown(sample_report()).splitlines()[0]
    assert first == "### Artifact changes: `main` (1111111) → `HEAD` (2222222)"
    work = Report("HEAD", "working tree", sample_report().sections, "c0ffee" + "0" * 34, None)
    assert render_markdown(work).startswith("### Artifact changes: `HEAD` (c0ffee0) → `working tree`\n")
    typed = Report("c0ffee0", "HEAD", sample_report().sections, "c0ffee" + "0" * 34, "d" * 40)
    assert render_markdown(typed).startswith("### Artifact changes: c0ffee0 → `HEAD` (ddddddd)\n")


def test_markdown_summary_first_then_largest_changes() -> None:
    md = render_markdown(sample_report())
    lines = md.splitlines()
    assert lines[2] == ("**4 files changed** (1 added, 1 modified, 1 renamed, 1 removed): 2.4 KiB changed; "
                        "total size 3.9 KiB → 5.3 KiB (+1.3 KiB)")
    assert cells(lines[6]) == ["`data/` (public)", "1 (1 B)", "1 (1000 B → 2.3 KiB)", "1 (2.9 KiB)",
                               "1 (40 B)", "2.4 KiB", "3.9 KiB → 5.3 KiB (+1.3 KiB)"]
    # by bytes changed: a modified file counts its larger side, a rename moves no bytes
    assert [r[:2] for r in listed(md)] == [["modified", "`data/t.csv`"], ["removed", "`data/old.csv`"],
                                           ["added", "`data/new\\|x.csv`"],
                                           ["renamed", "`data/a.csv` → `data/moved/a.csv`"]]
    assert more(md) is None
    stat = render_markdown(sample_report(), stat=True)
    assert listed(stat) == [] and stat.splitlines()[:7] == lines[:7]


def test_markdown_max_rows() -> None:
    report = synthetic(50)
    md = render_markdown(report, max_rows=10)
    assert [r[1] for r in listed(md)] == [f"`data/f{i:06d}.bin`" for i in range(49, 39, -1)]
    assert more(md) == (40, human_size(sum(i * 1000 for i in range(40))))
    assert "**50 files changed** (50 added)" in md
    none = render_markdown(report, max_rows=0)
    assert listed(none) == [] and "| change |" not in none and more(none) == (50, human_size(sum(
        i * 1000 for i in range(50))))
    assert len(listed(render_markdown(report))) == DEFAULT_MAX_ROWS // 2 and more(render_markdown(report)) is None
    assert len(listed(render_markdown(synthetic(250)))) == DEFAULT_MAX_ROWS
    assert more(render_markdown(synthetic(250))) == (150, human_size(sum(i * 1000 for i in range(150))))
    every = render_markdown(report, max_rows=10**9)
    assert len(listed(every)) == 50 and more(every) is None
    with pytest.raises(UsageError):
        render_markdown(report, max_rows=-1)


def test_markdown_budget_holds_for_pathological_paths() -> None:
    """However many rows are asked for and whatever the names: under the budget, one table
    row per line with exactly three cells, and every file either listed or counted."""
    nasty = ["|" * 3000, "`" * 3000, "` |" * 1000, "\\|" * 1000, "😀" * 3000, "\n\t\r<b>" * 500,
             "**_[x](y)_**" * 300, os.fsdecode(b"\xff" * 2000)]
    report = synthetic(6000, lambda i: f"data/{i:05d}/{nasty[i % len(nasty)]}{i}", label="x" * 10_000 + "\n|`")
    for rows in (10**9, 5000, DEFAULT_MAX_ROWS, 1):
        md = render_markdown(report, max_rows=rows)
        assert len(md.encode("utf-8")) <= BUDGET < 65_536
        table = listed(md)
        assert all(len(r) == 3 for r in table)
        assert 0 < len(table) <= rows
        assert len(table) + more(md)[0] == 6000  # type: ignore[index]
        assert max(len(line) for line in md.splitlines()) < 2 * PATH_LIMIT + 100
        assert "\n|`" not in md and "\\x0a\\|`" in md.splitlines()[0]  # the label stays on one line
    # renames carry two paths per row; and a (hypothetical) crowd of sections is capped too
    old = Manifest([Entry("data/" + "`|" * 2000 + str(i), hash_bytes(str(i).encode()), i) for i in range(2000)])
    new = Manifest([Entry("data/moved/" + "|`" * 2000 + str(i), e.oid, e.size) for i, e in enumerate(old.values())])
    one = Manifest([Entry("x/a", hash_bytes(b"a"), 1)])
    crowd = tuple(section_diff("|" * 500 + str(i), "x.eosvc", "public", Manifest(), one) for i in range(200))
    moved = Report("a", "b", (section_diff("data", "data.eosvc", "public", old, new), *crowd))
    md = render_markdown(moved, max_rows=10**9)
    assert len(md.encode("utf-8")) <= BUDGET and all(len(r) == 3 for r in listed(md))
    assert re.search(r"^\| … \d+ more sections \|", md, re.MULTILINE)
    assert more(md)[0] + len(listed(md)) == 2200  # type: ignore[index]


def test_clip_keeps_both_ends() -> None:
    assert clip("data/" + "x" * 500 + "/model.bin", 40) == "data/" + "x" * 15 + "…" + "x" * 9 + "/model.bin"
    assert len(clip("a" * 500, 41)) == 41 and clip("short", 40) == "short"


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

    md = eosvc(a, "diff", "HEAD~3", "HEAD", "--format", "markdown").stdout
    for rev in ("HEAD~3", "HEAD"):  # commit ids differ from run to run (they hold the time)
        md = md.replace(f" ({git(a, 'rev-parse', '--short=7', rev).stdout.strip()})", f" (<{rev}>)")
    check_golden("diff_markdown.md", md)
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
    head = git(a, "rev-parse", "HEAD").stdout.strip()
    assert md.startswith(f"### Artifact changes: `HEAD` ({head[:7]}) → `working tree`\n")

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


def big_change(tmp_path: Path, remote: Path) -> Path:
    """`main`: 500 files; `feature` adds 1,000 (900 in data/, 100 in output/), modifies 300
    and removes 200: a 1,500-file change, every file a different size."""
    os.environ["EOSVC_SKIP"] = "1"
    try:
        a = new_repo(tmp_path, remote)
        for i in range(500):
            write(a, f"data/train/shard_{i:04d}.bin", bytes([i % 251]) * (100 + i * 7))
        commit_all(a, "base")
        git(a, "checkout", "-q", "-b", "feature")
        for i in range(900):
            write(a, f"data/images/train/sample_{i:05d}.png", bytes([i % 256]) * (5000 + i * 3))
        for i in range(100):
            write(a, f"output/run/metrics_{i:03d}.json", b"{}" * (i + 1))
        for i in range(300):
            write(a, f"data/train/shard_{i:04d}.bin", bytes([(i + 1) % 251]) * (50 + i * 11))
        for i in range(300, 500):
            (a / f"data/train/shard_{i:04d}.bin").unlink()
        commit_all(a, "feature")
        return a
    finally:
        del os.environ["EOSVC_SKIP"]


def test_pull_request_comment_of_a_1500_file_change(tmp_path: Path, remote: Path) -> None:
    """Issue 13.5: the comment fits in a GitHub comment, names both commits, summarises
    everything, lists the largest changes and counts the rest."""
    a = big_change(tmp_path, remote)
    main, feature = (git(a, "rev-parse", rev).stdout.strip() for rev in ("main", "feature"))
    md = eosvc(a, "diff", "main", "feature", "--format", "markdown").stdout
    assert len(md) < 65_000 and len(md.encode("utf-8")) < 65_000
    lines = md.splitlines()
    assert lines[0] == f"### Artifact changes: `main` ({main[:7]}) → `feature` ({feature[:7]})"
    assert lines[2].startswith("**1,500 files changed** (1,000 added, 300 modified, 200 removed): ")
    data, output, total = (cells(line) for line in lines[6:9])
    assert [c.split(" ")[0] for c in data[:5]] == ["`data/`", "900", "300", "0", "200"]
    assert [c.split(" ")[0] for c in output[:5]] == ["`output/`", "100", "0", "0", "0"]
    assert [c.split(" ")[0] for c in total[:5]] == ["**total**", "1,000", "300", "0", "200"]
    added = sum(5000 + i * 3 for i in range(900)) + sum(2 * (i + 1) for i in range(100))
    assert data[1] == f"900 ({human_size(added - sum(2 * (i + 1) for i in range(100)))})"
    assert data[4] == f"200 ({human_size(sum(100 + i * 7 for i in range(300, 500)))})"

    # the largest changes, exactly: the JSON lists every file, rank them the same way
    doc = json.loads(eosvc(a, "diff", "main", "feature", "--format", "json").stdout)
    sizes = {}
    for s in doc["sections"]:
        for e in s["entries"]:
            sizes[e["path"]] = max(side["size"] for side in (e["old"], e["new"]) if side)
    assert len(sizes) == 1500
    rows = listed(md)
    assert len(rows) == DEFAULT_MAX_ROWS
    assert [r[1].strip("`") for r in rows] == sorted(sizes, key=lambda p: (-sizes[p], p))[:DEFAULT_MAX_ROWS]
    omitted = more(md)
    assert omitted is not None and omitted[0] == 1500 - len(rows)
    assert omitted[1] == human_size(sum(sorted(sizes.values())[:1500 - len(rows)]))
    assert "| **total** |" in md and f"{human_size(sum(sizes.values()))} changed" in lines[2]

    # --max-rows: fewer, or as many as the budget allows (never over it)
    few = eosvc(a, "diff", "main", "feature", "--format", "markdown", "--max-rows", "3").stdout
    assert len(listed(few)) == 3 and more(few) == (1497, human_size(sum(sorted(sizes.values())[:1497])))
    most = eosvc(a, "diff", "main...feature", "--format", "markdown", "--max-rows", "100000").stdout
    assert len(most.encode("utf-8")) < 65_000 and DEFAULT_MAX_ROWS < len(listed(most)) < 1500
    assert len(listed(most)) + more(most)[0] == 1500  # type: ignore[index]
    assert f"({main[:7]}) → `feature` ({feature[:7]})" in most.splitlines()[0]
    stat = eosvc(a, "diff", "main", "feature", "--format", "markdown", "--stat").stdout
    assert stat.splitlines() == lines[:9]
    for bad in (["--max-rows", "-1"], ["--max-rows", "x"], ["--max-rows", "5"]):
        fmt = [] if bad[1] == "5" else ["--format", "markdown"]
        proc = eosvc(a, "diff", "main", "feature", *fmt, *bad, check=False)
        assert proc.returncode == 2 and proc.stdout == "" and "max-rows" in proc.stderr

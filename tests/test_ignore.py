"""Ignore patterns (docs/partial.md): `.eosvcignore` at the top and the built-in defaults.

The matcher is checked against git itself (`git ls-files --others --ignored
--exclude-from`), then end to end: real git, real hooks, the suite's S3 server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import commit_all, new_repo, write

from git_eosvc.ignore import DEFAULTS, FetchFilter, Patterns, parse_line, split_list

TREE = [
    "a.txt", "sub/a.txt", "x.log", "sub/x.log", "sub/sub/a.log", "sub/deep/y.bin", "deep/z.bin",
    "a/b", "a/c/b", "a/c/d", "dir/x", "dir/y", "d/keep", "d/other", "d/e/keep", "keep.txt",
    "sub/keep.txt", "a1.csv", "c1.csv", "b.dat", "bb.dat", "#hash", "!bang", "x/y/z", "y/x/y/z",
    "t~", "name with space", "sub/name with space", "m/n/o/p.q", "m/p.q", "Abc.TXT",
    # the defaults' targets
    ".DS_Store", "sub/.DS_Store", "sub/._foo", "Thumbs.db", "sub/desktop.ini", ".x.swp", "sub/.y.swo",
    ".~lock.report.odt#", "~$report.docx", ".ipynb_checkpoints/n.ipynb", "sub/__pycache__/m.pyc",
    "notes~", "swp", "x.swp", "lock.odt#", "pycache/m.pyc", "DS_Store",
]

CASES = [
    ["*.log"], ["/a.txt"], ["sub/"], ["sub"], ["**/deep/*.bin"], ["a/**"], ["a/**/b"],
    ["*.txt", "!keep.txt"], ["dir/", "!dir/x"], ["d/*", "!d/keep"], ["[ab]*.csv"], ["[!a]1.csv"],
    ["?.dat"], ["\\#hash"], ["\\!bang"], ["x/y/"], ["x/y"], ["*~"], ["name with space"],
    ["# a comment", "", "b.dat"], ["m/**/p.q"], ["**/p.q"], ["/m/*.q"], ["*", "!*/", "!*.txt"],
    ["sub/**", "!sub/keep.txt"], ["*.TXT"], ["sub/*/a.log"], ["**"], ["y/**/z"],
    list(DEFAULTS), [*DEFAULTS, "!.DS_Store", "!sub/"],
]


def _git_ignored(root: Path, patterns: list[str]) -> set[str]:
    (root / ".git" / "pats").write_text("\n".join(patterns) + "\n")
    out = git(root, "ls-files", "-z", "--others", "--ignored", "--exclude-from=.git/pats").stdout
    return {p for p in out.split("\0") if p}


def _ours(patterns: list[str]) -> set[str]:
    pats = Patterns.parse(patterns)
    return {p for p in TREE if pats.ignored(p)}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    git(root, "init", "-q")
    for rel in TREE:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    return root


@pytest.mark.parametrize("patterns", CASES, ids=lambda c: "|".join(c)[:60])
def test_matcher_agrees_with_git(tree: Path, patterns: list[str]) -> None:
    assert _ours(patterns) == _git_ignored(tree, patterns)


def test_parse_details() -> None:
    assert parse_line("# comment") is None and parse_line("   ") is None and parse_line("") is None
    p = parse_line("foo\\ ")
    assert p is not None and p.regex.match("foo ")
    p = parse_line("data/tmp/")
    assert p is not None and p.anchored and p.dir_only
    assert parse_line("!x") is not None and parse_line("!x").negate  # type: ignore[union-attr]
    assert not Patterns.parse([])
    assert split_list(" data/raw/** , model/checkpoints/epoch-9*,,") == ["data/raw/**", "model/checkpoints/epoch-9*"]


def test_fetch_filter_like_git_lfs() -> None:
    f = FetchFilter(["data/raw/**", "model/checkpoints/epoch-9*"], [])
    assert f.wanted("data/raw/a.csv") and f.wanted("data/raw/x/y.csv")
    assert not f.wanted("data/proc/a.csv")
    assert f.wanted("model/checkpoints/epoch-9.pt") and f.wanted("model/checkpoints/epoch-90/w.bin")
    assert not f.wanted("model/checkpoints/epoch-1.pt")
    f = FetchFilter([], ["*.bin", "data/big"])
    assert not f.wanted("data/x/y.bin") and not f.wanted("data/big/a.csv") and f.wanted("data/a.csv")
    f = FetchFilter(["data"], ["data/secret/"])
    assert f.wanted("data/a") and not f.wanted("data/secret/a") and not f.wanted("output/a")
    assert not FetchFilter([], [])


def _manifest_paths(work: Path, name: str = "data.eosvc") -> list[str]:
    lines = (work / name).read_text().splitlines()[1:]
    return [line.split(" ", 2)[2] for line in lines]


def test_os_litter_is_never_recorded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/a.csv", "a")
    for litter in ("data/.DS_Store", "data/sub/.DS_Store", "data/sub/._a.csv", "data/Thumbs.db",
                   "data/a.csv~", "data/.a.csv.swp", "data/.ipynb_checkpoints/x-checkpoint.ipynb",
                   "data/__pycache__/m.cpython-311.pyc", "data/~$book.xlsx"):
        write(a, litter, "litter")
    write(a, "data/sub/b.csv", "b")
    commit_all(a, "base")
    assert _manifest_paths(a) == ["data/a.csv", "data/sub/b.csv"]
    write(a, "data/sub/.DS_Store", "changed litter")
    assert eosvc(a, "status").stdout.strip() == "nothing changed"
    assert '"clean": true' in eosvc(a, "status", "--json").stdout
    # the pre-commit hook does not count it as an unrecorded change either
    write(a, "code.py", "x")
    git(a, "add", "code.py")
    assert "not added" not in git(a, "commit", "-q", "-m", "code").stderr


def test_eosvcignore_patterns_negation_and_directories(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, ".eosvcignore", "# scratch\ndata/tmp/\n*.log\n!keep.log\nscratch/\n!Thumbs.db\n")
    for rel in ("data/tmp/a.csv", "data/tmp/deep/b.csv", "data/x.log", "data/sub/y.log", "data/keep.log",
                "data/y.csv", "data/sub/scratch/z.csv", "data/Thumbs.db", "data/sub/tmp/kept.csv",
                "output/run.log", "output/result.csv"):
        write(a, rel, rel)
    commit_all(a, "base")
    assert _manifest_paths(a) == ["data/Thumbs.db", "data/keep.log", "data/sub/tmp/kept.csv", "data/y.csv"]
    assert _manifest_paths(a, "output.eosvc") == ["output/result.csv"]
    assert eosvc(a, "status").stdout.strip() == "nothing changed"


def test_a_recorded_file_that_becomes_ignored_stays_recorded(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/z.tmp", "v1")
    write(a, "data/old/a.csv", "a")
    commit_all(a, "base")
    write(a, ".eosvcignore", "*.tmp\nold/\n")
    git(a, "add", ".eosvcignore")
    eosvc(a, "add")
    assert _manifest_paths(a) == ["data/old/a.csv", "data/z.tmp"]
    write(a, "data/z.tmp", "v2")
    write(a, "data/old/new.csv", "ignored")
    out = eosvc(a, "status").stdout
    assert "modified: data/z.tmp" in out and "new.csv" not in out
    eosvc(a, "add")
    assert _manifest_paths(a) == ["data/old/a.csv", "data/z.tmp"]
    # naming an ignored file records it on purpose (as `git add -f`)
    eosvc(a, "add", "data/old/new.csv")
    assert "data/old/new.csv" in _manifest_paths(a)


def test_an_ignored_file_is_never_deleted_by_checkout(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/sub/a.csv", "a")
    write(a, "data/b.csv", "b")
    commit_all(a, "base")
    git(a, "checkout", "-q", "-b", "other")
    (a / "data/sub/a.csv").unlink()
    os.rmdir(a / "data/sub")
    write(a, "data/b.csv", "b2")
    commit_all(a, "other")
    git(a, "checkout", "-q", "main")
    assert (a / "data/sub/a.csv").read_text() == "a"
    write(a, "data/sub/.DS_Store", "finder")
    write(a, "data/sub/scratch.swp", "x")  # not ignored: the user's unrecorded file
    write(a, "data/.b.csv.swp", "vim")
    git(a, "checkout", "-q", "other")  # the post-checkout hook reconciles
    assert not (a / "data/sub/a.csv").exists()
    assert (a / "data/sub/.DS_Store").read_text() == "finder"
    assert (a / "data/.b.csv.swp").read_text() == "vim"
    assert (a / "data/b.csv").read_text() == "b2"
    git(a, "checkout", "-q", "main")
    assert (a / "data/sub/a.csv").read_text() == "a"
    assert (a / "data/sub/.DS_Store").read_text() == "finder"

"""Issue 4 acceptance: real `git merge` and `git pull` through the manifest merge driver,
resolution with `git eosvc checkout --ours/--theirs`, and refusal of conflicted manifests.

Written to pass whether or not the post-merge hook is installed: after a merge the tests
run `git eosvc checkout`, which is a no-op when the hook already materialised.
"""

from __future__ import annotations

from pathlib import Path

from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, snapshot, write

from git_eosvc.hashing import hash_bytes
from git_eosvc.manifest import decode


def branches(tmp_path: Path, remote: Path, base: dict[str, str], ours: dict[str, str | None],
             theirs: dict[str, str | None]) -> Path:
    """main = base + ours, feature = base + theirs (None deletes); main checked out, built
    with plain git and the installed hooks (which bring main's bytes back after the switch)."""
    a = new_repo(tmp_path, remote)
    for path, text in base.items():
        write(a, path, text)
    commit_all(a, "base")
    git(a, "checkout", "-q", "-b", "feature")
    _apply(a, theirs)
    commit_all(a, "theirs")
    git(a, "checkout", "-q", "main")
    _apply(a, ours)
    commit_all(a, "ours")
    return a


def _apply(work: Path, changes: dict[str, str | None]) -> None:
    for path, text in changes.items():
        if text is None:
            (work / path).unlink()
        else:
            write(work, path, text)


def unmerged(work: Path) -> list[str]:
    return git(work, "diff", "--name-only", "--diff-filter=U").stdout.split()


BASE = {"data/a.csv": "a\n", "data/b.csv": "b\n", "data/c.csv": "c\n", "data/x.csv": "x base\n",
        "output/r.txt": "r\n"}


def test_disjoint_changes_merge_cleanly_and_workspace_is_the_union(tmp_path: Path, remote: Path) -> None:
    a = branches(tmp_path, remote, BASE,
                 ours={"data/a.csv": "a ours\n", "data/c.csv": None, "data/new-ours.csv": "n1\n"},
                 theirs={"data/b.csv": "b theirs\n", "data/x.csv": None, "data/sub/new-theirs.csv": "n2\n",
                         "output/r.txt": "r theirs\n"})
    proc = git(a, "merge", "--no-edit", "feature")
    assert "Auto-merging data.eosvc" in proc.stdout + proc.stderr
    manifest = (a / "data.eosvc").read_bytes()
    assert b"<<<<<<<" not in manifest
    assert sorted(decode(manifest, section="data")) == \
        ["data/a.csv", "data/b.csv", "data/new-ours.csv", "data/sub/new-theirs.csv"]
    assert snapshot(a, "data", "output") == {
        "data/a.csv": b"a ours\n", "data/b.csv": b"b theirs\n", "data/new-ours.csv": b"n1\n",
        "data/sub/new-theirs.csv": b"n2\n", "output/r.txt": b"r theirs\n"}
    assert eosvc(a, "status").stdout.strip() == "nothing changed"


def test_conflict_marks_only_that_entry_and_theirs_resolves_it(tmp_path: Path, remote: Path) -> None:
    a = branches(tmp_path, remote, BASE,
                 ours={"data/x.csv": "x ours\n", "data/a.csv": "a ours\n"},
                 theirs={"data/x.csv": "x theirs\n", "data/b.csv": "b theirs\n"})
    proc = git(a, "merge", "--no-edit", "feature", check=False)
    assert proc.returncode == 1 and "CONFLICT (content): Merge conflict in data.eosvc" in proc.stdout
    assert "both modified: data/x.csv" in proc.stderr  # the driver says which entry
    lines = (a / "data.eosvc").read_text().splitlines()
    start = lines.index("<<<<<<< ours")
    x_ours, x_theirs, b_theirs = (hash_bytes(t) for t in (b"x ours\n", b"x theirs\n", b"b theirs\n"))
    assert lines[start:start + 5] == ["<<<<<<< ours", f"{x_ours} 7 data/x.csv", "=======",
                                      f"{x_theirs} 9 data/x.csv", ">>>>>>> theirs"]
    assert sum(line.startswith(("<<<<<<<", "=======", ">>>>>>>")) for line in lines) == 3
    assert f"{b_theirs} 9 data/b.csv" in lines  # merged around the conflict

    status = eosvc(a, "status")
    assert status.returncode == 0
    assert "both modified:   data/x.csv" in status.stdout and "checkout --ours PATH" in status.stdout

    done = eosvc(a, "checkout", "--theirs", "data/x.csv")
    assert "data/x.csv: took theirs" in done.stderr
    assert unmerged(a) == []
    assert b"<<<<<<<" not in (a / "data.eosvc").read_bytes()
    assert (a / "data/x.csv").read_bytes() == b"x theirs\n"
    git(a, "commit", "-q", "--no-edit")
    assert snapshot(a, "data") == {"data/a.csv": b"a ours\n", "data/b.csv": b"b theirs\n",
                                   "data/c.csv": b"c\n", "data/x.csv": b"x theirs\n"}
    assert git(a, "status", "--porcelain").stdout == ""


def test_ours_for_a_whole_manifest_and_step_by_step(tmp_path: Path, remote: Path) -> None:
    a = branches(tmp_path, remote, BASE,
                 ours={"data/x.csv": "x ours\n", "data/a.csv": "a ours\n", "data/n.csv": "n ours\n"},
                 theirs={"data/x.csv": None, "data/a.csv": "a theirs\n", "data/n.csv": "n theirs\n"})
    assert git(a, "merge", "--no-edit", "feature", check=False).returncode == 1
    status = eosvc(a, "status").stdout
    for kind, path in (("both modified:", "data/a.csv"), ("both added:", "data/n.csv"),
                       ("deleted by them:", "data/x.csv")):
        assert f"    {kind:<16} {path}" in status

    # One entry at a time: the manifest keeps markers for the rest and stays unmerged.
    eosvc(a, "checkout", "--theirs", "data/a.csv")
    assert unmerged(a) == ["data.eosvc"]
    assert "data/a.csv" not in eosvc(a, "status").stdout.split("recorded")[0]
    wrong = eosvc(a, "checkout", "--ours", "data/b.csv", check=False)
    assert wrong.returncode == 2 and "not a conflicted entry" in wrong.stderr

    # The rest in one go, by naming the manifest.
    eosvc(a, "checkout", "--ours", "data.eosvc")
    assert unmerged(a) == []
    git(a, "commit", "-q", "--no-edit")
    assert snapshot(a, "data") == {"data/a.csv": b"a theirs\n", "data/b.csv": b"b\n", "data/c.csv": b"c\n",
                                   "data/n.csv": b"n ours\n", "data/x.csv": b"x ours\n"}


def test_theirs_deletion_deletes_the_file(tmp_path: Path, remote: Path) -> None:
    a = branches(tmp_path, remote, BASE, ours={"data/x.csv": "x ours\n"}, theirs={"data/x.csv": None})
    assert git(a, "merge", "--no-edit", "feature", check=False).returncode == 1
    eosvc(a, "checkout", "--theirs", "data")
    assert not (a / "data/x.csv").exists()
    # our bytes were committed (so they are in the local store): nothing is lost
    assert list((a / ".git/eosvc/objects").rglob(str(hash_bytes(b"x ours\n"))))


def test_resolution_from_index_stages_when_the_driver_did_not_run(tmp_path: Path, remote: Path) -> None:
    """No markers in the file (the driver failed, or was not there): the index stages are used."""
    a = branches(tmp_path, remote, BASE, ours={"data/x.csv": "x ours\n"},
                 theirs={"data/x.csv": "x theirs\n", "data/b.csv": "b theirs\n"})
    git(a, "config", "merge.eosvc.driver", "false")  # a driver that fails and writes nothing
    assert git(a, "merge", "--no-edit", "feature", check=False).returncode == 1
    assert b"<<<<<<<" not in (a / "data.eosvc").read_bytes()
    assert "both modified:   data/x.csv" in eosvc(a, "status").stdout
    eosvc(a, "checkout", "--theirs", "data/x.csv")
    git(a, "commit", "-q", "--no-edit")
    assert (a / "data/x.csv").read_bytes() == b"x theirs\n"
    assert (a / "data/b.csv").read_bytes() == b"b theirs\n"  # the clean part of the merge survives


def test_resolution_of_git_text_merge_hunks(tmp_path: Path, remote: Path) -> None:
    """A clone without the driver configured gets git's text merge: multi-line hunks."""
    a = branches(tmp_path, remote, BASE, ours={"data/a.csv": "a ours\n", "data/b.csv": "b ours\n"},
                 theirs={"data/a.csv": "a theirs\n", "data/c.csv": "c theirs\n"})
    git(a, "config", "--remove-section", "merge.eosvc")
    git(a, "config", "merge.conflictStyle", "diff3")
    assert git(a, "merge", "--no-edit", "feature", check=False).returncode == 1
    status = eosvc(a, "status").stdout
    assert "both modified:   data/a.csv" in status
    assert "data/b.csv" not in status.split("recorded")[0]  # one-sided: merged per path
    eosvc(a, "checkout", "--ours", "data.eosvc")
    git(a, "commit", "-q", "--no-edit")
    assert snapshot(a, "data") == {"data/a.csv": b"a ours\n", "data/b.csv": b"b ours\n",
                                   "data/c.csv": b"c theirs\n", "data/x.csv": b"x base\n"}


def test_conflicted_manifest_is_refused_except_by_resolution(tmp_path: Path, remote: Path) -> None:
    a = branches(tmp_path, remote, BASE, ours={"data/x.csv": "x ours\n"}, theirs={"data/x.csv": "x theirs\n"})
    assert git(a, "merge", "--no-edit", "feature", check=False).returncode == 1
    for args in (["add"], ["add", "data/a.csv"], ["checkout"], ["checkout", "data/a.csv"], ["diff"],
                 ["diff", "HEAD"], ["download", "--path", "data/a.csv"], ["view"]):
        proc = eosvc(a, *args, check=False)
        where = f"git eosvc {' '.join(args)}: {proc.stderr}"
        assert proc.returncode == 1, where
        assert "data.eosvc has unresolved merge conflicts" in proc.stderr, where
        assert "git eosvc checkout --ours PATH" in proc.stderr, where
        assert "Traceback" not in proc.stderr, where
    # what still works: status, diffs that do not involve the working manifest, git's own diff
    assert eosvc(a, "status").returncode == 0
    assert eosvc(a, "diff", "HEAD~1", "HEAD").returncode == 0
    assert "<<<<<<< ours" in git(a, "diff").stdout
    assert eosvc(a, "checkout", "--ours", "data/x.csv").returncode == 0


def test_git_pull_merges_manifests(tmp_path: Path, remote: Path, s3: S3) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/a.csv", "a\n")
    write(a, "data/b.csv", "b\n")
    commit_all(a, "base")
    eosvc(a, "push")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")

    write(a, "data/a.csv", "a from A\n")
    write(a, "data/new-a.csv", "new in A\n")
    commit_all(a, "A")
    eosvc(a, "push")
    write(b, "data/b.csv", "b from B\n")
    (b / "data/a.csv").chmod(0o644)
    commit_all(b, "B")

    git(b, "pull", "--no-rebase", "--no-edit")
    assert snapshot(b, "data") == {"data/a.csv": b"a from A\n", "data/b.csv": b"b from B\n",
                                   "data/new-a.csv": b"new in A\n"}
    assert len(git(b, "log", "-1", "--format=%P").stdout.split()) == 2

"""git_eosvc.repo against the real git binary: discovery the way git discovers (worktrees,
GIT_DIR/GIT_WORK_TREE, `git -C`, `git -c`), revisions, objects, the index, config, partial
clones and SHA-256 repositories. No mocks."""

from __future__ import annotations

import gc
import json
import os
import stat
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Iterator

import pytest

from git_eosvc.errors import OperationError, UsageError
from git_eosvc.repo import CommitInfo, Repo

from conftest import ROOT, git


def rev(cwd: Path, spec: str) -> str:
    return git(cwd, "rev-parse", spec).stdout.strip()


def commit_file(cwd: Path, path: str, content: str, message: str) -> str:
    target = cwd / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    git(cwd, "add", "--", path)
    git(cwd, "commit", "-q", "-m", message)
    return rev(cwd, "HEAD")


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """main: c1 (a.txt, dir/b.txt, tags v1 annotated + light) -> c2 (a.txt changed) -> c3."""
    path = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(path))
    commit_file(path, "a.txt", "one\n", "c1")
    commit_file(path, "dir/b.txt", "bee\n", "c1b")
    git(path, "tag", "-a", "-m", "release", "v1")
    git(path, "tag", "light")
    commit_file(path, "a.txt", "two\n", "c2")
    commit_file(path, "c.txt", "see\n", "c3")
    return path


@pytest.fixture
def repo(repo_dir: Path) -> Iterator[Repo]:
    r = Repo.discover(repo_dir)
    yield r
    r.close()


# ---------------------------------------------------------------- discovery

def test_discover_from_subdirectory_and_cwd(repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Repo.discover(repo_dir / "dir") as r:
        assert r.workdir == repo_dir.resolve()
        assert r.git_dir == r.common_dir == (repo_dir / ".git").resolve()
        assert r.state_dir == r.common_dir / "eosvc"
    monkeypatch.chdir(repo_dir / "dir")
    with Repo.discover() as r:
        assert r.workdir == repo_dir.resolve()
        assert r.head() == rev(repo_dir, "HEAD")


def test_discover_linked_worktree(repo_dir: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    git(repo_dir, "worktree", "add", "-q", "-b", "feat", str(wt), "HEAD~1")
    with Repo.discover(wt) as r:
        assert r.workdir == wt.resolve()
        assert r.git_dir == (repo_dir / ".git" / "worktrees" / "wt").resolve()
        assert r.common_dir == (repo_dir / ".git").resolve()
        assert r.head() == rev(repo_dir, "HEAD~1")  # the worktree's own HEAD
        assert r.current_branch() == "feat"
        assert r.file_at("HEAD", "a.txt") == b"two\n"
        assert r.file_at("main", "c.txt") == b"see\n"
        # built by hand (no discovery): common_dir read from the worktree's `commondir` file
        assert Repo(r.git_dir, r.workdir).common_dir == r.common_dir


@pytest.mark.parametrize("relative", [True, False])
def test_discover_with_git_dir_and_work_tree_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 relative: bool) -> None:
    # a git dir outside its work tree, as `git --git-dir=store.git --work-tree=files` uses
    store, files = tmp_path / "store.git", tmp_path / "files"
    files.mkdir()
    git(tmp_path, "--git-dir", str(store), "--work-tree", str(files), "init", "-q")
    (files / "f.txt").write_text("data\n")
    git(tmp_path, "--git-dir", str(store), "--work-tree", str(files), "add", "f.txt")
    git(tmp_path, "--git-dir", str(store), "--work-tree", str(files), "commit", "-q", "-m", "one")
    head = git(tmp_path, "--git-dir", str(store), "rev-parse", "HEAD").stdout.strip()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_DIR", "store.git" if relative else str(store))
    monkeypatch.setenv("GIT_WORK_TREE", "files" if relative else str(files))
    with Repo.discover() as r:
        assert os.path.isabs(os.environ["GIT_DIR"]) and os.path.isabs(os.environ["GIT_WORK_TREE"])
        assert r.git_dir == r.common_dir == store.resolve()
        assert r.workdir == files.resolve()
        monkeypatch.chdir(files)  # children run in the work tree: they must find the same repo
        assert r.head() == head
        assert r.file_at("HEAD", "f.txt") == b"data\n"
        assert r.index_blob_id("f.txt") == git(files, "rev-parse", "HEAD:f.txt").stdout.strip()
        assert r.is_dirty() == []


PROBE = """#!{python}
import json, os, sys
sys.path.insert(0, {root!r})
from git_eosvc.repo import Repo
with Repo.discover() as r:
    print(json.dumps({{"workdir": str(r.workdir), "git_dir": str(r.git_dir), "head": r.head(),
                       "file": (r.file_at("HEAD", "a.txt") or b"").decode(),
                       "config": r.config_values(), "git_dir_env": os.environ.get("GIT_DIR")}}))
"""


def test_as_a_git_subcommand(repo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`git -C sub X`, `git --git-dir=rel --work-tree=rel X` and `git -c k=v X` reach us as git means."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    probe = bindir / "git-eosvcprobe"
    probe.write_text(PROBE.format(python=sys.executable, root=str(ROOT)))
    probe.chmod(probe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    head = rev(repo_dir, "HEAD")

    out = json.loads(git(tmp_path, "-C", str(repo_dir / "dir"), "-c", "eosvc.repo=fromdashc",
                         "eosvcprobe").stdout)
    assert out["workdir"] == str(repo_dir.resolve()) and out["head"] == head
    assert out["file"] == "two\n" and out["config"] == {"eosvc.repo": "fromdashc"}

    out = json.loads(git(tmp_path, "--git-dir=repo/.git", "--work-tree=repo", "eosvcprobe").stdout)
    assert out["workdir"] == str(repo_dir.resolve()) and out["head"] == head
    assert out["git_dir_env"] == str(tmp_path / "repo/.git") and out["file"] == "two\n"


def test_bare_repository_refused(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(UsageError, match="needs a work tree; this is a bare repository"):
        Repo.discover(bare)
    assert Repo.is_bare_at(bare) is True
    assert Repo.is_bare_at(bare / "hooks") is True  # where a bare repository's hooks run
    assert Repo.is_bare_at(tmp_path) is False


def test_not_a_repository(tmp_path: Path, repo_dir: Path) -> None:
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    with pytest.raises(UsageError, match="not a git repository") as info:
        Repo.discover(nowhere)
    assert info.value.hint and "git eosvc clone NAME" in info.value.hint
    assert Repo.is_bare_at(repo_dir) is False


# ---------------------------------------------------------------- revisions

def test_unborn_branch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "fresh")
    with Repo.discover(tmp_path / "fresh") as r:
        assert r.head() is None
        assert r.current_branch() == "main"
        assert r.commits([]) == []
        with pytest.raises(UsageError, match="unknown revision 'HEAD'"):
            r.resolve("HEAD")
        assert r.file_at(None, "a.txt") is None


def test_head_follows_other_processes(repo: Repo, repo_dir: Path) -> None:
    before = repo.head()
    after = commit_file(repo_dir, "d.txt", "dee\n", "c4")
    assert repo.head() == after != before
    git(repo_dir, "pack-refs", "--all")
    git(repo_dir, "checkout", "-q", "--detach", "HEAD~2")
    assert repo.head() == rev(repo_dir, "HEAD")
    assert repo.current_branch() is None


def test_resolve(repo: Repo, repo_dir: Path) -> None:
    c1b, c3 = rev(repo_dir, "v1^{commit}"), rev(repo_dir, "HEAD")
    assert rev(repo_dir, "v1") != c1b  # annotated: a tag object
    assert repo.resolve("v1") == repo.resolve("light") == c1b
    assert repo.resolve("main") == repo.resolve("HEAD") == c3
    assert repo.resolve(c3[:7]) == c3
    assert repo.resolve("HEAD~3") == rev(repo_dir, "HEAD~3")
    for bad in ("nope", "", "HEAD:a.txt", "a\nb", "--all"):
        with pytest.raises(UsageError, match="unknown revision"):
            repo.resolve(bad)
    assert repo.commit_of(rev(repo_dir, "v1")) == c1b
    assert repo.commit_of("refs/tags/v1") == c1b
    assert repo.commit_of(rev(repo_dir, "HEAD^{tree}")) is None
    assert repo.commit_of("0" * 40) is None
    assert repo.commit_of(c3) == c3 and repo.commit_of("1" * 40) is None


def test_commit_parents_merge_base(repo: Repo, repo_dir: Path) -> None:
    c2, c3 = rev(repo_dir, "HEAD~1"), rev(repo_dir, "HEAD")
    info = repo.commit(c3)
    assert info == CommitInfo(c3, rev(repo_dir, "HEAD^{tree}"), [c2])
    assert repo.parents(c3) == [c2] and repo.parents("main") == [c2]
    assert repo.parents(rev(repo_dir, "HEAD~3")) == []
    with pytest.raises(UsageError):
        repo.commit(rev(repo_dir, "v1"))
    git(repo_dir, "checkout", "-q", "-b", "side", "HEAD~2")
    side = commit_file(repo_dir, "s.txt", "s\n", "side")
    assert repo.merge_base(c3, side) == rev(repo_dir, "HEAD~1")
    git(repo_dir, "checkout", "-q", "--orphan", "island")
    island = commit_file(repo_dir, "i.txt", "i\n", "island")
    assert repo.merge_base(c3, island) is None


def test_commits(repo: Repo, repo_dir: Path) -> None:
    c1, c3 = rev(repo_dir, "HEAD~3"), rev(repo_dir, "HEAD")
    assert repo.commits([c3], [c1]) == git(repo_dir, "rev-list", c3, "--not", c1).stdout.split()
    assert len(repo.commits([c3])) == 4
    assert repo.commits([c3], [c3]) == []
    assert repo.commits(["main"], ["v1"]) == git(repo_dir, "rev-list", "main", "^v1").stdout.split()
    # excludes that are not local commits are ignored, the rest still count
    odd = ["f" * 40, "garbage", rev(repo_dir, "HEAD^{tree}"), "-x", "", c1]
    assert repo.commits([c3], odd) == repo.commits([c3], [c1])
    assert repo.commits([]) == []
    with pytest.raises(UsageError, match="unknown revision"):
        repo.commits(["e" * 40])


# ---------------------------------------------------------------- objects

def test_file_at_blob_id_at_blob(repo: Repo, repo_dir: Path) -> None:
    assert repo.file_at("HEAD", "a.txt") == b"two\n"
    assert repo.file_at("v1", "a.txt") == b"one\n"
    assert repo.file_at(rev(repo_dir, "HEAD~3"), "a.txt") == b"one\n"
    assert repo.file_at("HEAD", "dir/b.txt") == b"bee\n"
    assert repo.file_at("HEAD", "missing.txt") is None
    assert repo.file_at("HEAD", "dir") is None
    assert repo.file_at("HEAD~3", "c.txt") is None
    assert repo.file_at(None, "a.txt") is None
    with pytest.raises(UsageError, match="unknown revision 'nope'"):
        repo.file_at("nope", "a.txt")

    blob_id = repo.blob_id_at("HEAD", "dir/b.txt")
    assert blob_id == rev(repo_dir, "HEAD:dir/b.txt")
    assert repo.blob_id_at("v1", "a.txt") == rev(repo_dir, "v1:a.txt")
    assert repo.blob(blob_id) == b"bee\n"
    for absent in ("dir", "nope", "dir/nope", "a.txt/x", "", "dir//b.txt"):
        assert repo.blob_id_at("HEAD", absent) is None
    with pytest.raises(UsageError):
        repo.blob_id_at("nope", "a.txt")
    with pytest.raises(OperationError, match="not a file"):
        repo.blob(rev(repo_dir, "HEAD^{tree}"))
    with pytest.raises(OperationError, match="missing"):
        repo.blob("0" * 40)


def test_unusual_file_names(repo: Repo, repo_dir: Path) -> None:
    names = ["sp ace.txt", "new\nline.txt", "tab\there", "ü.txt", "colon:x", "./ma"]
    for i, name in enumerate(names):
        (repo_dir / name).write_text(f"{i}\n")
    git(repo_dir, "add", "--", *names)
    git(repo_dir, "commit", "-q", "-m", "odd names")
    for i, name in enumerate(names):
        path = name.removeprefix("./")
        assert repo.file_at("HEAD", path) == f"{i}\n".encode(), name
        assert repo.blob_id_at("HEAD", path) == repo.index_blob_id(path)
    assert repo.file_at("HEAD", "./ma") is None  # paths are literal, repo-root relative


def test_symlink_and_submodule_entries(repo: Repo, repo_dir: Path) -> None:
    os.symlink("a.txt", repo_dir / "link")
    sub = git(repo_dir, "rev-parse", "HEAD").stdout.strip()
    git(repo_dir, "update-index", "--add", "--cacheinfo", f"160000,{sub},mod")
    git(repo_dir, "add", "link")
    git(repo_dir, "commit", "-q", "-m", "link and gitlink")
    assert repo.file_at("HEAD", "link") == b"a.txt"  # a symlink is a blob: its target
    assert repo.blob_id_at("HEAD", "mod") is None
    assert repo.index_blob_id("mod") is None


# ---------------------------------------------------------------- index

def test_index_blob_id(repo: Repo, repo_dir: Path, tmp_path: Path) -> None:
    assert repo.index_blob_id("a.txt") == rev(repo_dir, "HEAD:a.txt")
    (repo_dir / "a.txt").write_text("three\n")
    git(repo_dir, "add", "a.txt")  # another process changes the index: seen at once
    assert repo.index_blob_id("a.txt") == git(repo_dir, "hash-object", "a.txt").stdout.strip()
    assert repo.index_blob_id("nope.txt") is None
    assert repo.index_blob_id("dir") is None
    assert repo.index_blob_id("a*") is None and repo.index_blob_id("*.txt") is None  # literal

    index = tmp_path / "tmp-index"
    env = dict(os.environ, GIT_INDEX_FILE=str(index))
    subprocess.run(["git", "read-tree", "v1"], cwd=repo_dir, env=env, check=True)
    assert repo.index_blob_id("a.txt", str(index)) == rev(repo_dir, "v1:a.txt")
    assert repo.index_blob_id("c.txt", str(index)) is None
    assert repo.index_blob_id("a.txt") != rev(repo_dir, "v1:a.txt")


def test_index_stages_during_conflicted_merge(repo: Repo, repo_dir: Path) -> None:
    git(repo_dir, "checkout", "-q", "-b", "theirs")
    commit_file(repo_dir, "a.txt", "theirs\n", "theirs")
    git(repo_dir, "checkout", "-q", "main")
    commit_file(repo_dir, "a.txt", "ours\n", "ours")
    assert repo.index_stages("a.txt") is None
    proc = git(repo_dir, "merge", "theirs", check=False)
    assert proc.returncode == 1
    assert (repo.git_dir / "MERGE_HEAD").exists()
    assert repo.index_stages("a.txt") == (b"two\n", b"ours\n", b"theirs\n")
    assert repo.index_stages("c.txt") is None
    assert repo.index_blob_id("a.txt") is None  # no stage 0 while unmerged
    (repo_dir / "a.txt").write_text("merged\n")
    git(repo_dir, "add", "a.txt")
    assert repo.index_stages("a.txt") is None


# ---------------------------------------------------------------- config

def test_config_values_every_level(repo: Repo, repo_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo_dir, "config", "eosvc.publicBucket", "pub")
    git(repo_dir, "config", "other.key", "no")
    assert repo.config_values() == {"eosvc.publicbucket": "pub"}
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "eosvc.repo")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "x")
    assert repo.config_values() == {"eosvc.publicbucket": "pub", "eosvc.repo": "x"}
    assert repo.config_get("eosvc.repo") == "x"
    monkeypatch.delenv("GIT_CONFIG_COUNT")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'eosvc.repo'='y'")
    assert repo.config_values()["eosvc.repo"] == "y"
    assert repo.config_get("eosvc.Repo") == "y"
    assert repo.config_get("eosvc.none") is None
    assert repo.config_values("other.") == {"other.key": "no"}
    assert repo.config_values("nothing.") == {}
    assert repo.config_get("user.name") == "Test User"  # GIT_CONFIG_GLOBAL


def test_remotes_and_ref_tips(repo: Repo, repo_dir: Path) -> None:
    assert repo.remotes() == {}
    git(repo_dir, "remote", "add", "origin", "gh:org/repo.git")
    git(repo_dir, "config", "url.https://github.com/.insteadOf", "gh:")
    git(repo_dir, "remote", "add", "Up.Stream", "/srv/up.git")
    git(repo_dir, "config", "remote.Up.Stream.pushurl", "/srv/push.git")
    remotes = repo.remotes()
    assert remotes["origin"] == ("https://github.com/org/repo.git", "gh:org/repo.git")
    assert remotes["Up.Stream"] == ("/srv/up.git", "/srv/push.git")
    c3, c2 = rev(repo_dir, "HEAD"), rev(repo_dir, "HEAD~1")
    git(repo_dir, "update-ref", "refs/remotes/origin/main", c3)
    git(repo_dir, "update-ref", "refs/remotes/origin/old", c2)
    git(repo_dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    assert sorted(repo.ref_tips("refs/remotes/origin/")) == sorted([c3, c2])
    assert repo.ref_tips("refs/remotes/none/") == []


# ---------------------------------------------------------------- partial clone, SHA-256

def test_partial_clone_fetches_blobs_lazily(repo_dir: Path, tmp_path: Path) -> None:
    git(repo_dir, "config", "uploadpack.allowFilter", "true")
    git(repo_dir, "config", "uploadpack.allowAnySHA1InWant", "true")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--filter=blob:none", f"file://{repo_dir}", str(clone))
    old_blob = rev(repo_dir, "v1:a.txt")

    def missing() -> set[str]:
        out = git(clone, "rev-list", "--objects", "--missing=print", "--all").stdout.split()
        return {x[1:] for x in out if x.startswith("?")}

    assert old_blob in missing()
    with Repo.discover(clone) as r:
        assert r.blob_id_at("v1", "a.txt") == old_blob  # ids only: nothing fetched
        assert old_blob in missing()
        assert r.file_at("v1", "a.txt") == b"one\n"  # git fetches it from the promisor
        assert old_blob not in missing()
        assert r.file_at("v1", "nope") is None
        assert r.commits(["HEAD"], ["f" * 40]) == git(clone, "rev-list", "HEAD").stdout.split()
        assert r.head() == rev(repo_dir, "HEAD")
        # an id it lacks (a remote tip pushed by someone else) is looked up, never fetched
        other = commit_file(repo_dir, "late.txt", "late\n", "after the clone")
        objects = git(clone, "count-objects", "-v").stdout
        assert not r.has_local(other)
        assert git(clone, "count-objects", "-v").stdout == objects  # nothing was fetched
        assert r.has_local(r.head() or "")


def test_shallow_clone_boundary_has_no_parents(repo_dir: Path, tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "2", f"file://{repo_dir}", str(clone))
    with Repo.discover(clone) as r:
        top, boundary = rev(clone, "HEAD"), rev(clone, "HEAD~1")
        assert r.parents(top) == [boundary]
        assert r.parents(boundary) == [] == r.commit(boundary).parent_ids  # as `git log` shows it
        assert r.commits([top]) == git(clone, "rev-list", "HEAD").stdout.split()


def test_sha256_repository(tmp_path: Path) -> None:
    path = tmp_path / "s256"
    git(tmp_path, "init", "-q", "--object-format=sha256", str(path))
    first = commit_file(path, "d/x.txt", "x\n", "one")
    second = commit_file(path, "d/x.txt", "y\n", "two")
    with Repo.discover(path) as r:
        head = r.head()
        assert head == second and head is not None and len(head) == 64
        assert r.file_at("HEAD~1", "d/x.txt") == b"x\n"
        blob_id = r.blob_id_at("HEAD", "d/x.txt")
        assert blob_id == rev(path, "HEAD:d/x.txt") and len(blob_id) == 64
        assert r.blob(blob_id) == b"y\n"
        assert r.commits([second]) == [second, first]
        assert r.commits([second], [first]) == [second]
        assert r.parents(second) == [first]
        assert r.resolve(second[:10]) == second
        assert r.index_blob_id("d/x.txt") == blob_id


# ---------------------------------------------------------------- processes

def test_cat_file_processes_are_reused_and_reaped(repo_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        r = Repo.discover(repo_dir)
        assert r.file_at("HEAD", "a.txt") == b"two\n" and r.head()
        procs = [r._batch._proc, r._check._proc]
        assert all(p is not None for p in procs)
        for _ in range(50):
            r.file_at("HEAD", "a.txt")
            r.head()
        assert [r._batch._proc, r._check._proc] == procs  # one process each, reused
        r.close()
        assert all(p is not None and p.returncode is not None for p in procs)
        assert r.head() == rev(repo_dir, "HEAD")  # usable again after close
        p = r._check._proc
        del r
        gc.collect()
        assert p is not None and p.returncode is not None  # collected: reaped, no warning


def test_threads_share_one_repo(repo: Repo, repo_dir: Path) -> None:
    expected = {"a.txt": b"two\n", "dir/b.txt": b"bee\n", "c.txt": b"see\n"}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(30):
                for path, data in expected.items():
                    assert repo.file_at("HEAD", path) == data
                    assert repo.blob_id_at("HEAD~1", path) is not None or path == "c.txt"
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

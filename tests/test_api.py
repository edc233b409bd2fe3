"""The public Python API (docs/api.md), in-process as a notebook uses it, against real git
and the suite's S3 server: clone, path(), open() of old revisions, add, commit, push; typed
results, one exception family, nothing printed, progress to a callback, threads."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from conftest import ROOT, eosvc, git
from helpers import commit_all, new_repo, obj_key, write

import git_eosvc
from git_eosvc import progress
from git_eosvc.progress import Progress, ProgressEvent

V1 = "id,value\n1,10\n2,20\n"
V2 = "id,value\n1,11\n2,22\n3,33\n"


@pytest.fixture
def published(tmp_path: Path, remote: Path, s3) -> Path:  # type: ignore[no-untyped-def]
    """Another clone, through the real CLI, pushed two commits: data/train.csv V1 then V2
    (with data/notes.txt and the private output/model.txt in the first)."""
    a = new_repo(tmp_path, remote, "publisher")
    write(a, "data/train.csv", V1)
    write(a, "data/notes.txt", "notes\n")
    write(a, "output/model.txt", "weights\n")
    commit_all(a, "v1")
    eosvc(a, "push")
    write(a, "data/train.csv", V2)
    commit_all(a, "v2")
    eosvc(a, "push")
    return remote


@contextlib.contextmanager
def notebook() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """sys.stdout and sys.stderr replaced by StringIO, as in a notebook cell."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def test_a_notebook_clones_reads_old_revisions_adds_and_pushes(
        tmp_path: Path, published: Path, s3, capfd: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    capfd.readouterr()
    events: list[ProgressEvent] = []
    with notebook() as (out, err):
        repo = git_eosvc.Repository.clone(str(published), tmp_path / "nb")
        here = repo.path("data/train.csv")
        assert here == tmp_path / "nb" / "data" / "train.csv" and here.read_text() == V2

        with repo.open("data/train.csv", rev="HEAD~1", on_progress=events.append) as f:
            assert f.read() == V1.encode()  # downloaded: the clone materialised only HEAD
        assert events and events[-1].step == "download" and events[-1].done == len(V1)
        old = repo.path("data/train.csv", rev="HEAD~1")
        assert old.read_text() == V1 and old.is_relative_to(repo.root / ".git")  # in the store
        assert not old.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)  # the store's, read-only
        assert here.read_text() == V2  # the work tree was not touched
        assert git(repo.root, "status", "--porcelain").stdout == ""

        write(repo.root, "data/new.csv", "new\n")
        added = repo.add()
        assert added.manifests == ("data.eosvc",) and added.stored == 1
        commit = repo.commit("new data")
        pushed = repo.push(on_progress=events.append)
        assert (pushed.remote, pushed.branch, pushed.commit) == ("origin", "main", commit)
        assert pushed.uploaded == 1 and pushed.bytes == 4
        assert events[-1].step == "upload"
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert capfd.readouterr() == ("", "")  # nor from git or the hooks, at the file-descriptor level
    assert obj_key("new\n") in s3.keys(s3.public_bucket)
    assert git(published, "rev-parse", "main").stdout.strip() == commit


def test_status_diff_files_fetch_and_checkout_return_typed_values(tmp_path: Path, published: Path) -> None:
    with notebook() as (out, err):
        repo = git_eosvc.Repository.clone(str(published), tmp_path / "nb", checkout=False)
        st = repo.status()
        assert not st.clean and {e.path for e in st.section("data").not_downloaded} == \
            {"data/train.csv", "data/notes.txt"}
        assert repo.fetch(["HEAD~1"]).downloaded == 3  # V1, notes, model
        done = repo.checkout()
        assert sorted(done.written) == ["data/notes.txt", "data/train.csv", "output/model.txt"]
        assert done.downloaded == 1  # V2; the rest were fetched
        assert repo.status().clean

        report = repo.diff("HEAD~1", "HEAD")
        assert [(o.path, n.size) for s in report.sections for o, n in s.modified] == [("data/train.csv", len(V2))]
        assert not repo.diff()  # HEAD vs the working manifests
        assert [e.path for e in repo.files("data", rev="HEAD~1")] == ["data/notes.txt", "data/train.csv"]
        assert {e.path: e.size for e in repo.files()}["data/train.csv"] == len(V2)

        (repo.root / "data/notes.txt").unlink()
        assert repo.path("data/notes.txt").read_text() == "notes\n"  # brought back
        assert repo.path("data") == repo.root / "data"
        write(repo.root, "data/train.csv", "mine\n")
        assert repo.path("data/train.csv").read_text() == "mine\n"  # local work: kept, not replaced
        assert repo.open("data/train.csv").read() == b"mine\n"
        assert [e.path for e in repo.status().section("data").unrecorded.modified[0]] == ["data/train.csv"] * 2
    assert (out.getvalue(), err.getvalue()) == ("", "")


def test_one_exception_family(tmp_path: Path, published: Path, s3, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(git_eosvc.UsageError, match="not a git repository"):
        git_eosvc.open_repo(tmp_path)
    with notebook() as (out, err), pytest.raises(git_eosvc.UsageError, match="git clone .* failed: fatal"):
        git_eosvc.Repository.clone(str(tmp_path / "nowhere.git"), tmp_path / "x")  # git's words: in the error
    assert (out.getvalue(), err.getvalue()) == ("", "")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    repo = git_eosvc.Repository.clone(str(published), tmp_path / "anon")  # public data only
    assert repo.path("data/train.csv").read_text() == V2
    cases = [
        (lambda: repo.path("README.md"), git_eosvc.UsageError, "not inside a section"),
        (lambda: repo.path("data/nope.csv"), git_eosvc.NotFoundError, "neither recorded"),
        (lambda: repo.open("data/nope.csv", rev="HEAD~1"), git_eosvc.NotFoundError, "not recorded at HEAD~1"),
        (lambda: repo.path("data/train.csv", rev="no-such-rev"), git_eosvc.UsageError, "unknown revision"),
        (lambda: repo.path("data", rev="HEAD"), git_eosvc.UsageError, "is a directory"),
        (lambda: repo.path("../x"), git_eosvc.UsageError, "'..' is not allowed"),
        (lambda: repo.path("output/model.txt"), git_eosvc.CredentialsError, "output/ is private"),
        (lambda: repo.open("output/model.txt", rev="HEAD~1"), git_eosvc.CredentialsError, "private"),
    ]
    for call, kind, words in cases:
        with pytest.raises(kind, match=re.escape(words)) as caught:
            call()
        assert isinstance(caught.value, git_eosvc.EosvcError)
    checked = repo.checkout()  # skipping a private section is a note here, not an error
    assert checked.skipped_sections == ("output",) and "skipped private section output/" in checked.notes[0]

    # a corrupt object on S3 is refused, and never lands in the store
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    s3.client().put_object(Bucket=s3.public_bucket, Key=obj_key(V1), Body=b"tampered")
    with pytest.raises(git_eosvc.TransferError, match="corrupt"):
        repo.open("data/train.csv", rev="HEAD~1")
    with pytest.raises(git_eosvc.UsageError, match="uncommitted changes"):
        write(repo.root, "data/x.csv", "x\n")
        repo.add()
        repo.push()


def test_path_and_open_from_many_threads(tmp_path: Path, published: Path) -> None:
    repo = git_eosvc.Repository.clone(str(published), tmp_path / "nb", checkout=False)
    wanted = {("data/train.csv", "HEAD~1"): V1, ("data/train.csv", "HEAD"): V2,
              ("data/notes.txt", "HEAD~1"): "notes\n", ("output/model.txt", "HEAD~1"): "weights\n",
              ("data/train.csv", None): V2, ("data/notes.txt", None): "notes\n"}
    barrier = threading.Barrier(8)

    def read(i: int) -> list[bool]:
        barrier.wait()  # all at once: the same objects downloaded by several threads together
        got = []
        for (p, rev), text in wanted.items():
            if (i + len(got)) % 2:
                got.append(repo.path(p, rev=rev).read_text() == text)
            else:
                with repo.open(p, rev=rev) as f:
                    got.append(f.read() == text.encode())
        return got

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, range(8)))
    assert all(all(r) for r in results), results
    assert (repo.root / "data/train.csv").read_text() == V2
    assert repo.status().section("data").clean


def test_progress_routes_to_a_callback_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside routed(): no line, whatever the mode; the callback gets every change. Another
    thread's Progress is not routed."""
    monkeypatch.setenv("EOSVC_PROGRESS_DELAY", "0")
    progress.configure("plain")
    try:
        events: list[ProgressEvent] = []
        stream = io.StringIO()
        with progress.routed(events.append):
            with Progress(100, "download", stream=stream, items=2) as p:
                assert not p.enabled

                def work() -> None:  # a transfer thread: the route was read at creation
                    p.update(50, items=1)
                worker = threading.Thread(target=work)
                worker.start()
                worker.join()
                p.add_total(10)
            other = io.StringIO()

            def elsewhere() -> None:
                with Progress(10, "upload", stream=other) as q:
                    q.update(10)
            t = threading.Thread(target=elsewhere)
            t.start()
            t.join()
        assert stream.getvalue() == ""
        assert "upload: 10 B/10 B" in other.getvalue()  # not routed: its own display
        assert ProgressEvent("download", 50, 110, 1, 2) in events
        with progress.routed(None), Progress(10, "hash", stream=stream) as p:
            p.update(10)  # routed nowhere: silent
        assert stream.getvalue() == ""
    finally:
        progress.configure("auto")


def test_the_cli_works_with_a_replaced_stdout(tmp_path: Path, published: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from git_eosvc import cli

    repo = git_eosvc.Repository.clone(str(published), tmp_path / "nb")
    monkeypatch.chdir(repo.root)
    with notebook() as (out, _):
        assert cli.main(["diff", "HEAD~1", "HEAD"]) == 0
        assert cli.main(["show-manifest", "data.eosvc"]) == 0
    assert "modified  data/train.csv" in out.getvalue()
    assert re.search(r"data/notes\.txt +6 B", out.getvalue())


def test_the_docs_run(tmp_path: Path, published: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of docs/api.md, in order, in one namespace."""
    text = (ROOT / "docs/api.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"url": str(published)}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/api.md block {i + 1}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"docs/api.md block {i + 1} failed:\n{block}") from exc
    assert git(published, "rev-parse", "main").stdout.strip() == namespace["commit"]


def test_importing_the_package_stays_cheap_and_exports_lazily() -> None:
    code = ("import sys, git_eosvc\n"
            "assert sorted(m for m in sys.modules if m.startswith('git_eosvc')) == ['git_eosvc'], sys.modules\n"
            "assert 'Repository' in dir(git_eosvc) and 'Repository' in git_eosvc.__all__\n"
            "assert issubclass(git_eosvc.NotFoundError, git_eosvc.EosvcError)\n"
            "assert git_eosvc.Repository.__module__ == 'git_eosvc.api'\n"
            "assert 'botocore' not in sys.modules\n"
            "from git_eosvc import cli\n"
            "try:\n    git_eosvc.nothing\nexcept AttributeError:\n    pass\nelse:\n    raise SystemExit(1)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr


def test_uploading_from_python_then_recover_elsewhere(tmp_path: Path, published: Path, s3) -> None:  # type: ignore[no-untyped-def]
    """`with repo.uploading(...)`: the job's files are on S3 when the block ends, and
    another clone brings them back with `git eosvc recover` (the command docs/watch.md names)."""
    repo = git_eosvc.Repository.clone(str(published), tmp_path / "job")
    with repo.uploading("output", every=0.5):
        write(repo.root, "output/epoch1.ckpt", "weights 1\n")
    assert obj_key("weights 1\n") in s3.keys(s3.private_bucket)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(published), str(other))
    eosvc(other, "install")
    eosvc(other, "recover", "output")
    assert (other / "output/epoch1.ckpt").read_text() == "weights 1\n"

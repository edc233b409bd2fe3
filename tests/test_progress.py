"""Progress on every long step (issue 13): a bar on a terminal, plain lines in logs,
nothing with -q; `-v` names each file; hooks honour git config. The end-to-end tests run
the real CLI and real hooks (`git push` -> pre-push) against the suite's S3 server."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from conftest import BIN, eosvc, git
from helpers import commit_all, new_repo, write

from git_eosvc import progress, ui
from git_eosvc.errors import ConfigError
from git_eosvc.progress import Progress


@pytest.fixture
def display() -> Iterator[None]:
    """Restore the process-wide display settings a unit test changes."""
    yield
    progress.configure("auto")
    ui.set_level("normal")


def lines(text: str, prefix: str) -> list[str]:
    return [ln for ln in re.split(r"[\r\n]+", text) if ln.startswith(prefix)]


# ------------------------------------------------------------------------ units


def test_plain_mode_writes_a_line_per_tenth_then_done(display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_PROGRESS_DELAY", "0")
    progress.configure("plain")
    out = io.StringIO()
    with Progress(1000, "upload", stream=out, items=100) as p:
        assert p.enabled
        for _ in range(100):
            p.update(10, items=1)
    got = out.getvalue().splitlines()
    assert len(got) == 11, got  # 10 %, 20 %, … 100 %, then "done"
    assert got[0].startswith("upload: 10/100 files, 100 B/1000 B (10%)")
    assert got[-1].startswith("upload: 100/100 files, 1000 B/1000 B") and got[-1].endswith("- done")


def test_plain_mode_is_silent_for_a_quick_step(display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EOSVC_PROGRESS_DELAY", raising=False)  # 2 s: nothing here takes that
    progress.configure("plain")
    out = io.StringIO()
    with Progress(10, "hash", stream=out) as p:
        p.add_total(5)
        p.update(15)
        assert (p.total, p.done) == (15, 15)
    assert out.getvalue() == ""


def test_auto_is_a_bar_on_a_terminal_and_plain_elsewhere(display: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EOSVC_PROGRESS_DELAY", "0")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    progress.configure("auto")
    term, pipe = Terminal(), io.StringIO()
    with Progress(10, "download", stream=term) as p:
        assert not p._plain
        p.update(10)
    assert "download" in term.getvalue()  # tqdm drew a bar
    with Progress(10, "download", stream=pipe) as p:
        assert p._plain


def test_quiet_shows_nothing_and_verbose_names_each_item(display: None, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EOSVC_PROGRESS_DELAY", "0")
    progress.configure("plain")
    ui.set_level("quiet")
    out = io.StringIO()
    with Progress(10, "upload", stream=out, items=1) as p:
        assert not p.enabled
        p.update(10)
        p.finished(10, "s3://b/k")
    ui.info("said")
    ui.warn("warned")
    ui.error("failed")
    assert out.getvalue() == ""
    assert capsys.readouterr().err == "error: failed\n"

    ui.set_level("verbose")
    progress.configure("none")
    with Progress(10, "upload", stream=out, items=1) as p:
        p.update(10)
        p.finished(10, "s3://b/k")
    assert out.getvalue() == "upload: s3://b/k (10 B)\n"


def test_settings_come_from_environment_then_git_config() -> None:
    assert progress.display_from({}, {}) == (None, None)
    assert progress.display_from({}, {"eosvc.progress": "plain", "eosvc.verbosity": "quiet"}) == ("plain", "quiet")
    assert progress.display_from({"EOSVC_PROGRESS": "bar"}, {"eosvc.progress": "plain"}) == ("bar", None)
    with pytest.raises(ConfigError, match="eosvc.progress: progress must be one of auto, bar, plain, none"):
        progress.display_from({}, {"eosvc.progress": "fancy"})
    with pytest.raises(ConfigError, match="verbosity must be one of quiet, normal, verbose"):
        progress.display_from({"EOSVC_VERBOSITY": "loud"}, {})


# ------------------------------------------------------------------ end to end

N = 200


@pytest.fixture
def ready(tmp_path: Path, remote: Path, s3: object, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clone with N new files committed, not yet pushed; progress decided by each test."""
    monkeypatch.delenv("EOSVC_PROGRESS")  # conftest's "none"
    monkeypatch.setenv("EOSVC_PROGRESS_DELAY", "0")  # a line per 10 %, however fast the step
    monkeypatch.setenv("EOSVC_PACK_MIN", "0")  # a request per file: progress moves file by file
    a = new_repo(tmp_path, remote)
    for i in range(N):
        write(a, f"data/f{i:04}.bin", os.urandom(64))
    commit_all(a, "many")
    return a


def test_a_push_in_a_log_prints_plain_lines(ready: Path) -> None:
    proc = eosvc(ready, "push")  # stderr is a pipe: plain lines
    ups = lines(proc.stderr, "upload: ")
    assert len(ups) >= 10 and ups[-1].startswith(f"upload: {N}/{N} files") and ups[-1].endswith("- done")
    assert "\r" not in proc.stderr


def test_quiet_prints_only_errors(ready: Path) -> None:
    proc = eosvc(ready, "push", "-q")
    assert proc.stderr == "" and proc.stdout == ""
    assert git(ready, "ls-remote", "origin", "main").stdout  # it did push
    broken = eosvc(ready, "-q", "checkout", "data/../../x", check=False)
    assert broken.returncode == 2 and broken.stderr.startswith("error: ")


def test_verbose_names_each_upload(ready: Path) -> None:
    proc = eosvc(ready, "push", "-v", "--progress", "none")
    assert len(lines(proc.stderr, "upload: s3://")) == N


def test_a_packed_push_counts_every_file(ready: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Packed, the bytes move in one request; the files are still counted and named."""
    monkeypatch.setenv("EOSVC_PACK_MIN", "32")
    proc = eosvc(ready, "push", "-v")
    assert len([line for line in proc.stderr.splitlines() if "(packed, bucket " in line]) == N
    assert lines(proc.stderr, "upload: ")[-1].startswith(f"upload: {N}/{N} files")


def test_add_shows_hashing_progress(ready: Path) -> None:
    for i in range(N):
        write(ready, f"data/f{i:04}.bin", os.urandom(64))
    proc = eosvc(ready, "add", "--progress", "plain")
    assert lines(proc.stderr, "hash: ")[-1].startswith(f"hash: {N}/{N} files")


@pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` (a terminal) is not installed")
def test_a_push_on_a_terminal_draws_a_bar(ready: Path) -> None:
    """Under `script`, stderr is a terminal: tqdm redraws one line with carriage returns."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["script", "-qec", "git-eosvc push", "/dev/null"], cwd=ready, env=env,
                          capture_output=True, timeout=120)  # bytes: keep the \r
    out = proc.stdout.decode(errors="replace")
    assert proc.returncode == 0, out
    assert re.search(r"\rupload:\s+\d+%\|", out), out  # tqdm's bar, redrawn in place
    assert not re.search(r"^upload: \d", out, re.M)  # not the plain lines
    assert git(ready, "ls-remote", "origin", "main").stdout


def test_the_pre_push_hook_honours_git_config(ready: Path) -> None:
    """Plain `git push`: the hook reads eosvc.progress / eosvc.verbosity from git config."""
    proc = git(ready, "-c", "eosvc.progress=plain", "push", "-u", "origin", "main")
    assert lines(proc.stderr, "upload: ")[-1].startswith(f"upload: {N}/{N} files")
    write(ready, "data/one-more.bin", b"x")
    commit_all(ready, "one more")
    proc = git(ready, "-c", "eosvc.verbosity=quiet", "push")
    assert "git-eosvc" not in proc.stderr and "upload" not in proc.stderr
    bad = git(ready, "-c", "eosvc.progress=fancy", "push", check=False)
    assert bad.returncode != 0 and "eosvc.progress" in bad.stderr

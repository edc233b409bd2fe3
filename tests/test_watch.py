"""Issue 10 item 2: background upload for long jobs (`git eosvc watch`, `uploading`), and
`git eosvc recover` on another clone. Real git, the suite's S3 server, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import BIN, S3, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, write

CKPTS = "model/checkpoints"
REF = "refs/eosvc/wip/main/model-checkpoints"

# A fake training run: checkpoint i at `start + i` seconds, for `n` checkpoints; `rename`
# writes a temporary name then renames it, `inplace` writes the file itself in five slow chunks.
TRAIN = textwrap.dedent('''\
    import os, sys, time
    out, mode, n, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(out, exist_ok=True)
    start = time.time()
    with open(marker, "w") as f:
        f.write(repr(start))
    def payload(i):
        return (f"checkpoint {i} " * 30000).encode()[:300000]
    for i in range(n):
        time.sleep(max(0.0, start + i - time.time()))
        data = payload(i)
        if mode == "rename":
            with open(f"{out}/ckpt_{i}.pt.tmp", "wb") as f:
                f.write(data)
            os.replace(f"{out}/ckpt_{i}.pt.tmp", f"{out}/ckpt_{i}.pt")
        else:
            with open(f"{out}/ckpt_{i}.pt", "wb") as f:
                for k in range(5):
                    f.write(data[k * 60000:(k + 1) * 60000])
                    f.flush()
                    time.sleep(0.1)
    time.sleep(float(os.environ.get("TRAIN_LINGER", "0")))
''')


def payload(i: int) -> bytes:
    return (f"checkpoint {i} " * 30000).encode()[:300000]


def model_repo(tmp_path: Path, remote: Path) -> Path:
    """A model repo (model/checkpoints public), committed and pushed; train.py beside it."""
    work = new_repo(tmp_path, remote, "a", "--kind", "model")
    commit_all(work, "init")
    git(work, "push", "-q", "-u", "origin", "main")
    (tmp_path / "train.py").write_text(TRAIN)
    return work


def start_watch(work: Path, *args: str) -> subprocess.Popen[str]:
    """`git eosvc watch ARGS…` in its own process group (the "machine" a test can kill)."""
    return subprocess.Popen([str(BIN / "git-eosvc"), "watch", *args], cwd=work, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, timeout: float = 20) -> float:
    limit = time.time() + timeout
    while not path.exists() or not path.read_text():
        assert time.time() < limit, f"{path} never appeared"
        time.sleep(0.02)
    return float(path.read_text())


def recovered_checkpoints(tmp_path: Path, remote: Path, name: str = "b") -> dict[int, bytes]:
    """A fresh clone elsewhere runs the documented command; what it holds afterwards."""
    b = clone(tmp_path, remote, name)
    eosvc(b, "install")
    proc = eosvc(b, "recover", CKPTS)
    assert "recovered model/checkpoints/" in proc.stderr
    out = {}
    for p in sorted((b / CKPTS).iterdir()):
        assert p.name.startswith("ckpt_") and p.name.endswith(".pt"), p.name  # no temporary file
        out[int(p.name[5:-3])] = p.read_bytes()
    return out


def killed_run(tmp_path: Path, remote: Path, mode: str) -> tuple[dict[int, bytes], str]:
    work = model_repo(tmp_path, remote)
    marker = tmp_path / "started"
    proc = start_watch(work, CKPTS, "--every", "1", "--", sys.executable, str(tmp_path / "train.py"),
                       CKPTS, mode, "10", str(marker))
    try:
        start = wait_for(marker)
        time.sleep(max(0.0, start + 7 - time.time()))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the machine dies: the watcher and the job at once
        _, err = proc.communicate()
    assert "Traceback" not in err, err
    return recovered_checkpoints(tmp_path, remote), err


@pytest.mark.parametrize("mode", ["rename", "inplace"])
def test_a_killed_training_run_keeps_its_checkpoints(tmp_path: Path, remote: Path, s3: S3, mode: str) -> None:
    """Acceptance: checkpoints every second for 10 s, SIGKILL at 7 s (the whole process
    group); a fresh clone recovers those written by 5 s (in place: by 4 s, each is still
    being written for half a second), byte-identical, and nothing half-written."""
    got, err = killed_run(tmp_path, remote, mode)
    expected = range(6) if mode == "rename" else range(5)
    assert set(expected) <= set(got), (sorted(got), err)
    for i, data in got.items():
        assert data == payload(i), f"checkpoint {i} is not what the job wrote"
    assert max(got) <= 6
    keys = s3.keys(s3.public_bucket)
    assert all(obj_key(payload(i)) in keys for i in got)


def test_the_with_block_flushes_on_an_exception(tmp_path: Path, remote: Path, s3: S3) -> None:
    """A file written just before the block fails is uploaded and recorded (final sync), the
    exception propagates; nothing in the work tree's manifests or index changes."""
    from git_eosvc.engine.watch import uploading

    work = model_repo(tmp_path, remote)
    with pytest.raises(RuntimeError, match="diverged"), uploading(work, CKPTS, every=300):
        write(work, f"{CKPTS}/last.pt", "the last good weights\n")
        raise RuntimeError("loss diverged")
    assert obj_key("the last good weights\n") in s3.keys(s3.public_bucket)
    listed = git(remote, "show", f"{REF}:model/checkpoints.eosvc").stdout
    assert "model/checkpoints/last.pt" in listed
    assert git(work, "status", "--porcelain").stdout == ""  # nothing staged or rewritten here
    assert not (work / "model/checkpoints.eosvc").exists() or \
        "last.pt" not in (work / "model/checkpoints.eosvc").read_text()


def test_sigterm_flushes_and_the_exit_code_is_the_jobs(tmp_path: Path, remote: Path, s3: S3) -> None:
    """SIGTERM to the watcher goes on to the job; when the job has exited, a final sync
    uploads what it wrote, even a file it wrote a moment ago."""
    work = model_repo(tmp_path, remote)
    marker = tmp_path / "started"
    job = (f"import pathlib, time; pathlib.Path({str(work / CKPTS)!r}).mkdir(parents=True, exist_ok=True); "
           f"pathlib.Path({str(work / CKPTS / 'w.pt')!r}).write_text('fresh\\n'); "
           f"pathlib.Path({str(marker)!r}).write_text('1'); time.sleep(60)")
    proc = start_watch(work, CKPTS, "--every", "5m", "--", sys.executable, "-c", job)
    wait_for(marker)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "final sync" in err
    assert obj_key("fresh\n") in s3.keys(s3.public_bucket)
    assert "model/checkpoints/w.pt" in git(remote, "show", f"{REF}:model/checkpoints.eosvc").stdout


def test_the_context_manager_flushes_on_sigterm(tmp_path: Path, remote: Path, s3: S3) -> None:
    """In a Python job, SIGTERM (a scheduler stopping it) ends the block like an exception:
    the final sync runs, the process exits 143."""
    work = model_repo(tmp_path, remote)
    job = textwrap.dedent(f"""\
        import os, pathlib, signal, time
        from git_eosvc.engine.watch import uploading
        with uploading({str(work)!r}, "model/checkpoints", every=300):
            pathlib.Path({str(work / CKPTS)!r}).mkdir(parents=True, exist_ok=True)
            pathlib.Path({str(work / CKPTS / "s.pt")!r}).write_text("stopped\\n")
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(60)
        """)
    proc = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert obj_key("stopped\n") in s3.keys(s3.public_bucket)


def test_after_the_job_add_and_push_upload_nothing_new(tmp_path: Path, remote: Path, s3: S3) -> None:
    """The watcher stored and uploaded everything: `git eosvc add` stores nothing, `git
    push` uploads nothing (S3 keys unchanged), the job's exit code is the command's."""
    work = model_repo(tmp_path, remote)
    job = (f"import pathlib, sys; d = pathlib.Path({str(work / CKPTS)!r}); d.mkdir(parents=True, exist_ok=True); "
           "[(d / f'e{i}.pt').write_bytes(bytes([i]) * 1000) for i in range(3)]; sys.exit(3)")
    proc = start_watch(work, CKPTS, "--every", "1", "--", sys.executable, "-c", job)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    keys = s3.keys(s3.public_bucket)
    assert all(obj_key(bytes([i]) * 1000) in keys for i in range(3))
    added = eosvc(work, "add")
    assert "stored locally" not in added.stderr
    git(work, "commit", "-q", "-m", "three epochs")
    assert "would upload 0 object(s)" in eosvc(work, "push", "--dry-run").stdout
    pushed = git(work, "push", "-q")
    assert "uploaded" not in pushed.stderr
    assert s3.keys(s3.public_bucket) == keys


def test_recover_never_destroys_local_work(tmp_path: Path, remote: Path, s3: S3) -> None:
    """A clone whose own file sits where the WIP has another version keeps it and says so;
    the other files arrive; nothing is staged."""
    from git_eosvc.engine.watch import uploading

    work = model_repo(tmp_path, remote)
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    with uploading(work, CKPTS, every=300):
        write(work, f"{CKPTS}/a.pt", "from the job\n")
        write(work, f"{CKPTS}/b.pt", "also from the job\n")
    write(b, f"{CKPTS}/a.pt", "my own edit\n")
    write(b, f"{CKPTS}/c.pt", "half-writt")
    proc = eosvc(b, "recover")
    assert "kept model/checkpoints/a.pt" in proc.stderr
    assert "not in the recovered state" in proc.stderr and "model/checkpoints/c.pt" in proc.stderr
    assert (b / CKPTS / "c.pt").read_text() == "half-writt"
    assert (b / CKPTS / "a.pt").read_text() == "my own edit\n"
    assert (b / CKPTS / "b.pt").read_text() == "also from the job\n"
    assert git(b, "diff", "--cached", "--name-only").stdout == ""
    status = eosvc(b, "status").stdout
    assert "model/checkpoints/b.pt" in status


def test_recover_without_work_in_progress_says_so(tmp_path: Path, remote: Path, s3: S3) -> None:
    work = model_repo(tmp_path, remote)
    proc = eosvc(work, "recover", check=False)
    assert proc.returncode == 1
    assert "no work in progress of branch main" in proc.stderr


def test_unchanged_syncs_only_stat(tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cheap path: a second look at an unchanged section hashes nothing, runs no git and
    asks S3 nothing; a file still being written waits until it has settled."""
    import git_eosvc.engine.watch as watch_mod

    work = model_repo(tmp_path, remote)
    for i in range(20):
        write(work, f"{CKPTS}/old{i}.pt", f"old {i}\n")
    time.sleep(1.1)  # settled: unchanged for `settle` seconds (ctime too: no utime trick)
    up = watch_mod.Uploader(work, CKPTS, every=300, settle=1)
    try:
        first = up.sync()
        assert first is not None and first.commit is not None and first.files == 20
        scans: list[object] = []
        monkeypatch.setattr(watch_mod, "scan", lambda *a, **k: scans.append(a))
        monkeypatch.setattr(watch_mod.WipRef, "publish", lambda *a, **k: scans.append(a))
        assert up.sync() is None and scans == []
        write(work, f"{CKPTS}/new.pt", "being written\n")  # fresh: not settled yet
        assert up.sync() is None and scans == [] and up._pending
    finally:
        monkeypatch.undo()
        up.close()  # the final sync takes it: the writer is done
    assert obj_key("being written\n") in s3.keys(s3.public_bucket)


def test_interval_and_refusals(tmp_path: Path, remote: Path, s3: S3, monkeypatch: pytest.MonkeyPatch) -> None:
    from git_eosvc.cli_watch import interval

    assert [interval(t) for t in ("300", "300s", "5m", "1.5h", "0.5")] == [300, 300, 300, 5400, 0.5]
    work = model_repo(tmp_path, remote)
    proc = eosvc(work, "watch", "--every", "0", CKPTS, check=False)
    assert proc.returncode == 2 and "duration" in proc.stderr
    proc = eosvc(work, "watch", "data", "--", "true", check=False)
    assert proc.returncode == 2 and "not inside a section" in proc.stderr
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    proc = eosvc(work, "watch", CKPTS, "--", "true", check=False)
    assert proc.returncode == 2 and "no credentials" in proc.stderr

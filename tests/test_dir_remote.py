"""A directory remote (endpoint file:///path): S3's layout under one directory per bucket,
no credentials, no botocore. Every git-eosvc process these tests start runs with a poisoned
`botocore` first on PYTHONPATH: importing it records the fact and fails."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, eosvc, git
from helpers import clone, commit_all, new_repo, obj_key, snapshot, write

from git_eosvc.cache import Store
from git_eosvc.config import Settings, resolve
from git_eosvc.errors import ConfigError, CredentialsError
from git_eosvc.hashing import hash_bytes
from git_eosvc.remote import Remote
from git_eosvc.transfer import Download, Upload

PUB, PRIV = "lab-public", "lab-private"


@dataclass
class DirRemote:
    root: Path
    marker: Path  # written by the poisoned botocore, should anything import it

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def path(self, bucket: str, data: bytes | str) -> Path:
        return self.root / bucket / obj_key(data)

    def objects(self, bucket: str) -> list[Path]:
        return sorted(p for p in (self.root / bucket).rglob("*") if p.is_file())


def _poison(tmp_path: Path) -> tuple[Path, Path]:
    shim = tmp_path / "no-botocore"
    marker = tmp_path / "botocore-imported"
    (shim / "botocore").mkdir(parents=True)
    (shim / "botocore" / "__init__.py").write_text(
        "import os, traceback\n"
        f"open({str(marker)!r}, 'a').write(''.join(traceback.format_stack()) + '\\n')\n"
        "raise ImportError('a directory remote must not import botocore')\n")
    return shim, marker


@pytest.fixture
def dremote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DirRemote:
    """Buckets as directories (the private one 0700), the environment pointing at them, no
    AWS credentials at all, and botocore poisoned for every subprocess."""
    root = tmp_path / "remote objects"  # a space: the URL is percent-encoded
    shim, marker = _poison(tmp_path)
    settings = Settings(repo="proj", public_bucket=PUB, private_bucket=PRIV, endpoint=root.as_uri())
    with Remote(settings, None) as r:
        assert r.create_bucket(PUB, public_read=True) == (True, None)
        assert r.create_bucket(PRIV, public_read=False) == (True, None)
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", root.as_uri())
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", PUB)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", PRIV)
    monkeypatch.setenv("PYTHONPATH", str(shim))
    yield DirRemote(root, marker)
    assert not marker.exists(), "botocore was imported:\n" + marker.read_text()


# ------------------------------------------------------------------ the quickstart


def test_quickstart_runs_against_a_directory_remote(tmp_path: Path) -> None:
    shim, marker = _poison(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(shim))
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "quickstart.py"), "--file-remote"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quickstart: all steps passed" in proc.stdout
    assert "mode 0700" in proc.stdout and "alice has bob's change: True" in proc.stdout
    assert "'output/predictions.csv'" in proc.stdout  # no credentials, yet the private section came
    assert not marker.exists(), marker.read_text()


# ------------------------------------------------------------------ end to end


def test_push_clone_pull_round_trip_without_credentials(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    assert not [k for k in os.environ if k.startswith("AWS_")]
    a = new_repo(tmp_path, remote)
    write(a, "data/train.csv", "x,y\n1,2\n")
    write(a, "data/big.bin", os.urandom(300_000))
    write(a, "output/pred.csv", "secret predictions\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")

    # exactly S3's key layout, one directory per bucket; private bytes only in the private one
    assert dremote.path(PUB, "x,y\n1,2\n").read_bytes() == b"x,y\n1,2\n"
    assert dremote.path(PRIV, "secret predictions\n").is_file()
    assert len(dremote.objects(PUB)) == 2 and len(dremote.objects(PRIV)) == 1
    assert stat.S_IMODE((dremote.root / PRIV).stat().st_mode) == 0o700
    assert stat.S_IMODE(dremote.path(PUB, "x,y\n1,2\n").stat().st_mode) == 0o444

    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    assert snapshot(b, "data", "output") == snapshot(a, "data", "output")

    write(b, "data/train.csv", "x,y\n1,2\n3,4\n")
    write(b, "output/pred.csv", "better predictions\n")
    commit_all(b, "more")
    git(b, "push", "-q")
    git(a, "pull", "-q")
    assert snapshot(a, "data", "output") == snapshot(b, "data", "output")
    assert (a / "output/pred.csv").read_text() == "better predictions\n"

    # `git eosvc push` (the EOSVC command) and the API need no credentials either
    write(a, "output/more.csv", "m\n")
    commit_all(a, "again")
    eosvc(a, "push")
    assert dremote.path(PRIV, "m\n").is_file()


def test_status_remote_verify_and_view(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/d.txt", "public bytes\n")
    write(a, "output/o.txt", "private bytes\n")
    commit_all(a, "base")
    out = eosvc(a, "status", "--remote").stdout
    assert "not uploaded" in out and "data/d.txt" in out and "output/o.txt" in out
    git(a, "push", "-q", "-u", "origin", "main")
    assert "not uploaded" not in eosvc(a, "status", "--remote").stdout
    assert "0 missing on the directory remote" in eosvc(a, "verify").stderr
    view = eosvc(a, "view").stdout.split("\n", 1)[1]  # after the legend
    assert "✗" not in view and view.count("✓") == 2

    dremote.path(PRIV, "private bytes\n").unlink()
    proc = eosvc(a, "verify", check=False)
    assert proc.returncode == 1
    assert "not on the directory remote: output/o.txt" in proc.stderr and str(dremote.root / PRIV) in proc.stderr
    assert "output/o.txt" in eosvc(a, "status", "--remote").stdout.split("not uploaded")[1]


def test_a_corrupted_object_is_detected_and_never_materialised(tmp_path: Path, remote: Path,
                                                               dremote: DirRemote) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/good.txt", "good\n")
    write(a, "data/victim.txt", "the true bytes\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    victim = dremote.path(PUB, "the true bytes\n")
    victim.chmod(0o644)
    victim.write_bytes(b"the evil bytes\n")  # same size, other bytes

    b = clone(tmp_path, remote, "b")
    eosvc(b, "install", check=False)
    assert (b / "data/good.txt").read_text() == "good\n"
    assert not (b / "data/victim.txt").exists()
    proc = eosvc(b, "checkout", check=False)
    assert proc.returncode == 1
    assert "corrupt (sha256 mismatch)" in proc.stderr and str(victim) in proc.stderr
    assert not (b / "data/victim.txt").exists()
    victim.write_bytes(b"the true bytes\n and then some")  # longer: also refused, never a partial copy
    assert "corrupt" in eosvc(b, "checkout", check=False).stderr
    tmp = b / ".git/eosvc/objects/tmp"
    assert not tmp.exists() or not list(tmp.iterdir())


def test_concurrent_pushes_from_two_clones(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    a = new_repo(tmp_path, remote)
    write(a, "data/base.txt", "base\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    shared = os.urandom(2_000_000)  # the same object, pushed by both at once
    for work, name in ((a, "a"), (b, "b")):
        git(work, "switch", "-q", "-c", f"topic-{name}")
        write(work, "data/shared.bin", shared)
        for i in range(20):
            write(work, f"output/{name}-{i}.txt", f"{name} {i}\n")
        commit_all(work, name)
    procs = [subprocess.Popen(["git", "push", "-q", "origin", f"topic-{n}"], cwd=w, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w, n in ((a, "a"), (b, "b"))]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    for bucket in (PUB, PRIV):
        for path in dremote.objects(bucket):
            assert not path.name.endswith(".eosvc-tmp"), path  # no temporary file left
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    assert len(dremote.objects(PRIV)) == 40 and dremote.path(PUB, shared).read_bytes() == shared


def test_remote_api_concurrent_uploads_list_and_delete(tmp_path: Path, dremote: DirRemote) -> None:
    settings = Settings(repo="proj", public_bucket=PUB, private_bucket=PRIV, endpoint=dremote.url, jobs=4)
    blobs = [os.urandom(n) for n in (0, 1, 70_000, 5)]
    items = []
    for i, data in enumerate(blobs):
        (tmp_path / f"f{i}").write_bytes(data)
        items.append(Upload(PUB, hash_bytes(data), len(data), tmp_path / f"f{i}"))
    reports = []

    def push() -> None:
        with Remote(settings, None) as r:
            reports.append(r.upload(items))

    threads = [threading.Thread(target=push) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reports) == 6 and all(rep.ok and rep.done == {i.oid for i in items} for rep in reports)
    r = Remote(settings, None)
    assert r.can_write() and r.can_read(PRIV) and r.is_directory and not r.has_credentials
    assert r.missing(PUB, [i.oid for i in items]) == set()
    assert r.missing(PRIV, [i.oid for i in items]) == {i.oid for i in items}
    write(dremote.root / PUB, "proj/objects/sha256/00/00/stray", "not an object")
    listed = r.list(PUB)
    assert [s.oid for s in listed] == sorted(i.oid for i in items)
    assert {s.oid: s.size for s in listed} == {i.oid: i.size for i in items}
    assert r.list(PRIV) == []
    assert r.delete(PUB, [items[0].oid, hash_bytes(b"never there")]) == {}
    assert r.missing(PUB, [items[0].oid]) == {items[0].oid}

    store = Store(tmp_path / "store")
    report = r.download([Download(PUB, i.oid, i.size) for i in items[1:]], store)
    assert report.ok and all(store.object_path(i.oid).read_bytes() == blobs[n + 1] for n, i in enumerate(items[1:]))
    gone = r.download([Download(PUB, items[0].oid, 0)], store)
    assert "missing on the directory remote" in gone.failed[items[0].oid]

    # an upload whose source changed since it was hashed leaves nothing behind
    (tmp_path / "f3").write_bytes(b"other")
    item = Upload(PRIV, items[3].oid, 5, tmp_path / "f3")
    assert "changed since it was hashed" in r.upload([item]).failed[item.oid]
    assert dremote.objects(PRIV) == []


def test_private_bucket_open_to_others_is_refused(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    (dremote.root / PRIV).chmod(0o755)
    a = new_repo(tmp_path, remote)
    write(a, "output/o.txt", "private\n")
    commit_all(a, "base")
    proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
    assert proc.returncode != 0
    assert "may be entered by anyone" in proc.stderr and "chmod 700" in proc.stderr
    assert dremote.objects(PRIV) == []
    assert "PROBLEM" in eosvc(a, "doctor", check=False).stdout


def test_missing_bucket_or_root_is_named(tmp_path: Path, remote: Path, dremote: DirRemote,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (dremote.root / PUB).rmdir()
    a = new_repo(tmp_path, remote)
    write(a, "data/d.txt", "d\n")
    commit_all(a, "base")
    proc = git(a, "push", "-q", "-u", "origin", "main", check=False)
    assert proc.returncode != 0 and f"bucket {PUB} does not exist" in proc.stderr
    assert "--create-buckets" in proc.stderr
    eosvc(a, "init", "--create-buckets")  # makes it; the private one is found as it was
    git(a, "push", "-q", "-u", "origin", "main")
    assert dremote.path(PUB, "d\n").is_file()

    monkeypatch.setenv("EOSVC_ENDPOINT_URL", (tmp_path / "not mounted").as_uri())
    proc = eosvc(a, "status", "--remote", check=False)
    assert proc.returncode == 1 and "does not exist" in proc.stderr and "mounted" in proc.stderr


def test_import_eosvc_is_refused_for_a_directory_remote(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    a = new_repo(tmp_path, remote)
    proc = eosvc(a, "import-eosvc", check=False)
    assert proc.returncode == 2 and "remote is a directory" in proc.stderr


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize("url", ["file:relative/path", "file://relative/path", "file://host/abs", "file:///a/../b",
                                 "ftp://example.com", "s3://bucket", "/abs/path"])
def test_endpoint_refuses_what_is_not_http_or_an_absolute_file_url(url: str) -> None:
    with pytest.raises(ConfigError) as e:
        resolve({"EOSVC_ENDPOINT_URL": url}, {}, {}, "proj")
    assert "EOSVC_ENDPOINT_URL" in e.value.message


def test_endpoint_file_url_names_a_directory() -> None:
    s = resolve({}, {}, {"eosvc.endpoint": "file:///mnt/lab%20disk/eosvc/"}, "proj")
    assert s.directory == Path("/mnt/lab disk/eosvc")
    assert resolve({}, {}, {"eosvc.endpoint": "file://localhost/x"}, "proj").directory == Path("/x")
    assert resolve({}, {}, {"eosvc.endpoint": "https://s3.example"}, "proj").directory is None
    assert resolve({}, {}, {}, "proj").directory is None


@pytest.mark.parametrize("bucket", ["..", "../escape", "a/b", "Upper", "x", "-lead", "a..b", "/abs"])
def test_hostile_bucket_names_cannot_escape_the_root(tmp_path: Path, bucket: str) -> None:
    settings = Settings(repo="proj", public_bucket=bucket, private_bucket="fine-private",
                        endpoint=tmp_path.as_uri())
    r = Remote(settings, None)
    with pytest.raises(ConfigError):
        r.missing(bucket, [hash_bytes(b"x")])
    with pytest.raises(ConfigError):
        r.create_bucket(bucket, public_read=True)
    assert list(tmp_path.iterdir()) == []


def test_s3_still_demands_credentials_to_write(tmp_path: Path) -> None:
    r = Remote(Settings(repo="proj", endpoint="http://127.0.0.1:9"), None)
    assert not r.can_write() and not r.can_read("eosvc-private") and r.can_read("eosvc-public")
    with pytest.raises(CredentialsError):
        r.upload([])


def test_a_directory_remote_imports_no_botocore(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib\n"
        "from git_eosvc.config import Settings\n"
        "from git_eosvc.remote import Remote\n"
        "from git_eosvc.cache import Store\n"
        "from git_eosvc.hashing import hash_bytes\n"
        "from git_eosvc.transfer import Upload, Download\n"
        "root = pathlib.Path(sys.argv[1])\n"
        "r = Remote(Settings(repo='p', public_bucket='pub', private_bucket='priv', endpoint=root.as_uri()), None)\n"
        "r.create_bucket('pub', True)\n"
        "src = root / 'src'; src.write_bytes(b'abc'); oid = hash_bytes(b'abc')\n"
        "assert r.upload([Upload('pub', oid, 3, src)]).ok\n"
        "assert r.download([Download('pub', oid, 3)], Store(root / 'store')).ok\n"
        "assert r.missing('pub', [oid]) == set() and r.list('pub')\n"
        "assert 'botocore' not in sys.modules, 'botocore imported'\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, cwd=ROOT)


def test_remote_gc_on_a_directory_remote(tmp_path: Path, remote: Path, dremote: DirRemote) -> None:
    """The same `gc --remote` as on S3 (Remote.list/delete): dry run first, then only what no
    commit of the git remote needs goes, public and private alike."""
    a = new_repo(tmp_path, remote)
    write(a, "data/keep.csv", "keep\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    git(a, "switch", "-q", "-c", "scratch")
    write(a, "data/tmp.csv", "scratch\n")
    write(a, "output/tmp.txt", "private scratch\n")
    commit_all(a, "scratch")
    git(a, "push", "-q", "origin", "scratch")
    git(a, "switch", "-q", "main")
    git(a, "push", "-q", "origin", "--delete", "scratch")
    git(a, "branch", "-q", "-D", "scratch")
    git(a, "reflog", "expire", "--expire=now", "--all")

    dry = eosvc(a, "gc", "--remote", "--grace", "0")
    assert dremote.path(PUB, "scratch\n").is_file() and dremote.path(PRIV, "private scratch\n").is_file()
    assert dry.stdout.startswith("would delete 2 of 3 S3 object(s)")
    done = eosvc(a, "gc", "--remote", "--grace", "0", "--apply")
    freed = len(b"scratch\n") + len(b"private scratch\n")
    assert done.stdout.startswith(f"deleted 2 of 3 S3 object(s), freed {freed} B"), done.stdout
    assert not dremote.path(PUB, "scratch\n").exists() and not dremote.path(PRIV, "private scratch\n").exists()
    assert dremote.path(PUB, "keep\n").read_bytes() == b"keep\n"
    assert dremote.marker.exists() is False  # no botocore was imported

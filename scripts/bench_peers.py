"""The tools scripts/bench.py compares, behind one interface: git-eosvc, a bare boto3 loop,
DVC and Git LFS. Each round of a workload gives each tool its own git repository (with a
bare remote beside it) and its own S3 prefix; every tool talks to S3 through the counting
proxy (scripts/bench_proxy.py), Git LFS through that proxy's LFS batch API.

DVC is found by `--dvc PATH`, else on PATH, else at /tmp/dvcvenv/bin/dvc (install it in its
own venv: `python3 -m venv /tmp/dvcvenv && /tmp/dvcvenv/bin/pip install 'dvc[s3]'`); Git LFS
is `git lfs` (`apt-get install git-lfs`). A tool that is not installed is skipped with the
reason.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MiB = 1 << 20
BIG = 64 * MiB  # boto3: upload_file / download_file (multipart) from this size on
DVC_VENV = Path("/tmp/dvcvenv/bin/dvc")


def run(cwd: Path, env: dict[str, str], *cmd: str) -> str:
    """Run a command; its stdout, or SystemExit with its output when it fails."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode}) in {cwd}:\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


@dataclass
class Site:
    """What every tool shares: the temporary folder, the environment, S3 behind the proxy."""

    work: Path
    env: dict[str, str]
    endpoint: str  # the counting proxy's URL
    bucket: str
    jobs: int
    s3: Any  # a boto3 S3 client on `endpoint`


class Tool:
    """One tool's way to track data/ in a repository at `wd` and move it through S3."""

    name = ""
    has_add = True  # an add/track step (bare boto3 has none)
    has_remote_status = False

    def __init__(self, site: Site) -> None:
        self.site = site
        self.env = site.env

    def missing(self) -> str | None:
        """Why this tool cannot run here, or None."""
        return None

    def version(self) -> str:
        raise NotImplementedError

    def setup(self, wd: Path, prefix: str) -> None:
        """A git repository at wd (remote: wd.git) configured for this tool, its files committed."""
        remote = wd.with_suffix(".git")
        run(self.site.work, self.env, "git", "init", "-q", "--bare", str(remote))
        wd.mkdir()
        run(wd, self.env, "git", "init", "-q")
        run(wd, self.env, "git", "remote", "add", "origin", str(remote))
        self.configure(wd, prefix)
        run(wd, self.env, "git", "add", "-A")
        run(wd, self.env, "git", "commit", "-q", "-m", "init")

    def configure(self, wd: Path, prefix: str) -> None:
        raise NotImplementedError

    def add(self, wd: Path) -> None:
        raise NotImplementedError

    def commit(self, wd: Path, message: str) -> None:
        run(wd, self.env, "git", "add", "-A")
        run(wd, self.env, "git", "commit", "-q", "-m", message)

    def push(self, wd: Path) -> None:
        run(wd, self.env, "git", "push", "-q", "origin", "main")

    def clone(self, wd: Path, dest: Path) -> None:
        """A clone of wd's remote at dest, without the data (not timed)."""
        run(self.site.work, self.env, "git", "clone", "-q", str(wd.with_suffix(".git")), str(dest))

    def pull(self, dest: Path) -> None:
        """Bring the data into the clone at dest (timed)."""
        raise NotImplementedError

    def update(self, dest: Path) -> None:
        """Bring the clone at dest, which holds the data of an older commit, up to date
        (timed): `git pull`, then the tool's own pull."""
        run(dest, self.env, "git", "pull", "-q")
        self.pull(dest)

    def status(self, wd: Path) -> None:
        """The tool's local status with nothing to do."""
        raise NotImplementedError

    def status_remote(self, wd: Path) -> None:
        """What is not yet on the remote, with nothing to do."""
        raise NotImplementedError


class Eosvc(Tool):
    name = "git-eosvc"
    has_remote_status = True

    def version(self) -> str:
        return run(self.site.work, self.env, "git", "eosvc", "--version").strip()

    def configure(self, wd: Path, prefix: str) -> None:
        run(wd, self.env, "git", "eosvc", "init", "--repo", prefix, "--public-bucket", self.site.bucket,
            "--private-bucket", self.site.bucket + "-priv")

    def add(self, wd: Path) -> None:
        run(wd, self.env, "git", "eosvc", "add")

    def commit(self, wd: Path, message: str) -> None:
        run(wd, self.env, "git", "commit", "-q", "-m", message)  # add staged the manifest

    def clone(self, wd: Path, dest: Path) -> None:
        run(self.site.work, dict(self.env, EOSVC_SKIP="1"), "git", "clone", "-q",
            str(wd.with_suffix(".git")), str(dest))

    def pull(self, dest: Path) -> None:
        run(dest, self.env, "git", "eosvc", "install")

    def update(self, dest: Path) -> None:
        run(dest, self.env, "git", "pull", "-q")  # the hooks bring the bytes

    def status(self, wd: Path) -> None:
        run(wd, self.env, "git", "eosvc", "status")

    def status_remote(self, wd: Path) -> None:
        run(wd, self.env, "git", "eosvc", "status", "--remote")


class Boto3(Tool):
    """The bare loop a user would write: put_object / get_object, upload_file / download_file
    (multipart) for files of 64 MiB and more; keys are the paths under data/. No git."""

    name = "boto3"
    has_add = False

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        self.prefixes: dict[Path, str] = {}  # a "repository" here is a folder and its prefix

    def version(self) -> str:
        import boto3

        return f"boto3 {boto3.__version__}"

    def setup(self, wd: Path, prefix: str) -> None:
        wd.mkdir()
        self.prefixes[wd] = prefix

    def _config(self, n: int) -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=BIG, multipart_chunksize=BIG,
                              max_concurrency=max(1, self.site.jobs // max(1, min(n, self.site.jobs))))

    def push(self, wd: Path) -> None:
        files = [p for p in (wd / "data").rglob("*") if p.is_file()]
        prefix, s3, cfg = self.prefixes[wd], self.site.s3, self._config(len(files))

        def one(p: Path) -> None:
            key = f"{prefix}/{p.relative_to(wd).as_posix()}"
            if p.stat().st_size < BIG:
                s3.put_object(Bucket=self.site.bucket, Key=key, Body=p.read_bytes())
            else:
                s3.upload_file(str(p), self.site.bucket, key, Config=cfg)

        with ThreadPoolExecutor(self.site.jobs) as pool:
            list(pool.map(one, files))

    def clone(self, wd: Path, dest: Path) -> None:
        dest.mkdir()
        self.prefixes[dest] = self.prefixes[wd]

    def update(self, dest: Path) -> None:
        self.pull(dest)  # no versions to compare: everything again

    def pull(self, dest: Path) -> None:
        prefix, s3 = self.prefixes[dest], self.site.s3
        objs = [o for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.site.bucket,
                                                                           Prefix=prefix + "/")
                for o in page.get("Contents", [])]
        cfg = self._config(len(objs))

        def one(o: dict[str, Any]) -> None:
            path = dest / o["Key"][len(prefix) + 1:]
            path.parent.mkdir(parents=True, exist_ok=True)
            if o["Size"] < BIG:
                path.write_bytes(s3.get_object(Bucket=self.site.bucket, Key=o["Key"])["Body"].read())
            else:
                s3.download_file(self.site.bucket, o["Key"], str(path), Config=cfg)

        with ThreadPoolExecutor(self.site.jobs) as pool:
            list(pool.map(one, objs))


class Dvc(Tool):
    """DVC with an S3 remote (`endpointurl` = the proxy), data/ tracked as one directory."""

    name = "dvc"
    has_remote_status = True

    def __init__(self, site: Site, exe: str | None) -> None:
        super().__init__(site)
        found = exe or shutil.which("dvc") or (str(DVC_VENV) if DVC_VENV.exists() else None)
        self.exe = found or ""
        self.env = dict(site.env, DVC_NO_ANALYTICS="1", DVC_SITE_CACHE_DIR=str(site.work / "dvc-site"))

    def missing(self) -> str | None:
        if not self.exe:
            return ("not installed (python3 -m venv /tmp/dvcvenv && /tmp/dvcvenv/bin/pip install "
                    "'dvc[s3]'; or --dvc PATH)")
        try:
            proc = subprocess.run([self.exe, "--version"], capture_output=True, text=True, env=self.env,
                                  check=False)
        except OSError as e:
            return f"{self.exe}: {e.strerror}"
        return None if proc.returncode == 0 else f"{self.exe} --version failed: {proc.stderr.strip()}"

    def version(self) -> str:
        return run(self.site.work, self.env, self.exe, "--version").strip()

    def configure(self, wd: Path, prefix: str) -> None:
        run(wd, self.env, self.exe, "init", "-q")
        run(wd, self.env, self.exe, "remote", "add", "-d", "store", f"s3://{self.site.bucket}/{prefix}")
        run(wd, self.env, self.exe, "remote", "modify", "store", "endpointurl", self.site.endpoint)
        run(wd, self.env, self.exe, "remote", "modify", "store", "region", "us-east-1")

    def add(self, wd: Path) -> None:
        run(wd, self.env, self.exe, "add", "-q", "data")

    def push(self, wd: Path) -> None:
        run(wd, self.env, self.exe, "push", "-q", "-j", str(self.site.jobs))
        super().push(wd)

    def pull(self, dest: Path) -> None:
        run(dest, self.env, self.exe, "pull", "-q", "-j", str(self.site.jobs))

    def status(self, wd: Path) -> None:
        run(wd, self.env, self.exe, "status", "-q")

    def status_remote(self, wd: Path) -> None:
        run(wd, self.env, self.exe, "status", "-q", "-c", "-j", str(self.site.jobs))


class Lfs(Tool):
    """Git LFS: data/** tracked, `.lfsconfig` naming the proxy's LFS batch API on S3."""

    name = "git-lfs"

    def __init__(self, site: Site) -> None:
        super().__init__(site)
        self.env = dict(site.env, GIT_TERMINAL_PROMPT="0")

    def missing(self) -> str | None:
        proc = subprocess.run(["git", "lfs", "version"], capture_output=True, text=True, env=self.env, check=False)
        return None if proc.returncode == 0 else "not installed (apt-get install git-lfs)"

    def version(self) -> str:
        return run(self.site.work, self.env, "git", "lfs", "version").strip()

    def _local(self, wd: Path) -> None:
        run(wd, self.env, "git", "lfs", "install", "--local")
        run(wd, self.env, "git", "config", "lfs.locksverify", "false")
        run(wd, self.env, "git", "config", "lfs.concurrenttransfers", str(self.site.jobs))

    def configure(self, wd: Path, prefix: str) -> None:
        self._local(wd)
        run(wd, self.env, "git", "lfs", "track", "data/**")
        (wd / ".lfsconfig").write_text(f"[lfs]\n\turl = {self.site.endpoint}/_lfs/{self.site.bucket}/{prefix}\n")

    def add(self, wd: Path) -> None:
        run(wd, self.env, "git", "add", "data")

    def clone(self, wd: Path, dest: Path) -> None:
        run(self.site.work, dict(self.env, GIT_LFS_SKIP_SMUDGE="1"), "git", "clone", "-q",
            str(wd.with_suffix(".git")), str(dest))
        self._local(dest)

    def pull(self, dest: Path) -> None:
        run(dest, self.env, "git", "lfs", "pull")

    def update(self, dest: Path) -> None:
        run(dest, self.env, "git", "pull", "-q")  # the smudge filter brings the bytes

    def status(self, wd: Path) -> None:
        run(wd, self.env, "git", "status", "--porcelain")


def make_tools(site: Site, dvc: str | None) -> tuple[list[Tool], dict[str, str]]:
    """The tools in round order, and the skipped ones with the reason."""
    tools: list[Tool] = [Eosvc(site), Boto3(site), Dvc(site, dvc), Lfs(site)]
    skipped = {t.name: why for t in tools if (why := t.missing())}
    return [t for t in tools if t.name not in skipped], skipped


def delete_prefix(s3: Any, bucket: str, prefix: str) -> None:
    """Remove every object under prefix/ (frees the loopback server's memory and disk)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/"):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def same_tree(a: Path, b: Path) -> str | None:
    """None when b has every file of a with the same size (pointers or gaps show), else what differs."""
    for p in a.rglob("*"):
        if p.is_file():
            q = b / p.relative_to(a)
            if not q.is_file() or q.stat().st_size != p.stat().st_size:
                return f"{q} missing or of another size"
    return None

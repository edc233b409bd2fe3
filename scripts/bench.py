#!/usr/bin/env python3
"""Benchmark git-eosvc against a bare boto3 transfer on a loopback S3 (moto's server).

Measures, each in the same run:
  - first `git eosvc add` (hash + store) of N small files, a no-op `git eosvc status`
    and a no-op pre-commit hook over them (targets at 10,000 files: status <= 0.4 s,
    pre-commit < 1 s; printed with PASS/FAIL);
  - hashing a large file vs `sha256sum` (target: >= 80 % of its throughput);
  - push and pull of N small files and of M large files vs bare boto3 with the same
    concurrency (target: within 1.3x);
  - `git eosvc watch` over 10,000 unchanged files, a look every 5 s for 20 s: the CPU the
    watcher uses once its first sync is done (target: < 2 % of one core). `--only watch`
    runs just that.

`--quick` shrinks everything to fit in about a minute; it is a smoke run: at 32 MiB the
fixed cost of starting git-eosvc and git (about 0.5 s) dominates the large-file ratios. The S3 server runs in its own
process; everything lives in a temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from s3server import isolated_env, loopback_s3

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MiB = 1 << 20
WORKLOADS = ["small", "large", "hash", "watch"]


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def sh(cwd: Path, env: dict[str, str], *cmd: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def make_files(root: Path, count: int, size: int, per_dir: int = 100) -> None:
    for i in range(count):
        d = root / f"d{i // per_dir:04d}"
        d.mkdir(parents=True, exist_ok=True)
        if size <= 1 << 16:
            (d / f"f{i:06d}.bin").write_bytes(os.urandom(size))
        else:
            with open(d / f"f{i:06d}.bin", "wb") as f:
                left = size
                while left:
                    n = min(left, 16 * MiB)
                    f.write(os.urandom(n))
                    left -= n


class Bench:
    def __init__(self, work: Path, endpoint: str, jobs: int) -> None:
        self.work = work
        self.endpoint = endpoint
        self.jobs = jobs
        env = isolated_env(work / "home", "Bench", BIN)
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                   EOSVC_ENDPOINT_URL=endpoint, EOSVC_JOBS=str(jobs))
        # bytecode cached as a pip install has it (never in the source tree), even under
        # PYTHONDONTWRITEBYTECODE=1: else every git-eosvc start compiles it (~50 ms)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        self.env = env
        import boto3
        from botocore.config import Config

        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                               aws_access_key_id="bench", aws_secret_access_key="bench",
                               config=Config(max_pool_connections=jobs + 4,
                                             retries={"mode": "standard", "max_attempts": 5}))
        self.results: dict[str, float] = {}
        self.repeat_small = 1
        self.repeat_large = 3

    def record(self, name: str, seconds: float) -> None:
        self.results[name] = round(seconds, 3)
        print(f"  {name:<44} {seconds:8.3f} s", flush=True)

    def repo(self, name: str, bucket: str) -> Path:
        self.s3.create_bucket(Bucket=bucket)
        self.s3.create_bucket(Bucket=bucket + "-priv")
        remote = self.work / f"{name}.git"
        sh(self.work, self.env, "git", "init", "-q", "--bare", str(remote))
        wd = self.work / name
        wd.mkdir()
        sh(wd, self.env, "git", "init", "-q")
        sh(wd, self.env, "git", "remote", "add", "origin", str(remote))
        sh(wd, self.env, "git", "eosvc", "init", "--repo", name, "--public-bucket", bucket,
           "--private-bucket", bucket + "-priv")
        return wd

    # ------------------------------------------------------------ the measured steps

    def filled_repo(self, name: str, count: int, size: int) -> Path:
        """A repo with `count` random files of `size` bytes in data/, added (timed) and committed."""
        wd = self.repo(name, f"bench-{name}")
        make_files(wd / "data", count, size)
        self.record("first add (hash + store)", timed(lambda: sh(wd, self.env, "git", "eosvc", "add")))
        sh(wd, self.env, "git", "commit", "-q", "-m", name)
        return wd

    def small_set(self, count: int, size: int) -> None:
        print(f"\n{count} files x {size} B")
        wd = self.filled_repo("small", count, size)
        time.sleep(2.1)  # let the racy-timestamp window pass, as it would in real use
        sh(wd, self.env, "git", "eosvc", "status")  # the first status after the window re-records
        runs = [timed(lambda: sh(wd, self.env, "git", "eosvc", "status")) for _ in range(5)]
        self.record("no-op status (median of 5)", statistics.median(runs))
        status = statistics.median(runs)
        runs = [timed(lambda: sh(wd, self.env, "git", "eosvc", "hook", "pre-commit")) for _ in range(5)]
        self.record("no-op pre-commit hook (median of 5)", statistics.median(runs))
        pre_commit = statistics.median(runs)
        print(f"  no-op status {status:.3f} s: target <= 0.4 s {'PASS' if status <= 0.4 else 'FAIL'}; "
              f"no-op pre-commit {pre_commit:.3f} s: target < 1 s {'PASS' if pre_commit < 1 else 'FAIL'}"
              + ("" if count == 10_000 else f" (targets are for 10,000 files; this is {count:,})"))
        self.transfer(wd, "small", "bench-small", self.repeat_small)

    def large_set(self, count: int, size: int) -> None:
        print(f"\n{count} files x {size // MiB} MiB")
        wd = self.filled_repo("large", count, size)
        self.transfer(wd, "large", "bench-large", self.repeat_large)

    def transfer(self, wd: Path, name: str, bucket: str, repeat: int) -> None:
        """Push and pull, ours and bare boto3 alternating, `repeat` rounds on fresh prefixes;
        the best round of each is compared (the loopback server's own cost varies a lot)."""
        files = sorted(p for p in (wd / "data").rglob("*") if p.is_file())
        runs: dict[str, list[float]] = {"push": [], "upload": [], "pull": [], "download": []}
        for i in range(repeat):
            env = dict(self.env, EOSVC_REPO=f"{name}-r{i}")
            remote = self.work / f"{name}-r{i}.git"
            sh(self.work, env, "git", "init", "-q", "--bare", str(remote))
            sh(wd, env, "git", "remote", "set-url", "origin", str(remote))
            sh(wd, env, "git", "update-ref", "-d", "refs/remotes/origin/main")
            runs["push"].append(timed(lambda: sh(wd, env, "git", "eosvc", "push")))
            runs["upload"].append(timed(lambda: self.boto3_upload(bucket, files, f"baseline-{i}")))
            clone = self.work / f"{name}-clone-{i}"
            sh(self.work, dict(env, EOSVC_SKIP="1"), "git", "clone", "-q", str(remote), str(clone))
            runs["pull"].append(timed(lambda: sh(clone, env, "git", "eosvc", "install")))
            dest = self.work / f"{name}-boto3-{i}"
            runs["download"].append(timed(lambda: self.boto3_download(bucket, files, dest, f"baseline-{i}")))
            shutil.rmtree(clone)
            shutil.rmtree(dest)
        self.record("git eosvc push", min(runs["push"]))
        self.record("bare boto3 upload", min(runs["upload"]))
        self.record("fresh clone: git eosvc install (download + write)", min(runs["pull"]))
        self.record("bare boto3 download", min(runs["download"]))
        if repeat > 1:
            for k, v in runs.items():
                print(f"    rounds {k:<9} " + "  ".join(f"{t:.2f}" for t in v))
        push, pull = min(runs["push"]) / min(runs["upload"]), min(runs["pull"]) / min(runs["download"])
        print(f"  ratio push {push:.2f}x, pull {pull:.2f}x (target <= 1.3x)")
        self.results[f"{name}_push_ratio"] = round(push, 3)
        self.results[f"{name}_pull_ratio"] = round(pull, 3)

    def watch(self, count: int, size: int, seconds: float, every: float) -> None:
        """`git eosvc watch` over a section of `count` unchanged files: the CPU the watcher
        (and any git it starts) uses per second of wall time once its first sync is done."""
        print(f"\nwatch: {count} unchanged files, a look every {every:g} s, for {seconds:g} s")
        wd = self.repo("watch", "bench-watch")
        make_files(wd / "data", count, size)
        sh(wd, self.env, "git", "eosvc", "add")
        sh(wd, self.env, "git", "commit", "-q", "-m", "watch")
        sh(wd, self.env, "git", "eosvc", "push")  # HEAD's objects on S3, as after any push
        time.sleep(2.1)  # past the racy-timestamp window; status re-records the stat cache
        sh(wd, self.env, "git", "eosvc", "status")
        before = _children_cpu()
        wall = time.perf_counter()
        proc = subprocess.Popen([str(BIN / "git-eosvc"), "watch", "data", "--every", f"{every:g}", "--",
                                 "sleep", f"{seconds + 30:g}"], cwd=wd, env=self.env,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None
        for line in proc.stderr:  # the first sync (scan of all files, WIP ref pushed) is startup
            if "synced data/" in line:
                break
        else:
            raise SystemExit(f"bench: git eosvc watch ended early ({proc.wait()})")
        first = time.perf_counter() - wall
        t1, c1 = time.perf_counter(), _proc_cpu(proc.pid)
        time.sleep(seconds)
        t2, c2 = time.perf_counter(), _proc_cpu(proc.pid)
        proc.terminate()  # forwarded to `sleep`; then the final sync
        rest = proc.communicate(timeout=120)[1]
        if proc.returncode != 128 + 15:
            raise SystemExit(f"bench: git eosvc watch exited {proc.returncode}:\n{rest}")
        total_wall, total_cpu = time.perf_counter() - wall, _children_cpu() - before
        share = (c2 - c1) / (t2 - t1)
        ticks = max(1, int((t2 - t1) // every))
        self.record("watch: startup and first sync (wall)", first)
        self.record("watch: CPU per unchanged look", (c2 - c1) / ticks)
        print(f"  steady state: {share * 100:.2f} % of one core over {t2 - t1:.1f} s ({ticks} looks) "
              f"(target < 2 %) {'PASS' if share < 0.02 else 'FAIL'}; whole run, startup and final sync "
              f"included: {total_cpu:.2f} s CPU in {total_wall:.1f} s")
        self.results["watch_steady_cpu_share"] = round(share, 5)
        self.results["watch_whole_run_cpu_s"] = round(total_cpu, 3)

    def _transfer_config(self, files: list[Path]):  # type: ignore[no-untyped-def]
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=64 * MiB, multipart_chunksize=64 * MiB,
                              max_concurrency=max(1, self.jobs // max(1, min(len(files), self.jobs))))

    def boto3_upload(self, bucket: str, files: list[Path], prefix: str) -> None:
        """The bare loop a user would write: put_object for small files, upload_file for large."""
        cfg = self._transfer_config(files)

        def one(p: Path) -> None:
            key = f"{prefix}/{p.name}"
            if p.stat().st_size < 64 * MiB:
                self.s3.put_object(Bucket=bucket, Key=key, Body=p.read_bytes())
            else:
                self.s3.upload_file(str(p), bucket, key, Config=cfg)

        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(one, files))

    def boto3_download(self, bucket: str, files: list[Path], dest: Path, prefix: str) -> None:
        cfg = self._transfer_config(files)
        dest.mkdir()

        def one(p: Path) -> None:
            key = f"{prefix}/{p.name}"
            if p.stat().st_size < 64 * MiB:
                (dest / p.name).write_bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            else:
                self.s3.download_file(bucket, key, str(dest / p.name), Config=cfg)

        with ThreadPoolExecutor(self.jobs) as pool:
            list(pool.map(one, files))

    def hashing(self, size: int) -> None:
        print(f"\nhashing one {size // MiB} MiB file")
        big = self.work / "hash.bin"
        make_files(self.work / "hash", 1, size)
        big = next((self.work / "hash").rglob("*.bin"))
        sys.path.insert(0, str(HERE.parent))
        from git_eosvc.hashing import hash_file

        ours = min(timed(lambda: hash_file(big)) for _ in range(3))
        theirs = min(timed(lambda: sh(self.work, self.env, "sha256sum", str(big))) for _ in range(3))
        self.record("git_eosvc.hashing.hash_file (best of 3)", ours)
        self.record("sha256sum (best of 3)", theirs)
        print(f"  throughput: {theirs / ours * 100:.0f} % of sha256sum (target >= 80 %)")
        self.results["hash_throughput_vs_sha256sum"] = round(theirs / ours, 3)


def _proc_cpu(pid: int) -> float:
    """CPU seconds of a running process and of the children it has waited for (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small-count", type=int, default=10_000)
    p.add_argument("--small-size", type=int, default=4096, help="bytes per small file")
    p.add_argument("--large-count", type=int, default=4)
    p.add_argument("--large-mib", type=int, default=256, help="MiB per large file")
    p.add_argument("--hash-mib", type=int, default=1024)
    p.add_argument("--jobs", type=int, default=16)
    p.add_argument("--repeat-small", type=int, default=1, help="rounds for the small set (best is kept)")
    p.add_argument("--repeat-large", type=int, default=3, help="rounds for the large set (best is kept)")
    p.add_argument("--skip", action="append", default=[], choices=WORKLOADS)
    p.add_argument("--only", action="append", default=[], choices=WORKLOADS, help="run just these")
    p.add_argument("--watch-count", type=int, default=10_000, help="files in the watched section")
    p.add_argument("--watch-seconds", type=float, default=20.0, help="how long the watch is measured")
    p.add_argument("--watch-every", type=float, default=5.0, help="seconds between the watcher's looks")
    p.add_argument("--quick", action="store_true", help="1,000 small, 2 x 32 MiB, 256 MiB hash")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args()
    if args.quick:
        args.small_count, args.large_count, args.large_mib, args.hash_mib = 1000, 2, 32, 256
        args.watch_count, args.watch_seconds = 1000, 10.0
    if args.only:
        args.skip = [w for w in WORKLOADS if w not in args.only]

    work = Path(tempfile.mkdtemp(prefix="eosvc-bench-"))
    try:
        with loopback_s3() as endpoint:
            print(f"loopback S3: {endpoint}; {os.cpu_count()} cores; jobs={args.jobs}")
            b = Bench(work, endpoint, args.jobs)
            b.repeat_small, b.repeat_large = args.repeat_small, args.repeat_large
            if "hash" not in args.skip:
                b.hashing(args.hash_mib * MiB)
            if "small" not in args.skip:
                b.small_set(args.small_count, args.small_size)
            if "large" not in args.skip:
                b.large_set(args.large_count, args.large_mib * MiB)
            if "watch" not in args.skip:
                b.watch(args.watch_count, args.small_size, args.watch_seconds, args.watch_every)
            if args.json:
                args.json.write_text(json.dumps(b.results, indent=2) + "\n")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

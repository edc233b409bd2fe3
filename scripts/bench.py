#!/usr/bin/env python3
"""Benchmark git-eosvc against bare boto3, DVC and Git LFS on a loopback S3 (moto's server).

Every tool talks to S3 through a counting proxy (scripts/bench_proxy.py; Git LFS through
its LFS batch API there, objects on the same S3), so the requests and bytes each push and
pull costs are reported beside its time. Rounds alternate the tools (round i: git-eosvc,
boto3, dvc, git-lfs; then round i+1); each table gives the median, the rounds, the ratio to
the fastest peer and PASS/FAIL against the targets of issue #14. A peer that is not
installed is skipped with the reason (DVC: `--dvc PATH`, else PATH, else /tmp/dvcvenv;
Git LFS: `git lfs`). Workloads (`--only` / `--skip`):

  small   A = 10,000 files x 4 KiB: add, push (target <= 5 s), pull into a fresh clone
          (<= 5 s); `status --remote` with nothing to do (<= 0.5x `dvc status -c`); the
          time git-eosvc's hooks add to `git commit` of the 10,000-line manifest (<= 0.3 s);
          git-eosvc's no-op `status` (<= 0.4 s) and pre-commit hook (< 1 s)
  large   B = 4 x 256 MiB: push (<= 1.2x the fastest peer), pull into a fresh clone
          (recorded); `add` vs hashlib's sha256 over the same bytes (>= 0.8x its throughput)
  append  a 256 MiB CSV pushed, 1 % more rows appended, pushed again: the bytes that second
          push uploads, as a % of the file (target <= 3 %); and what `git pull` (and the
          tool's pull) downloads into a clone that held the first version (recorded)
  hash    git_eosvc.hashing.hash_file of a 1 GiB file vs `sha256sum` (>= 80 %)
  watch   `git eosvc watch` over 10,000 unchanged files: steady-state CPU (< 2 % of a core)
  local   (slow, only with `--only local`) first add and no-op status at 1k/10k/100k files:
          first add of 100k <= DVC's, no-op status at 100k <= 0.5 s

`--quick` shrinks everything to a smoke run of a few minutes (the targets are for the full
sizes). The S3 server and the proxy run in their own processes; everything lives in a
temporary folder that is removed at the end; HOME and the git config are throwaway ones.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_peers import Eosvc, Site, Tool, delete_prefix, make_tools, run, same_tree
from bench_proxy import counting_proxy
from s3server import isolated_env, loopback_s3

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
KiB, MiB = 1 << 10, 1 << 20
WORKLOADS = ["small", "large", "append", "hash", "watch", "local"]
ONLY_ASKED = ["local"]  # slow: run when named in --only
OURS = "git-eosvc"
SHA256 = "sha256 (hashlib)"  # a reference row in the add-B table, not a peer
KEYS = ("bench", "bench")


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def make_files(root: Path, count: int, size: int, per_dir: int = 100) -> None:
    for i in range(count):
        d = root / f"d{i // per_dir:04d}"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / f"f{i:06d}.bin", "wb") as f:
            left = size
            while left:
                n = min(left, 16 * MiB)
                f.write(os.urandom(n))
                left -= n


def write_csv(path: Path, size: int, first_id: int, seed: int) -> int:
    """Append text rows (id, integers, a float, a label) to path until it grew by `size`
    bytes; the id after the last row written."""
    rnd = random.Random(seed)
    i, written = first_id, 0
    with open(path, "a", encoding="ascii") as f:
        while written < size:
            rows = "".join(f"{j},{rnd.getrandbits(32)},{rnd.getrandbits(20)},{rnd.random():.9f},"
                           f"sample-{rnd.getrandbits(12):04d}\n" for j in range(i, i + 4096))
            rows = rows[: size - written]
            f.write(rows)
            written += len(rows)
            i += 4096
    return i


def sha256_tree(root: Path) -> None:
    """hashlib's sha256 over every file under root (the reference for `add`)."""
    buf = bytearray(MiB)
    view = memoryview(buf)
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h = hashlib.sha256()
            with open(p, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    h.update(view[:n])


def human(n: int) -> str:
    return f"{n // MiB} MiB" if n >= MiB else f"{n // KiB} KiB" if n >= KiB else f"{n} B"


@dataclass
class Sample:
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)  # requests, bytes_up, bytes_down


@dataclass
class Target:
    """A target on git-eosvc's median of a step: `kind` says against what."""

    kind: str  # "s": seconds; "peer": x the fastest peer; "dvc": x DVC; "sha": x sha256's
    #            throughput (at least); "pct": bytes up as % of `of` bytes
    limit: float
    of: int = 0
    note: str = ""

    def judge(self, medians: dict[str, float], up: float | None) -> tuple[str, float | None, bool | None]:
        """(what the target says, the value measured, passed) for this step's medians."""
        ours = medians.get(OURS)
        peers = [v for k, v in medians.items() if k not in (OURS, SHA256)]
        if ours is None:
            return "no git-eosvc result", None, None
        if self.kind == "s":
            return f"<= {self.limit:g} s", ours, ours <= self.limit
        if self.kind == "peer":
            if not peers:
                return f"<= {self.limit:g}x fastest peer: no peer ran", None, None
            return f"<= {self.limit:g}x fastest peer", ours / min(peers), ours / min(peers) <= self.limit
        if self.kind == "dvc":
            if "dvc" not in medians:
                return f"<= {self.limit:g}x DVC: DVC did not run", None, None
            return f"<= {self.limit:g}x DVC", ours / medians["dvc"], ours / medians["dvc"] <= self.limit
        if self.kind == "sha":
            value = medians[SHA256] / ours
            return f">= {self.limit:g}x sha256 throughput", value, value >= self.limit
        assert self.kind == "pct" and up is not None
        value = up / self.of * 100
        return f"<= {self.limit:g} % of the file uploaded", value, value <= self.limit


class Bench:
    def __init__(self, work: Path, endpoint: str, jobs: int, dvc: str | None) -> None:
        self.work = work
        self.endpoint = endpoint
        env = isolated_env(work / "home", "Bench", BIN)
        # git commit of 10,000 new blobs starts `git gc --auto`, by default detached: it then
        # repacks while the next, timed step runs, and Git LFS's pre-push read objects
        # mid-repack ("missing object", every round of an earlier run; git-lfs#3810). In the
        # foreground it runs inside the commit, which no table times, for every tool alike.
        with open(work / "home" / ".gitconfig", "a") as cfg:
            cfg.write("[gc]\n\tautoDetach = false\n")
        env.update(AWS_ACCESS_KEY_ID=KEYS[0], AWS_SECRET_ACCESS_KEY=KEYS[1], AWS_EC2_METADATA_DISABLED="true",
                   EOSVC_ENDPOINT_URL=endpoint, EOSVC_JOBS=str(jobs), NO_PROXY="127.0.0.1,localhost",
                   no_proxy="127.0.0.1,localhost")
        # bytecode cached as a pip install has it (never in the source tree), even under
        # PYTHONDONTWRITEBYTECODE=1: else every git-eosvc start compiles it (~50 ms)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        self.env = env
        import boto3
        from botocore.config import Config

        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                               aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1],
                               config=Config(max_pool_connections=jobs + 4,
                                             retries={"mode": "standard", "max_attempts": 5}))
        self.site = Site(work, env, endpoint, "bench", jobs, self.s3)
        for bucket in ("bench", "bench-priv"):
            self.s3.create_bucket(Bucket=bucket)
        self.tools, self.skipped = make_tools(self.site, dvc)
        self.eosvc = Eosvc(self.site)
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self.samples: dict[str, dict[str, dict[str, list[Sample]]]] = {}
        self.results: dict[str, Any] = {
            "tools": {t.name: t.version() for t in self.tools},
            "skipped": self.skipped, "workloads": {}, "targets": {}, "eosvc": {}}
        self.repeat_small = 1
        self.repeat_large = 3
        self.repeat_append = 1

    def announce(self) -> None:
        for t in self.tools:
            print(f"  {t.name:<10} {self.results['tools'][t.name]}")
        for name, why in self.skipped.items():
            print(f"  {name:<10} SKIPPED: {why}")

    # ------------------------------------------------------------ measuring and reporting

    def proxy(self, what: str) -> dict[str, Any]:
        method = "POST" if what == "reset" else "GET"
        req = urllib.request.Request(f"{self.endpoint}/_bench/{what}", method=method,
                                     data=b"" if method == "POST" else None)
        with self.opener.open(req) as resp:
            return json.loads(resp.read())

    def measure(self, workload: str, step: str, tool: str, fn: Callable[[], object],
                count: bool = False) -> float:
        """Time fn (and count its S3 traffic through the proxy); one sample of workload/step/tool."""
        if count:
            self.proxy("reset")
        os.sync()  # the previous steps' dirty pages written back now, not during this one
        t = timed(fn)
        counts = {k: int(v) for k, v in self.proxy("counters").items() if k != "by_method"} if count else {}
        self.samples.setdefault(workload, {}).setdefault(step, {}).setdefault(tool, []).append(Sample(t, counts))
        extra = (f"  {counts['requests']:>6} req  {counts['bytes_up'] / MiB:9.2f} MiB up"
                 f"  {counts['bytes_down'] / MiB:9.2f} MiB down") if counts else ""
        print(f"    {step:<28} {tool:<17} {t:8.3f} s{extra}", flush=True)
        return t

    def record(self, name: str, seconds: float) -> None:
        """A git-eosvc-only number (no peer has that step)."""
        self.results["eosvc"][name] = round(seconds, 4)
        print(f"    {name:<46} {seconds:8.3f} s", flush=True)

    def verdict(self, name: str, text: str, value: float | None, passed: bool | None) -> str:
        self.results["targets"][name] = {"target": text, "value": None if value is None else round(value, 4),
                                         "pass": passed}
        mark = "n/a" if passed is None else "PASS" if passed else "FAIL"
        return f"{text}: {mark}"

    def table(self, workload: str, title: str, targets: dict[str, Target]) -> None:
        """Print (and keep for --json) one table: a row per step and tool."""
        steps = self.samples.get(workload, {})
        out: dict[str, Any] = {}
        print(f"\n== {title}")
        print(f"  {'step':<28} {'tool':<17} {'median s':>9} {'rounds':>6} {'vs fastest':>10} "
              f"{'requests':>9} {'MiB up':>9} {'MiB down':>9}  target")
        for step, by_tool in steps.items():
            medians = {k: statistics.median(s.seconds for s in v) for k, v in by_tool.items()}
            peers = [v for k, v in medians.items() if k not in (OURS, SHA256)]
            fastest = min(peers) if peers else None
            out[step] = {}
            for tool, samples in by_tool.items():
                med = medians[tool]
                counts = {k: statistics.median(s.counts[k] for s in samples) for k in samples[0].counts}
                ratio = med / fastest if fastest and tool != SHA256 else None
                out[step][tool] = {"median_s": round(med, 4), "runs_s": [round(s.seconds, 4) for s in samples],
                                   "ratio_to_fastest_peer": None if ratio is None else round(ratio, 3), **counts}
                note = ""
                if tool == OURS and step in targets:
                    tgt = targets[step]
                    text, value, passed = tgt.judge(medians, counts.get("bytes_up"))
                    shown = "" if value is None else f" ({value:.1f} %)" if tgt.kind == "pct" else \
                        f" ({value:.2f}x)" if tgt.kind != "s" else ""
                    note = self.verdict(f"{workload}: {step}", text + shown, value, passed) + tgt.note
                cols = [f"{counts['requests']:>9.0f}", f"{counts['bytes_up'] / MiB:>9.2f}",
                        f"{counts['bytes_down'] / MiB:>9.2f}"] if counts else [f"{'':>9}"] * 3
                print(f"  {step:<28} {tool:<17} {med:>9.3f} {len(samples):>6} "
                      f"{'' if ratio is None else f'{ratio:.2f}x':>10} {' '.join(cols)}  {note}".rstrip())
        for name, why in self.skipped.items():
            print(f"  {'(all)':<28} {name:<17} skipped: {why}")
        self.results["workloads"][workload] = {"title": title, "steps": out}

    # ------------------------------------------------------------ workloads

    def round_for(self, workload: str, tool: Tool, i: int, fill: Callable[[Path], object]) -> Path:
        """tool's repository for round i of a workload, with data/ filled by `fill`."""
        wd = self.work / f"{workload}-{tool.name}-{i}"
        tool.setup(wd, wd.name)
        fill(wd / "data")
        return wd

    def finish(self, tool: Tool, wd: Path, *more: Path) -> None:
        """Remove a round's folders and its S3 objects."""
        for p in (wd, wd.with_suffix(".git"), *more):
            shutil.rmtree(p, ignore_errors=True)
        for bucket in ("bench", "bench-priv"):
            delete_prefix(self.s3, bucket, wd.name)

    def transfer_set(self, workload: str, count: int, size: int, repeat: int) -> None:
        """Add, push and pull `count` files of `size` bytes with every tool, `repeat` rounds."""
        title = f"{'A' if workload == 'small' else 'B'}: {count:,} files x {human(size)}, {repeat} round(s)"
        print(f"\n{title}")
        src = self.work / f"src-{workload}"
        make_files(src, count, size)
        for i in range(repeat):
            print(f"  round {i + 1}/{repeat}")
            if workload == "large":
                self.measure(workload, "add", SHA256, lambda: sha256_tree(src))
            for tool in self.tools:
                self.guarded(tool, workload, lambda: self.transfer_round(workload, tool, i, src, count))
        shutil.rmtree(src)
        full = workload != "small" or count == 10_000
        note = "" if full else f" (target is for 10,000 files; this is {count:,})"
        targets = ({"push": Target("s", 5.0, note=note), "pull (fresh clone)": Target("s", 5.0, note=note),
                    "status --remote (no-op)": Target("dvc", 0.5)} if workload == "small" else
                   {"push": Target("peer", 1.2), "add": Target("sha", 0.8)})
        self.table(workload, title, targets)

    def transfer_round(self, workload: str, tool: Tool, i: int, src: Path, count: int) -> None:
        wd = self.round_for(workload, tool, i, lambda d: shutil.copytree(src, d))
        if tool.has_add:
            self.measure(workload, "add", tool.name, lambda: tool.add(wd))
        if workload == "small" and i == 0 and tool.name == OURS:
            self.eosvc_commit_and_noops(wd, count)
        elif tool.has_add:
            tool.commit(wd, "data")
        self.measure(workload, "push", tool.name, lambda: tool.push(wd), count=True)
        if workload == "small" and tool.has_remote_status:
            for _ in range(3):
                self.measure(workload, "status --remote (no-op)", tool.name,
                             lambda: tool.status_remote(wd), count=True)
        clone = self.work / f"{wd.name}-clone"
        tool.clone(wd, clone)
        self.measure(workload, "pull (fresh clone)", tool.name, lambda: tool.pull(clone), count=True)
        if problem := same_tree(src, clone / "data"):
            raise SystemExit(f"bench: {tool.name} pulled an incomplete copy: {problem}")
        self.finish(tool, wd, clone)

    def guarded(self, tool: Tool, workload: str, fn: Callable[[], object]) -> None:
        """Run one tool's round; a peer that fails loses that round (printed and kept in the
        JSON under peer_failures), git-eosvc failing stops the run."""
        try:
            fn()
        except SystemExit as e:
            if tool.name == OURS:
                raise
            first = str(e).strip().splitlines()
            print(f"    {tool.name} failed this round; its numbers leave it out: "
                  f"{' / '.join(first[:1] + first[-2:])}", flush=True)
            self.results.setdefault("peer_failures", []).append({"workload": workload, "tool": tool.name,
                                                                 "error": str(e)[-2000:]})

    def eosvc_commit_and_noops(self, wd: Path, count: int) -> None:
        """git-eosvc alone: what its hooks add to `git commit` of the staged manifest (commit
        with hooks vs with core.hooksPath=/dev/null, alternating, each undone by a soft reset),
        then a no-op `status` and pre-commit hook once the racy-timestamp window has passed."""
        env = self.env
        with_hooks, without = [], []
        os.sync()  # as in measure(): no write-back left over from the add
        for _ in range(3):
            with_hooks.append(timed(lambda: run(wd, env, "git", "commit", "-q", "-m", "data")))
            run(wd, env, "git", "reset", "-q", "--soft", "HEAD~1")
            without.append(timed(lambda: run(wd, env, "git", "-c", "core.hooksPath=/dev/null", "commit",
                                             "-q", "-m", "data")))
            run(wd, env, "git", "reset", "-q", "--soft", "HEAD~1")
        run(wd, env, "git", "commit", "-q", "-m", "data")
        hooks = statistics.median(with_hooks) - statistics.median(without)
        self.record(f"git commit, {count:,}-line manifest, hooks on (median)", statistics.median(with_hooks))
        self.record("... with core.hooksPath=/dev/null (median)", statistics.median(without))
        note = "" if count == 10_000 else f" (target is for 10,000 lines; this is {count:,})"
        print(f"    time in hooks {hooks:.3f} s: "
              + self.verdict("small: git commit manifest, time in hooks", "<= 0.3 s", hooks, hooks <= 0.3) + note)
        time.sleep(2.1)  # let the racy-timestamp window pass, as it would in real use
        run(wd, env, "git", "eosvc", "status")  # the first status after the window re-records
        status = statistics.median(timed(lambda: run(wd, env, "git", "eosvc", "status")) for _ in range(5))
        self.record("no-op status (median of 5)", status)
        pre = statistics.median(timed(lambda: run(wd, env, "git", "eosvc", "hook", "pre-commit")) for _ in range(5))
        self.record("no-op pre-commit hook (median of 5)", pre)
        note = "" if count == 10_000 else f" (targets are for 10,000 files; this is {count:,})"
        print(f"    no-op status: {self.verdict('small: no-op status', '<= 0.4 s', status, status <= 0.4)}; "
              f"no-op pre-commit: {self.verdict('small: no-op pre-commit hook', '< 1 s', pre, pre < 1)}{note}")

    def append(self, size: int, repeat: int) -> None:
        """Push a CSV of `size` bytes, append 1 % more rows, push again: what that push uploads."""
        title = f"append 1 % to a {human(size)} CSV, push: {repeat} round(s)"
        print(f"\n{title}")
        csv, extra = self.work / "table.csv", self.work / "extra.csv"
        next_id = write_csv(csv, size, 0, seed=1)
        write_csv(extra, size // 100, next_id, seed=2)
        final = size + extra.stat().st_size
        for i in range(repeat):
            print(f"  round {i + 1}/{repeat}")
            for tool in self.tools:
                def fill(d: Path) -> None:
                    d.mkdir()
                    shutil.copyfile(csv, d / "table.csv")
                wd = self.round_for("append", tool, i, fill)
                if tool.has_add:
                    tool.add(wd)
                    tool.commit(wd, "v1")
                tool.push(wd)
                clone = self.work / f"{wd.name}-clone"  # holds v1 when v2 is pushed
                tool.clone(wd, clone)
                tool.pull(clone)
                with open(wd / "data" / "table.csv", "ab") as f:
                    f.write(extra.read_bytes())
                if tool.has_add:
                    self.measure("append", "add (after the append)", tool.name, lambda: tool.add(wd))
                    tool.commit(wd, "v2")
                self.measure("append", "push (after the append)", tool.name, lambda: tool.push(wd), count=True)
                self.measure("append", "pull (after the append)", tool.name, lambda: tool.update(clone), count=True)
                if problem := same_tree(wd / "data", clone / "data"):
                    raise SystemExit(f"bench: {tool.name} pulled an incomplete copy: {problem}")
                self.finish(tool, wd, clone)
        self.table("append", title + f" (file after the append: {final:,} bytes)",
                   {"push (after the append)": Target("pct", 3.0, of=final)})
        for step, moved, verb in (("push (after the append)", "bytes_up", "uploaded"),
                                  ("pull (after the append)", "bytes_down", "downloaded")):
            for name, samples in self.samples["append"][step].items():
                pct = statistics.median(s.counts[moved] for s in samples) / final * 100
                print(f"  {name:<17} {verb} {pct:6.2f} % of the file ({step})")
                self.results["workloads"]["append"]["steps"][step][name]["pct_of_file"] = round(pct, 3)

    def local(self, counts: list[int], size: int) -> None:
        """First add and no-op status at each file count (the tools with an add step)."""
        title = f"local: first add and no-op status at {', '.join(f'{n:,}' for n in counts)} files of {human(size)}"
        print(f"\n{title}")
        for n in counts:
            src = self.work / f"src-local-{n}"
            make_files(src, n, size)
            for tool in (t for t in self.tools if t.has_add):
                wd = self.round_for("local", tool, n, lambda d: shutil.copytree(src, d))
                self.measure("local", f"first add, {n:,} files", tool.name, lambda: tool.add(wd))
                tool.commit(wd, "data")
                time.sleep(2.1)  # past the racy-timestamp window, as in real use
                tool.status(wd)  # the first status after the window may re-record
                for _ in range(5):
                    self.measure("local", f"no-op status, {n:,} files", tool.name, lambda: tool.status(wd))
                self.finish(tool, wd)
            shutil.rmtree(src)
        top = max(counts)
        note = "" if top == 100_000 else f" (target is for 100,000 files; this is {top:,})"
        self.table("local", title, {f"first add, {top:,} files": Target("dvc", 1.0, note=note),
                                    f"no-op status, {top:,} files": Target("s", 0.5, note=note)})

    def watch(self, count: int, size: int, seconds: float, every: float) -> None:
        """`git eosvc watch` over a section of `count` unchanged files: the CPU the watcher
        (and any git it starts) uses per second of wall time once its first sync is done."""
        print(f"\nwatch: {count} unchanged files, a look every {every:g} s, for {seconds:g} s")
        wd = self.round_for("watch", self.eosvc, 0, lambda d: make_files(d, count, size))
        self.eosvc.add(wd)
        self.eosvc.commit(wd, "watch")
        self.eosvc.push(wd)  # HEAD's objects on S3, as after any push
        time.sleep(2.1)  # past the racy-timestamp window; status re-records the stat cache
        self.eosvc.status(wd)
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
        print(f"    steady state: {share * 100:.2f} % of one core over {t2 - t1:.1f} s ({ticks} looks): "
              + self.verdict("watch: steady-state CPU share", "< 2 %", share * 100, share < 0.02)
              + f"; whole run, startup and final sync included: {total_cpu:.2f} s CPU in {total_wall:.1f} s")
        self.results["eosvc"]["watch_whole_run_cpu_s"] = round(total_cpu, 3)
        self.finish(self.eosvc, wd)

    def hashing(self, size: int) -> None:
        print(f"\nhashing one {size // MiB} MiB file")
        make_files(self.work / "hash", 1, size)
        big = next((self.work / "hash").rglob("*.bin"))
        sys.path.insert(0, str(HERE.parent))
        from git_eosvc.hashing import hash_file

        ours = min(timed(lambda: hash_file(big)) for _ in range(3))
        theirs = min(timed(lambda: run(self.work, self.env, "sha256sum", str(big))) for _ in range(3))
        self.record("git_eosvc.hashing.hash_file (best of 3)", ours)
        self.record("sha256sum (best of 3)", theirs)
        print(f"    throughput: {theirs / ours * 100:.0f} % of sha256sum: "
              + self.verdict("hash: hash_file vs sha256sum", ">= 80 %", theirs / ours * 100, theirs / ours >= 0.8))
        shutil.rmtree(self.work / "hash")


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
    p.add_argument("--small-count", type=int, default=10_000, help="files in workload A")
    p.add_argument("--small-size", type=int, default=4096, help="bytes per small file")
    p.add_argument("--large-count", type=int, default=4, help="files in workload B")
    p.add_argument("--large-mib", type=int, default=256, help="MiB per large file")
    p.add_argument("--append-mib", type=int, default=256, help="MiB of the CSV before the append")
    p.add_argument("--hash-mib", type=int, default=1024)
    p.add_argument("--local-counts", default="1000,10000,100000", help="file counts of `--only local`")
    p.add_argument("--jobs", type=int, default=16, help="transfer concurrency, the same for every tool")
    p.add_argument("--dvc", help="the dvc executable (default: on PATH, else /tmp/dvcvenv/bin/dvc)")
    p.add_argument("--repeat-small", type=int, default=1, help="rounds for workload A (median kept)")
    p.add_argument("--repeat-large", type=int, default=3, help="rounds for workload B (median kept)")
    p.add_argument("--repeat-append", type=int, default=1, help="rounds for the append workload")
    p.add_argument("--skip", action="append", default=[], choices=WORKLOADS)
    p.add_argument("--only", action="append", default=[], choices=WORKLOADS,
                   help="run just these (`local` runs only when named here)")
    p.add_argument("--watch-count", type=int, default=10_000, help="files in the watched section")
    p.add_argument("--watch-seconds", type=float, default=20.0, help="how long the watch is measured")
    p.add_argument("--watch-every", type=float, default=5.0, help="seconds between the watcher's looks")
    p.add_argument("--quick", action="store_true",
                   help="1,000 small, 2 x 32 MiB, a 16 MiB CSV, 256 MiB hash, local at 200/1,000/5,000")
    p.add_argument("--json", type=Path, help="also write the numbers here")
    args = p.parse_args()
    if args.quick:
        args.small_count, args.large_count, args.large_mib, args.hash_mib = 1000, 2, 32, 256
        args.append_mib, args.local_counts = 16, "200,1000,5000"
        args.watch_count, args.watch_seconds = 1000, 10.0
    run_these = args.only or [w for w in WORKLOADS if w not in ONLY_ASKED]
    run_these = [w for w in run_these if w not in args.skip]

    work = Path(tempfile.mkdtemp(prefix="eosvc-bench-"))
    try:
        with loopback_s3() as s3_url, counting_proxy(s3_url, KEYS) as endpoint:
            print(f"loopback S3: {s3_url}, counting proxy {endpoint}; {os.cpu_count()} cores; "
                  f"jobs={args.jobs}; {time.strftime('%Y-%m-%d %H:%M')}")
            b = Bench(work, endpoint, args.jobs, args.dvc)
            b.announce()
            b.repeat_small, b.repeat_large, b.repeat_append = args.repeat_small, args.repeat_large, args.repeat_append
            if "hash" in run_these:
                b.hashing(args.hash_mib * MiB)
            if "small" in run_these:
                b.transfer_set("small", args.small_count, args.small_size, b.repeat_small)
            if "large" in run_these:
                b.transfer_set("large", args.large_count, args.large_mib * MiB, b.repeat_large)
            if "append" in run_these:
                b.append(args.append_mib * MiB, b.repeat_append)
            if "local" in run_these:
                b.local([int(n) for n in args.local_counts.split(",")], args.small_size)
            if "watch" in run_these:
                b.watch(args.watch_count, args.small_size, args.watch_seconds, args.watch_every)
            failed = [k for k, v in b.results["targets"].items() if v["pass"] is False]
            print(f"\ntargets: {sum(v['pass'] is True for v in b.results['targets'].values())} PASS, "
                  f"{len(failed)} FAIL" + (f" ({'; '.join(failed)})" if failed else ""))
            if args.json:
                args.json.write_text(json.dumps(b.results, indent=2) + "\n")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

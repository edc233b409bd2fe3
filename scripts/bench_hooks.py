#!/usr/bin/env python3
"""Benchmark the hooks and the no-op paths on a repo of N unchanged files (default 10,000).

Every measurement is the median of --runs runs (one untimed warm-up first), each a fresh
process, after the stat cache has been warmed and the racy-timestamp window (2.1 s) has
passed. Targets:

  - `git eosvc status`, nothing changed                      <= 0.4 s
  - `git-eosvc hook pre-commit`, nothing changed             <  1 s
  - each installed post-* hook FILE as git runs it (cwd = the work tree's top, git's
    arguments), nothing to do: post-checkout, post-merge, post-commit, post-rewrite
    (empty stdin), post-index-change `1 0`, post-applypatch   <= 0.2 s
  - `git-eosvc hook post-checkout <head> <head> 1` (a hook manager's Python path) <= 0.2 s
  - `git status` and `git add <code file>` start no Python at all. Proved by pointing the
    installed hooks (their `eosvc='…'` line) and the merge/diff drivers at a shell shim that
    logs each call before exec'ing the real git-eosvc; git's own trace2 events list
    the hooks git ran. `git commit` (pre-commit runs Python by design: the probe's
    control) and `git checkout -b` are reported too.

Also timed, with no target: a whole `git commit --allow-empty`, and `git status` /
`git add` with the hooks on, with EOSVC_SKIP=1 and with no hooks (core.hooksPath empty);
the interpreter's start-up for scale. Python's bytecode is cached in the temporary folder
(as a pip install has it; --no-pyc: the caller's settings). When a Python-path target is missed (or with
--importtime), `python -X importtime` of `git-eosvc hook post-checkout …` and
`git-eosvc status` prints the 10 imports with the largest cumulative time.

No network: nothing here touches S3. HOME and GIT_CONFIG_GLOBAL point into a temporary
folder (the user's ~/.gitconfig is never read or written), and that folder is removed at
the end. One line per measurement with its target and PASS/FAIL; --json also prints
everything as JSON. Exit status 1 if a target was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
RACY_WAIT = 2.1  # the stat cache trusts a row only after the racy-timestamp window
POST_HOOKS = ("post-checkout", "post-merge", "post-commit", "post-rewrite", "post-index-change",
              "post-applypatch")
STATUS_TARGET, PRE_COMMIT_TARGET, POST_TARGET = 0.4, 1.0, 0.2


@dataclass
class Measurement:
    name: str
    median_s: float
    runs_s: list[float]
    target: str | None = None  # e.g. "<= 0.4 s"
    passed: bool | None = None  # None: no target


@dataclass
class Probe:
    command: str
    hooks_run: list[str]          # what git started (trace2), with git's arguments
    python_started: list[str]     # what reached git-eosvc (the shim's log)
    expected: str
    passed: bool
    is_target: bool               # a target of the issue (git status / git add, post hooks)


@dataclass
class Report:
    files: int
    size: int
    runs: int
    measurements: list[Measurement] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    importtime: dict[str, list[tuple[str, float, float]]] = field(default_factory=dict)
    setup_s: float = 0.0
    source: str = ""
    bytecode_cached: bool = True
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return all(m.passed is not False for m in self.measurements) and \
            all(p.passed for p in self.probes if p.is_target)


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run(cwd: Path, env: dict[str, str], *cmd: str, stdin: str | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"bench_hooks: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def environment(home: Path, pyc: bool = True) -> dict[str, str]:
    """The caller's environment without AWS_/EOSVC_/GIT_ variables, git pinned to a throwaway
    HOME (never the user's ~/.gitconfig), this venv's git-eosvc first on PATH.

    `pyc`: Python keeps its bytecode in a cache beside HOME (PYTHONPYCACHEPREFIX; never in
    the source tree), as a pip-installed git-eosvc has it, even if the caller set
    PYTHONDONTWRITEBYTECODE; otherwise every start compiles git_eosvc from source
    (about 50 ms of each Python measurement)."""
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
                                     "[init]\n\tdefaultBranch = main\n"
                                     "[advice]\n\tdetachedHead = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EOSVC_", "GIT_"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               XDG_CONFIG_HOME=str(home / ".config"), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}")
    if pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(home.parent / "pycache")
    return env


def make_files(root: Path, count: int, size: int, per_dir: int = 100) -> None:
    for i in range(count):
        d = root / f"d{i // per_dir:04d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06d}.bin").write_bytes(os.urandom(size))


def sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


class Bench:
    def __init__(self, work: Path, files: int, size: int, runs: int, pyc: bool = True) -> None:
        self.work = work
        self.env = environment(work / "home", pyc)
        self.pyc = pyc
        self.skip = dict(self.env, EOSVC_SKIP="1")
        self.wd = work / "repo"
        self.no_hooks = work / "no-hooks"  # an empty core.hooksPath: git runs no hook at all
        self.no_hooks.mkdir()
        self.report = Report(files, size, runs)
        found = shutil.which("git-eosvc", path=str(BIN))
        if not found:
            raise SystemExit(f"bench_hooks: no git-eosvc in {BIN}; `pip install -e .` into this venv")
        self.eosvc: str = found

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        wd, env, r = self.wd, self.env, self.report
        t = time.perf_counter()
        wd.mkdir()
        run(wd, env, "git", "init", "-q")
        run(wd, env, "git-eosvc", "init", "--repo", "bench")  # writes access.json, installs hooks
        make_files(wd / "data", r.files, r.size)
        (wd / "code.py").write_text("print('hello')\n")
        run(wd, env, "git-eosvc", "add")
        run(wd, env, "git", "add", "-A")
        run(wd, env, "git", "commit", "-q", "-m", "data and code")
        time.sleep(RACY_WAIT)
        run(wd, env, "git", "eosvc", "status")  # re-records the rows the racy window distrusted
        run(wd, env, "git-eosvc", "hook", "pre-commit")
        run(wd, env, "git", "status")  # let git refresh its index once
        self.head = run(wd, env, "git", "rev-parse", "HEAD").strip()
        self.top = Path(run(wd, env, "git", "rev-parse", "--show-toplevel").strip())
        hooks = run(wd, env, "git", "rev-parse", "--git-path", "hooks").strip()
        self.hooks = Path(hooks) if os.path.isabs(hooks) else (wd / hooks).resolve()
        git_dir = Path(run(wd, env, "git", "rev-parse", "--absolute-git-dir").strip())
        missing = [n for n in POST_HOOKS if not os.access(self.hooks / n, os.X_OK)]
        if missing:
            raise SystemExit(f"bench_hooks: `git eosvc init` installed no {', '.join(missing)} in {self.hooks}")
        if not any((git_dir / "eosvc" / "materialised").glob("*")):
            raise SystemExit("bench_hooks: no materialised record: the post hooks' sh fast path cannot apply")
        r.setup_s = round(time.perf_counter() - t, 1)
        r.source = self.source()
        print(f"{r.files} files x {r.size} B; median of {r.runs} runs after one warm-up; "
              f"git {run(wd, env, 'git', 'version').split()[-1]}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} cores (setup {r.setup_s} s)\nmeasuring {r.source}\n"
              + ("bytecode cached (a PYTHONPYCACHEPREFIX in the temporary folder), as after pip install"
                 if self.pyc else "--no-pyc: " + ("PYTHONDONTWRITEBYTECODE is set, every start compiles "
                 "git_eosvc" if self.env.get("PYTHONDONTWRITEBYTECODE") else "the caller's bytecode "
                 "settings (PYTHONDONTWRITEBYTECODE not set)")), flush=True)

    def source(self) -> str:
        """Which git_eosvc the hooks run: its folder, and its commit and local edits when that
        folder is in a git checkout (an editable install measures the work tree as it is now)."""
        where = Path(run(self.work, self.env, sys.executable, "-c",
                         "import git_eosvc, os; print(os.path.dirname(os.path.abspath(git_eosvc.__file__)))")
                     .strip())
        probe = subprocess.run(["git", "-C", str(where), "rev-parse", "--short", "HEAD"], env=self.env,
                               capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
        if probe.returncode != 0:
            return f"git_eosvc from {where} (not a git checkout)"
        edits = run(self.work, self.env, "git", "--no-optional-locks", "-C", str(where.parent),
                    "status", "--porcelain", "--", "git_eosvc", "hooks").splitlines()
        return (f"git_eosvc from {where} at commit {probe.stdout.strip()}"
                + (f", {len(edits)} file(s) under git_eosvc/ hooks/ modified or new: "
                   + " ".join(e[3:] for e in edits) if edits else ", unmodified"))

    # ------------------------------------------------------------ timing

    def measure(self, name: str, step: Callable[[], object], target: float | None = None,
                strict: bool = False, before: Callable[[], object] | None = None) -> Measurement:
        """Median of `runs` timings of `step` (fresh processes), after one untimed warm-up;
        `before` runs untimed ahead of each. Target: <= (or < when strict) seconds."""
        times: list[float] = []
        for i in range(self.report.runs + 1):
            if before:
                before()
            seconds = timed(step)
            if i:
                times.append(seconds)
        med = statistics.median(times)
        m = Measurement(name, round(med, 4), [round(s, 4) for s in times])
        if target is not None:
            m.target = f"{'<' if strict else '<='} {target:g} s"
            m.passed = med < target if strict else med <= target
        self.report.measurements.append(m)
        verdict = f"target {m.target:<9} {'PASS' if m.passed else 'FAIL'}" if m.target else "(no target)"
        print(f"  {name:<58} {med:7.3f} s   {verdict}", flush=True)
        return m

    def hook_file(self, name: str, env: dict[str, str] | None = None) -> Callable[[], object]:
        """Run the installed hook file as git does: its path, git's arguments, the work tree's
        top as cwd, stdin for the hooks git feeds (post-rewrite: empty)."""
        args = {"post-checkout": [self.head, self.head, "1"], "post-merge": ["0"],
                "post-rewrite": ["rebase"], "post-index-change": ["1", "0"]}.get(name, [])
        stdin = "" if name == "post-rewrite" else None
        return lambda: run(self.top, env or self.env, str(self.hooks / name), *args, stdin=stdin)

    def timings(self) -> None:
        wd, env, skip = self.wd, self.env, self.skip
        git_nohooks = ("git", "-c", f"core.hooksPath={self.no_hooks}")
        print("\ntargets", flush=True)
        self.measure("git eosvc status, nothing changed",
                     lambda: run(wd, env, "git", "eosvc", "status"), STATUS_TARGET)
        self.measure("git-eosvc hook pre-commit, nothing changed",
                     lambda: run(wd, env, "git-eosvc", "hook", "pre-commit"), PRE_COMMIT_TARGET, strict=True)
        for name in POST_HOOKS:
            self.measure(f"hook file {name}, nothing to do", self.hook_file(name), POST_TARGET)
        self.measure("git-eosvc hook post-checkout <head> <head> 1 (Python)",
                     lambda: run(wd, env, "git-eosvc", "hook", "post-checkout", self.head, self.head, "1"),
                     POST_TARGET)

        print("\nfor comparison (no target)", flush=True)
        self.measure("python -c pass (interpreter start-up)", lambda: run(wd, env, sys.executable, "-c", "pass"))
        self.measure("python -c 'import git_eosvc.cli'",
                     lambda: run(wd, env, sys.executable, "-c", "import git_eosvc.cli"))
        self.measure("git commit --allow-empty (hooks on)",
                     lambda: run(wd, env, "git", "commit", "-q", "--allow-empty", "-m", "x"))
        self.measure("git commit --allow-empty (EOSVC_SKIP=1)",
                     lambda: run(wd, skip, "git", "commit", "-q", "--allow-empty", "-m", "x"))
        self.measure("git commit --allow-empty (no hooks)",
                     lambda: run(wd, env, *git_nohooks, "commit", "-q", "--allow-empty", "-m", "x"))
        code = wd / "code.py"

        def touch() -> None:  # git status then re-reads code.py and rewrites its index
            os.utime(code, ns=(time.time_ns(), time.time_ns()))

        def edit() -> None:  # git add then stages a change (the index is rewritten)
            with open(code, "a") as f:
                f.write("# edit\n")

        def command(e: dict[str, str], *cmd: str) -> Callable[[], object]:
            return lambda: run(wd, e, *cmd)

        for label, e, git in (("hooks on", env, ("git",)), ("EOSVC_SKIP=1", skip, ("git",)),
                              ("no hooks", env, git_nohooks)):
            self.measure(f"git status, index fresh ({label})", command(e, *git, "status"))
            self.measure(f"git status, code.py touched ({label})", command(e, *git, "status"), before=touch)
            self.measure(f"git add code.py, code.py edited ({label})", command(e, *git, "add", "code.py"),
                         before=edit)
        run(wd, env, "git", "commit", "-q", "-m", "code edits")

    # ------------------------------------------------------------ no Python: the shim

    def install_shim(self) -> Path:
        """Point every installed hook and both drivers at a shim that logs, then execs git-eosvc."""
        log = self.work / "shim.log"
        shim = self.work / "shim" / "git-eosvc"
        shim.parent.mkdir()
        shim.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {sh_quote(str(log))}\n"
                        f"exec {sh_quote(self.eosvc)} \"$@\"\n")
        shim.chmod(0o755)
        line = re.compile(r"^eosvc='[^\n]*'$", re.MULTILINE)
        for path in sorted(self.hooks.iterdir()):
            if path.name.endswith(".sample") or not path.is_file():
                continue
            text = path.read_text()
            new, n = line.subn(lambda _: f"eosvc={sh_quote(str(shim))}", text)
            if n != 1:
                raise SystemExit(f"bench_hooks: {path} has {n} `eosvc='…'` lines, expected 1; "
                                 "cannot install the shim")
            path.write_text(new)
        for key in ("merge.eosvc.driver", "diff.eosvc.textconv"):
            value = run(self.wd, self.env, "git", "config", "--local", key).strip()
            quoted = sh_quote(self.eosvc)
            if not value.startswith(quoted):
                raise SystemExit(f"bench_hooks: {key} = {value!r} does not start with {quoted}")
            run(self.wd, self.env, "git", "config", "--local", key, sh_quote(str(shim)) + value[len(quoted):])
        log.write_text("")
        return log

    def probe(self, label: str, step: Callable[[dict[str, str]], object], expected: list[str],
              is_target: bool, before: Callable[[], object] | None = None) -> Probe:
        """Run `step` once with git's trace2 events on; which hooks git started, which calls
        reached git-eosvc. `expected`: the hooks that should reach git-eosvc."""
        trace = self.work / "trace2.json"
        trace.unlink(missing_ok=True)
        if before:
            before()
        start = self.log.stat().st_size
        step(dict(self.env, GIT_TRACE2_EVENT=str(trace)))
        with open(self.log) as f:
            f.seek(start)
            python = [line.strip() for line in f if line.strip()]
        hooks: list[str] = []
        if trace.exists():
            for raw in trace.read_text().splitlines():
                ev = json.loads(raw)
                if ev.get("event") == "child_start" and ev.get("child_class") == "hook":
                    hooks.append(" ".join([ev["hook_name"], *ev["argv"][1:]]))
        reached = [p.split()[1] if p.startswith("hook ") and len(p.split()) > 1 else p for p in python]
        passed = sorted(reached) == sorted(expected)
        p = Probe(label, hooks, python, "Python for " + ", ".join(expected) if expected else "no Python",
                  passed, is_target)
        self.report.probes.append(p)
        verdict = ("PASS" if passed else "FAIL") if is_target else ("as expected" if passed else "UNEXPECTED")
        print(f"  {label:<40} git ran: {', '.join(hooks) or 'no hook'}", flush=True)
        print(f"  {'':<40} reached git-eosvc: {'; '.join(python) or 'none'}   "
              f"expected: {p.expected}   {verdict}", flush=True)
        return p

    def no_python(self) -> None:
        print("\nno Python for plain git (hooks and drivers point at a logging shim)", flush=True)
        self.log = self.install_shim()
        wd, code = self.wd, self.wd / "code.py"

        def git(*args: str) -> Callable[[dict[str, str]], object]:
            return lambda e: run(wd, e, "git", *args)

        def touch() -> None:
            os.utime(code, ns=(time.time_ns(), time.time_ns()))

        def edit() -> None:
            with open(code, "a") as f:
                f.write("# probe\n")

        self.probe("git status (index fresh)", git("status"), [], True)
        self.probe("git status (code.py touched)", git("status"), [], True, before=touch)
        self.probe("git add code.py (code.py edited)", git("add", "code.py"), [], True, before=edit)
        self.probe("git commit -m … (code.py staged)", git("commit", "-q", "-m", "code"), ["pre-commit"], False)
        self.probe("git checkout -b x", git("checkout", "-q", "-b", "x"), [], False)
        self.probe("git checkout main", git("checkout", "-q", "main"), [], False)
        for name in POST_HOOKS:
            hook = self.hook_file(name)
            self.probe(f"hook file {name}", lambda _env, hook=hook: hook(), [], True)  # type: ignore[misc]
        if not any(p.python_started for p in self.report.probes):
            raise SystemExit("bench_hooks: the shim never ran, not even for pre-commit: the probe proves nothing")

    # ------------------------------------------------------------ where a Python path spends its time

    def importtime(self) -> None:
        print("\npython -X importtime: top 10 imports by cumulative time", flush=True)
        for label, args in (("git-eosvc hook post-checkout", ["hook", "post-checkout", self.head, self.head, "1"]),
                            ("git-eosvc status", ["status"])):
            proc = subprocess.run([sys.executable, "-X", "importtime", self.eosvc, *args], cwd=self.wd,
                                  env=self.env, capture_output=True, text=True, check=False,
                                  stdin=subprocess.DEVNULL)
            rows: list[tuple[str, float, float]] = []
            for raw in proc.stderr.splitlines():
                m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", raw)
                if m:
                    rows.append((m.group(4), int(m.group(1)) / 1000, int(m.group(2)) / 1000))
            top = sorted(rows, key=lambda r: -r[2])[:10]
            total = sum(r[1] for r in rows)
            self.report.importtime[label] = top
            print(f"  {label} ({len(rows)} modules, {total:.0f} ms self in total)")
            for mod, self_ms, cum_ms in top:
                print(f"    {cum_ms:7.1f} ms cumulative  {self_ms:6.1f} ms self  {mod}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64, help="bytes per file")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="3 runs per measurement (files unchanged)")
    parser.add_argument("--importtime", action="store_true",
                        help="always show the import profile (otherwise only when a Python path misses)")
    parser.add_argument("--no-pyc", action="store_true",
                        help="keep the caller's bytecode settings (with PYTHONDONTWRITEBYTECODE=1 every "
                             "start compiles git_eosvc from source)")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args()
    if args.quick:
        args.runs = 3
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="eosvc-bench-hooks-") as tmp:
        b = Bench(Path(tmp), args.files, args.size, args.runs, pyc=not args.no_pyc)
        b.report.bytecode_cached = not args.no_pyc
        b.setup()
        b.timings()
        b.no_python()
        slow_python = any(m.passed is False and ("status" in m.name or "git-eosvc" in m.name)
                          for m in b.report.measurements)
        if args.importtime or slow_python:
            b.importtime()
        report = b.report
    report.elapsed_s = round(time.perf_counter() - started, 1)
    failed = [m.name for m in report.measurements if m.passed is False] + \
             [p.command for p in report.probes if p.is_target and not p.passed]
    print(f"\n{'all targets met' if report.ok else 'MISSED: ' + '; '.join(failed)} "
          f"(bench_hooks took {report.elapsed_s} s)")
    if args.json:
        print(json.dumps(asdict(report) | {"ok": report.ok}, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The git processes: one-shot `git` runs, and the long-lived `git cat-file --batch` /
`--batch-check` that Repo reads objects through (as Git LFS does). Repo owns the meaning;
this module owns the pipes."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path
from typing import IO, Literal, Mapping, NamedTuple, Sequence, Union

from .errors import OperationError


def hash_object(data: bytes, width: int = 40) -> str:
    """The blob id `git hash-object` gives `data`: sha1, or sha256 when `width` is 64."""
    import hashlib

    header = b"blob %d\0" % len(data)
    return (hashlib.sha1 if width == 40 else hashlib.sha256)(header + data).hexdigest()


# a line git's tracing (GIT_TRACE, GIT_TRACE2, GIT_TRACE_PERFORMANCE, ... set to 1) writes
# to stderr: "HH:MM:SS.micros file.c:line ..."; not something git says went wrong
_TRACE_LINE = re.compile(rb"^\d\d:\d\d:\d\d\.\d{6} [\w./-]+:\d+ .*(?:\n|$)", re.MULTILINE)


def git_said(stderr: bytes | None) -> str:
    """What git wrote to stderr, without its trace lines: "" when it complained of nothing."""
    return _TRACE_LINE.sub(b"", stderr or b"").decode(errors="replace").strip()


def run_git(args: Sequence[str], cwd: Path, check: bool = True, input: bytes | None = None,
            capture: bool = True, *, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run git (environment inherited, or `env`); on failure raise OperationError with git's words."""
    pipe = subprocess.PIPE if capture else None
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, env=env, stdout=pipe, stderr=pipe)
    except OSError as exc:
        raise OperationError(f"cannot run git {' '.join(args)} in {cwd}: {exc}") from exc
    if check and proc.returncode != 0:
        err = git_said(proc.stderr)
        raise OperationError(f"git {' '.join(args)} failed" + (f": {err}" if err else ""))
    return proc


GitObject = NamedTuple("GitObject", [("oid", str), ("type", str), ("data", Union[bytes, None])])  # data: --batch only
Answer = Union[GitObject, Literal["missing", "ambiguous"]]
_HEADER = re.compile(rb"([0-9a-f]{40}|[0-9a-f]{64}) ([a-z]+) ([0-9]+)\n")
_Proc = subprocess.Popen[bytes]


def _stop_process(proc: _Proc, err: IO[bytes]) -> None:
    """Close a cat-file's pipes (EOF ends it) and reap it."""
    for stream in filter(None, (proc.stdin, proc.stdout, err)):
        stream.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class CatFile:
    """One long-lived `git cat-file --batch` or `--batch-check`, (re)started on demand; its
    finalizer stops it on close(), on garbage collection and at exit: no zombie, no warning."""

    def __init__(self, mode: Literal["--batch", "--batch-check"]) -> None:
        self.mode, self._lock = mode, threading.Lock()
        self._proc: _Proc | None = None
        self._err: IO[bytes] | None = None
        self._finalizer: weakref.finalize[[_Proc, IO[bytes]], CatFile] | None = None

    def _reset(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._proc = self._err = self._finalizer = None

    def close(self) -> None:
        with self._lock:
            self._reset()

    def _start(self, cwd: Path) -> _Proc:
        self._reset()
        err = tempfile.TemporaryFile()  # never blocks; keeps git's words for an error
        try:
            proc = subprocess.Popen(["git", "cat-file", self.mode], cwd=cwd, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err)
        except OSError as exc:
            err.close()
            raise OperationError(f"cannot run git cat-file in {cwd}: {exc}") from exc
        self._proc, self._err = proc, err
        self._finalizer = weakref.finalize(self, _stop_process, proc, err)
        return proc

    def query(self, spec: str, cwd: Path) -> Answer:
        """One object by any name git takes (`<oid>`, `<rev>^{commit}`, `<rev>:<path>`)."""
        if not spec or spec.startswith("-") or "\n" in spec or "\0" in spec or spec.endswith("\r"):
            return "missing"  # no batch line carries such a name: no object has it
        line = os.fsencode(spec)
        with self._lock:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                proc = self._start(cwd)
            assert proc.stdin is not None and proc.stdout is not None and self._err is not None
            try:
                proc.stdin.write(line + b"\n")
                proc.stdin.flush()
                header = proc.stdout.readline()
                m = _HEADER.fullmatch(header)
                if m is None and header in (line + b" missing\n", line + b" ambiguous\n"):
                    return "missing" if header.endswith(b" missing\n") else "ambiguous"
                if m is None:
                    raise OSError(f"answered {header[:200]!r} to {spec!r}" if header else "stopped")
                data = proc.stdout.read(int(m[3]) + 1) if self.mode == "--batch" else None
                if data is not None and (len(data) != int(m[3]) + 1 or not data.endswith(b"\n")):
                    raise OSError("stopped mid-object")
            except OSError as exc:
                self._err.seek(0)
                text = self._err.read().decode(errors="replace").strip()
                self._reset()
                raise OperationError(f"git cat-file {self.mode} {exc}" + (f": {text}" if text else "")) from None
            return GitObject(m[1].decode(), m[2].decode(), None if data is None else data[:-1])


def absolutize_git_env() -> None:
    """Make a relative GIT_DIR / GIT_WORK_TREE absolute in os.environ, joined to the cwd as git does."""
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        value = os.environ.get(name)
        if value and not os.path.isabs(value) and os.path.isdir("."):
            os.environ[name] = os.path.join(os.getcwd(), value)



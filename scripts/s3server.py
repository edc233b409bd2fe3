#!/usr/bin/env python3
"""A real S3 endpoint on loopback (moto's server) for tests, the quickstart and the benchmark.

Run as a program it binds 127.0.0.1 on an ephemeral port (or --port), prints its URL on
one line of stdout, and serves until killed or until stdin closes (so a parent that dies
never leaves it behind).
"""

from __future__ import annotations

import argparse
import sys
import threading


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

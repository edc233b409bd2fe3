#!/usr/bin/env python3
"""A counting HTTP proxy in front of a loopback S3 server, plus a Git LFS batch API on S3.

Run as a program (by `counting_proxy`, in its own process so that its threads never share a
GIL with the benchmark's): binds 127.0.0.1 on an ephemeral port, prints its URL on one line,
and serves until stdin closes.

  - every request but the two below is forwarded to the upstream S3 server (`--upstream`),
    bodies streamed both ways; requests per method, request-body bytes of PUT/POST and
    response-body bytes are counted;
  - `GET /_bench/counters` returns the counts as JSON, `POST /_bench/reset` zeroes them;
  - `POST /_lfs/<bucket>/<prefix>/objects/batch` is a Git LFS batch API (basic transfer
    adapter) storing objects at `<bucket>/<prefix>/<oid>`: upload and download hrefs are
    presigned S3 URLs through this proxy, so the bytes go to S3 as in an LFS-on-S3 deployment
    (and are counted); objects already stored (a HEAD on S3, made by the server and not
    counted: it is no request of the client's) get no upload action. Each batch call counts
    as one request (LFS-BATCH).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

CHUNK = 1 << 20
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te",
              "upgrade"}


@contextmanager
def counting_proxy(upstream: str, keys: tuple[str, str]) -> Iterator[str]:
    """Run the proxy in a child process for the duration of a `with` block; yields its URL."""
    from s3server import child_server

    with child_server([sys.executable, os.path.abspath(__file__), "--upstream", upstream, "--keys", ",".join(keys)],
                      "the counting proxy") as url:
        yield url


class Counters:
    """Requests per method and body bytes, shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: dict[str, int] = {}
            self.up = 0
            self.down = 0

    def add(self, method: str, up: int, down: int) -> None:
        with self.lock:
            self.requests[method] = self.requests.get(method, 0) + 1
            self.up += up
            self.down += down

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {"requests": sum(self.requests.values()), "by_method": dict(self.requests),
                    "bytes_up": self.up, "bytes_down": self.down}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server
    _conn: http.client.HTTPConnection | None = None  # to the upstream, one per client connection

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _upstream(self) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            conn = self._conn = http.client.HTTPConnection(self.server.upstream_host,
                                                           self.server.upstream_port, timeout=600)
        return conn

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives (Content-Length or chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            data = self.rfile.read(min(left, CHUNK))
            if not data:
                raise ConnectionError("client closed mid-body")
            left -= len(data)
            yield data

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self) -> None:
        chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        conn = self._upstream()
        try:
            conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                if k.lower() not in HOP_BY_HOP:
                    conn.putheader(k, v)
            if chunked:
                conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            up = 0
            for data in self._body_chunks():
                up += len(data)
                conn.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            if chunked:
                conn.send(b"0\r\n\r\n")
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException):
            conn.close()
            self._conn = None
            raise
        length = resp.getheader("Content-Length")
        body = b"" if length is not None or self.command == "HEAD" else resp.read()
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and not (k.lower() == "content-length" and body):
                self.send_header(k, v)
        if body:
            self.send_header("Content-Length", str(len(body)))
        elif length is None and self.command != "HEAD":
            self.send_header("Content-Length", "0")
        self.end_headers()
        down = 0
        try:
            if body:
                self.wfile.write(body)
                down = len(body)
            elif self.command != "HEAD":
                while data := resp.read(CHUNK):
                    self.wfile.write(data)
                    down += len(data)
            resp.close()
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading (a range it needs no more)
            conn.close()
            self._conn = None
            self.close_connection = True
        self.server.counters.add(self.command, up if self.command in ("PUT", "POST") else 0, down)

    def _lfs_batch(self) -> None:
        _, _, bucket, rest = self.path.split("/", 3)
        prefix = rest.removesuffix("/objects/batch")
        raw = b"".join(self._body_chunks())
        req = json.loads(raw)
        op, s3, sign = req["operation"], self.server.s3, self.server.signer

        def one(obj: dict[str, object]) -> dict[str, object]:
            oid, key = str(obj["oid"]), f"{prefix}/{obj['oid']}"
            out: dict[str, object] = {"oid": oid, "size": obj["size"], "authenticated": True}
            try:
                s3.head_object(Bucket=bucket, Key=key)
                exists = True
            except s3.exceptions.ClientError:
                exists = False
            if op == "upload" and not exists:
                href = sign.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                                 ExpiresIn=3600)
                out["actions"] = {"upload": {"href": href, "expires_in": 3600}}
            elif op == "download" and exists:
                href = sign.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                 ExpiresIn=3600)
                out["actions"] = {"download": {"href": href, "expires_in": 3600}}
            elif op == "download":
                out["error"] = {"code": 404, "message": "not found"}
            return out

        objects = list(self.server.pool.map(one, req.get("objects", [])))
        body = json.dumps({"transfer": "basic", "objects": objects}).encode()
        self.server.counters.add("LFS-BATCH", len(raw), len(body))
        self._reply(200, body, "application/vnd.git-lfs+json")

    def _dispatch(self) -> None:
        if self.path == "/_bench/counters":
            self._reply(200, json.dumps(self.server.counters.snapshot()).encode())
        elif self.path == "/_bench/reset":
            self.server.counters.reset()
            self._reply(200, b"{}")
        elif self.path.startswith("/_lfs/") and self.path.endswith("/objects/batch"):
            self._lfs_batch()
        elif self.path.startswith("/_lfs/"):  # locks API and the like: not served
            list(self._body_chunks())
            self._reply(404, b'{"message": "not found"}', "application/vnd.git-lfs+json")
        else:
            self._forward()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _dispatch


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, upstream: str, keys: tuple[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        import boto3
        from botocore.config import Config

        u = urlsplit(upstream)
        self.upstream_host, self.upstream_port = u.hostname or "127.0.0.1", u.port or 80
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.counters = Counters()
        self.pool = ThreadPoolExecutor(16)

        def client(url: str) -> Any:
            return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=keys[0],
                                aws_secret_access_key=keys[1],
                                config=Config(max_pool_connections=32, signature_version="s3v4"))

        self.s3 = client(upstream)  # the LFS server's own checks: not the client's requests, not counted
        self.signer = client(self.url)  # presigned URLs name this proxy: the bytes pass through it


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="the S3 server's URL")
    p.add_argument("--keys", default="bench,bench", metavar="ID,SECRET", help="for the LFS API's S3 calls")
    args = p.parse_args()
    key_id, _, secret = args.keys.partition(",")
    server = Server(args.upstream, (key_id, secret))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

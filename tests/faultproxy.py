"""A fault-injecting HTTP reverse proxy on loopback, in front of the test S3 server (moto).

Clients use the proxy's URL as their S3 endpoint; the proxy forwards every request to the
upstream server unchanged (request line, headers, body bytes, Content-Length or chunked
framing, Range) and relays the response unchanged — except where a rule says otherwise.
SigV4 signs the Host header the client sent (the proxy's); the proxy does not rewrite it,
and moto does not verify signatures, so signed and anonymous requests both pass through.
The one header the proxy drops is `Expect: 100-continue`: it answers `100 Continue` to the
client itself (or, for a fault, its final status before any body is sent), and the header
is outside what SigV4 signs.

A rule picks requests by method, a regex over the request target (path and query) and
regexes over header values; the `nth` matching request (1-based) and the `times - 1`
after it get the fault (`times=None`: every one from the nth on). Faults:

    Status(500) / Status(503, "SlowDown")    an S3-style XML error; the request never
                                             reaches the server (forward=True: it does,
                                             and its answer is lost)
    Reset("request", after=n)                 RST after n request-body bytes were forwarded
    Reset("reply")                            RST instead of the server's answer (it acted)
    Reset("response", after=n)                RST after the head and n response-body bytes
    Truncate(keep=n)                          the server's headers (Content-Length promised)
                                              but only n body bytes, then a clean close
    Flip(offset=n)                            the response body with byte n inverted
    Flip(offset=n, stage="request")           the request body with byte n inverted

With `verify_checksums=True` the proxy also does what S3 does and moto does not: a request
body that does not match its `x-amz-checksum-sha256` or `x-amz-checksum-crc32` header is
refused with 400 BadDigest and never reaches the server (such bodies are buffered whole to
be checked).

A body fault past the end of a body does nothing. Every request is logged in `hits` with
the status the client saw and the fault it actually got (`faulted()`), so a test can
prove its faults fired. Each request gets its own upstream connection; client connections
are kept alive as HTTP/1.1 allows, and closed after any fault.

Bounded: loopback only, an ephemeral port, daemon threads, socket timeouts, and a lifetime
after which it stops by itself; `stop()` (or leaving the `with` block) closes every
connection. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import socketserver
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Literal, TypedDict
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

PIECE = 1 << 20  # bytes relayed per read
MAX_HEAD = 64 * 1024  # request or response head larger than this is refused


@dataclass(frozen=True)
class Status:
    """Answer `code` with an S3 error document instead of the server's answer."""

    code: int
    s3_code: str = "InternalError"
    forward: bool = False  # True: the server still gets (and acts on) the request

    @property
    def name(self) -> str:
        return f"status {self.code} {self.s3_code}" + (" (after forwarding)" if self.forward else "")


@dataclass(frozen=True)
class Reset:
    """Reset the client's connection (TCP RST) part-way through the request or response body."""

    stage: Literal["request", "reply", "response"]
    after: int = 0

    @property
    def name(self) -> str:
        if self.stage == "reply":
            return "reset instead of the reply"
        return f"reset {self.stage} after {self.after} bytes"


@dataclass(frozen=True)
class Truncate:
    """Relay the response head unchanged but only `keep` body bytes, then close."""

    keep: int

    @property
    def name(self) -> str:
        return f"truncate response to {self.keep} bytes"


@dataclass(frozen=True)
class Flip:
    """Invert byte `offset` of the response (or request) body; the length stays right."""

    offset: int
    stage: Literal["request", "response"] = "response"

    @property
    def name(self) -> str:
        return f"flip {self.stage} byte {self.offset}"


Fault = Status | Reset | Truncate | Flip


@dataclass
class Rule:
    """Which requests get `fault`: method, target regex, header regexes; the nth match on."""

    fault: Fault
    method: str | None = None
    target: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    nth: int = 1
    times: int | None = 1
    matched: int = 0  # requests this rule matched so far
    fired: int = 0  # of which got the fault

    def matches(self, request: Request) -> bool:
        if self.method is not None and request.method != self.method:
            return False
        if self.target and not re.search(self.target, request.target):
            return False
        for name, pattern in self.headers.items():
            value = request.header(name)
            if value is None or not re.search(pattern, value):
                return False
        return True

    def ready(self) -> bool:
        """Whether the match just counted gets the fault."""
        return self.matched >= self.nth and (self.times is None or self.fired < self.times)


class Selector(TypedDict, total=False):
    """Keyword arguments of `FaultProxy.add` that pick requests."""

    method: str
    target: str
    headers: Mapping[str, str]


UPLOAD_PART: Selector = {"method": "PUT", "target": r"[?&]partNumber=\d+"}
COMPLETE_MULTIPART: Selector = {"method": "POST", "target": r"[?&]uploadId="}
RANGED_GET: Selector = {"method": "GET", "headers": {"range": r"^bytes=\d+-\d+$"}}


@dataclass
class Request:
    method: str
    target: str
    version: str
    head: bytes  # the raw head as the client sent it, CRLFCRLF included
    fields: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.fields:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True)
class Hit:
    """One request seen by the proxy: what it was, what the client got."""

    method: str
    target: str
    range: str | None
    status: int | None  # the status the client saw (None: no response head)
    fault: str | None
    headers: tuple[tuple[str, str], ...] = ()  # as the client sent them

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class _Closed(Exception):
    """The peer went away; end this connection quietly."""


def _read_head(f: BinaryIO) -> bytes | None:
    """Bytes up to and including the blank line; None on a clean EOF before any byte."""
    lines: list[bytes] = []
    size = 0
    while True:
        line = f.readline(MAX_HEAD + 1)
        if not line:
            if not lines:
                return None
            raise _Closed("EOF inside a message head")
        lines.append(line)
        size += len(line)
        if size > MAX_HEAD:
            raise _Closed("message head too large")
        if line in (b"\r\n", b"\n") and len(lines) > 1:
            return b"".join(lines)
        if line in (b"\r\n", b"\n"):
            lines.clear()  # tolerate a stray CRLF between messages
            size = 0


def _fields(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    text = head.decode("latin-1")
    first, *rest = text.split("\r\n")
    fields: list[tuple[str, str]] = []
    for line in rest:
        if not line:
            continue
        key, _, value = line.partition(":")
        fields.append((key.strip(), value.strip()))
    return first, fields


def _field(fields: list[tuple[str, str]], name: str) -> str | None:
    for key, value in fields:
        if key.lower() == name:
            return value
    return None


def _without(head: bytes, name: str) -> bytes:
    """The head with every `name:` line removed, all other bytes unchanged."""
    lines = head.split(b"\r\n")
    prefix = name.lower().encode("latin-1") + b":"
    return b"\r\n".join(line for line in lines[:1] + [
        line for line in lines[1:] if not line.lower().startswith(prefix)])


def _exactly(f: Any, n: int, what: str) -> Iterator[bytes]:
    """`n` bytes of `f`, in pieces; a stream that ends sooner is a closed connection."""
    while n:
        data = f.read(min(PIECE, n))
        if not data:
            raise _Closed(f"EOF inside {what}")
        n -= len(data)
        yield data


def _body_pieces(f: BinaryIO, fields: list[tuple[str, str]], *, until_eof: bool) -> Iterator[bytes]:
    """The raw bytes of a message body as framed on the wire (chunked framing kept)."""
    encoding = (_field(fields, "transfer-encoding") or "").lower()
    if "chunked" in encoding:
        while True:
            size_line = f.readline(MAX_HEAD)
            if not size_line:
                raise _Closed("EOF inside a chunked body")
            yield size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while True:  # trailers, then the blank line
                    line = f.readline(MAX_HEAD)
                    if not line:
                        raise _Closed("EOF inside chunked trailers")
                    yield line
                    if line in (b"\r\n", b"\n"):
                        return
            yield from _exactly(f, size + 2, "a chunk")  # data and its CRLF
    length = _field(fields, "content-length")
    if length is not None:
        yield from _exactly(f, int(length), "a body")
        return
    if until_eof:
        while data := f.read(PIECE):
            yield data


def _error_document(status: Status, target: str,
                    message: str = "injected by the test fault proxy") -> bytes:
    reason = {400: "Bad Request", 500: "Internal Server Error",
              503: "Service Unavailable"}.get(status.code, "Error")
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{status.s3_code}</Code>'
            f"<Message>{escape(message)}</Message><Resource>{escape(target)}</Resource>"
            f"<RequestId>faultproxy</RequestId></Error>").encode()
    return (f"HTTP/1.1 {status.code} {reason}\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class _Cut(Exception):
    """The request body reached a Reset("request") fault's cut point."""


class _ClientBody:
    """The request body as read from the client, with a request fault applied: a flipped
    byte, or _Cut raised once `after` bytes were yielded (the rest is never read)."""

    def __init__(self, rfile: BinaryIO, fields: list[tuple[str, str]], fault: Fault | None) -> None:
        self._pieces = _body_pieces(rfile, fields, until_eof=False)
        self._cut = fault.after if isinstance(fault, Reset) and fault.stage == "request" else None
        self._flip = fault.offset if isinstance(fault, Flip) and fault.stage == "request" else None
        self.flipped = False

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for piece in self._pieces:
            end = seen + len(piece)
            if self._flip is not None and seen <= self._flip < end:
                i = self._flip - seen
                piece = piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1:]
                self.flipped = True
            if self._cut is not None and end >= self._cut:
                yield piece[:self._cut - seen]
                raise _Cut()
            yield piece
            seen = end
        if self._cut is not None:
            raise _Cut()  # a body shorter than the cut: reset before the server can answer


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    proxy: FaultProxy


class _ResetClient(_Closed):
    """End the client's connection with a RST."""


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        client: socket.socket = self.request
        client.settimeout(proxy.timeout)
        proxy._track(client)
        rfile = client.makefile("rb")
        reset = False
        try:
            while not proxy.stopped.is_set():
                if not self._exchange(proxy, client, rfile):
                    break
        except _ResetClient:
            reset = True
        except (_Closed, OSError, ValueError):
            pass
        finally:
            rfile.close()
            proxy._untrack(client)
            if reset:
                _reset(client)
            else:
                try:
                    client.close()
                except OSError:
                    pass

    def _exchange(self, proxy: FaultProxy, client: socket.socket, rfile: BinaryIO) -> bool:
        """Relay one request and its response; False when the connection must end."""
        head = _read_head(rfile)
        if head is None:
            return False
        proxy._begin()
        try:
            return self._relay(proxy, client, rfile, head)
        finally:
            proxy._end()

    def _relay(self, proxy: FaultProxy, client: socket.socket, rfile: BinaryIO, head: bytes) -> bool:
        first, fields = _fields(head)
        method, target, version = (first.split(" ", 2) + ["", ""])[:3]
        request = Request(method, target, version, head, fields)
        fault = proxy._fault_for(request)
        expects = (request.header("expect") or "").lower() == "100-continue"
        has_body = request.header("content-length") not in (None, "0") or \
            request.header("transfer-encoding") is not None

        if isinstance(fault, Status) and not fault.forward:
            if not expects:  # the client sends its body regardless: take it first
                for _ in _body_pieces(rfile, fields, until_eof=False):
                    pass
            client.sendall(_error_document(fault, target))
            proxy._log(request, fault.code, fault)
            return False  # Connection: close

        if expects and has_body:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        client_body = _ClientBody(rfile, fields, fault)
        body: Iterable[bytes] = client_body
        sha256, crc32 = request.header("x-amz-checksum-sha256"), request.header("x-amz-checksum-crc32")
        if proxy.verify_checksums and (sha256 or crc32) and request.header("transfer-encoding") is None:
            # As S3 does: the whole body must match the checksum the client named.
            data = bytearray()
            try:
                for piece in body:
                    data += piece
            except _Cut:
                proxy._log(request, None, fault)
                raise _ResetClient() from None
            if (sha256 and base64.b64encode(hashlib.sha256(data).digest()).decode() != sha256) or \
                    (crc32 and base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode() != crc32):
                client.sendall(_error_document(Status(400, "BadDigest"), target,
                                               "The checksum you specified did not match the calculated checksum."))
                proxy._log(request, 400, fault if client_body.flipped else None)
                return False
            body = [bytes(data)]
        upstream = proxy.upstream if proxy.anonymous_upstream is None or _signed(request) \
            else proxy.anonymous_upstream
        with socket.create_connection(upstream, timeout=proxy.timeout) as up:
            up.sendall(_without(head, "expect") if expects else head)
            try:
                for piece in body:
                    up.sendall(piece)
            except _Cut:  # mid-body, or (a short body) before the server could answer
                proxy._log(request, None, fault)
                _reset(up)
                raise _ResetClient() from None
            with up.makefile("rb") as upf:
                return self._respond(proxy, client, request, fault, upf, client_body.flipped)

    def _respond(self, proxy: FaultProxy, client: socket.socket, request: Request,
                 fault: Fault | None, upf: BinaryIO, flipped: bool) -> bool:
        while True:
            head = _read_head(upf)
            if head is None:
                raise _Closed("the server closed without answering")
            first, fields = _fields(head)
            status = int(first.split(" ", 2)[1])
            if status >= 200:
                break
            # an interim response of the server's own (we removed Expect): drop it
        no_body = request.method == "HEAD" or status in (204, 304)
        if isinstance(fault, Status) or (isinstance(fault, Reset) and fault.stage == "reply"):
            if not no_body:
                for _ in _body_pieces(upf, fields, until_eof=True):
                    pass  # the server acted; its answer is lost
            if isinstance(fault, Reset):
                proxy._log(request, None, fault)
                raise _ResetClient()
            client.sendall(_error_document(fault, request.target))
            proxy._log(request, fault.code, fault)
            return False
        framed = _field(fields, "content-length") is not None or \
            _field(fields, "transfer-encoding") is not None
        keep_alive = framed or no_body
        connection = (_field(fields, "connection") or "").lower()
        if "close" in connection or (request.header("connection") or "").lower() == "close":
            keep_alive = False
        client.sendall(head)
        if no_body:
            proxy._log(request, status, None)
            return keep_alive
        relayed = 0
        for piece in _body_pieces(upf, fields, until_eof=True):
            end = relayed + len(piece)
            if isinstance(fault, Flip) and fault.stage == "response" and relayed <= fault.offset < end:
                i = fault.offset - relayed
                piece = piece[:i] + bytes([piece[i] ^ 0xFF]) + piece[i + 1:]
            if isinstance(fault, Truncate) and end >= fault.keep:
                client.sendall(piece[:fault.keep - relayed])
                proxy._log(request, status, fault)
                client.shutdown(socket.SHUT_WR)  # a clean FIN, short of what was promised
                return False
            if isinstance(fault, Reset) and fault.stage == "response" and end >= fault.after:
                client.sendall(piece[:fault.after - relayed])
                proxy._log(request, status, fault)
                raise _ResetClient()
            client.sendall(piece)
            relayed = end
        flipped = flipped or (isinstance(fault, Flip) and fault.stage == "response" and fault.offset < relayed)
        proxy._log(request, status, fault if flipped else None)
        return keep_alive


def _loopback(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 80
    if parts.scheme != "http" or not host.startswith("127."):
        raise ValueError(f"the fault proxy only fronts a loopback http:// server, not {url!r}")
    return host, port


def _signed(request: Request) -> bool:
    return request.header("authorization") is not None or "X-Amz-Signature=" in request.target


class FaultProxy:
    """The proxy. `with FaultProxy(upstream_url) as proxy:` … `proxy.url` is the endpoint."""

    def __init__(self, upstream: str, *, timeout: float = 30.0, lifetime: float = 600.0,
                 verify_checksums: bool = False, anonymous_upstream: str | None = None) -> None:
        self.upstream = _loopback(upstream)
        # Unsigned requests go here instead (a read-only server holding only what anyone may
        # read), so one endpoint behaves like S3 with a public-read bucket policy.
        self.anonymous_upstream = _loopback(anonymous_upstream) if anonymous_upstream else None
        self.verify_checksums = verify_checksums
        self.timeout = timeout
        self.lifetime = lifetime
        self.rules: list[Rule] = []
        self._hits: list[Hit] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._live: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler, bind_and_activate=True)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="faultproxy", daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        if self.stopped.is_set():
            return
        self.stopped.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            live = list(self._live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- programming -------------------------------------------------------------------------

    def add(self, fault: Fault, *, method: str | None = None, target: str = "",
            headers: Mapping[str, str] | None = None, nth: int = 1, times: int | None = 1) -> Rule:
        """Give `fault` to the nth request matching the selector, and to `times - 1` after it."""
        rule = Rule(fault, method, target, dict(headers or {}), nth, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Forget every rule and the request log."""
        with self._lock:
            self.rules.clear()
            self._hits.clear()

    @property
    def hits(self) -> list[Hit]:
        """Every request so far, once those in flight have finished (a client may have its
        answer a moment before the proxy has written its log line)."""
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=self.timeout)
            return list(self._hits)

    def faulted(self) -> list[Hit]:
        return [h for h in self.hits if h.fault is not None]

    def seen(self, method: str | None = None, target: str = "") -> list[Hit]:
        return [h for h in self.hits if (method is None or h.method == method)
                and (not target or re.search(target, h.target))]

    # -- used by the handler -----------------------------------------------------------------

    def _fault_for(self, request: Request) -> Fault | None:
        chosen: Fault | None = None
        with self._lock:
            for rule in self.rules:
                if not rule.matches(request):
                    continue
                rule.matched += 1  # every rule counts its matches, even behind another
                if chosen is None and rule.ready():
                    rule.fired += 1
                    chosen = rule.fault
        return chosen

    def _begin(self) -> None:
        with self._lock:
            self._inflight += 1

    def _end(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    def _log(self, request: Request, status: int | None, fault: Fault | None) -> None:
        with self._lock:
            self._hits.append(Hit(request.method, request.target, request.header("range"), status,
                                 fault.name if fault is not None else None, tuple(request.fields)))

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._live.discard(sock)

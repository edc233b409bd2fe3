"""A git remote over smart HTTP (dulwich's server, on loopback): clone, push and pull go
through http:// as they do against a forge, with git-eosvc's hooks doing the data work.

The remote is not a path on disk the hooks could read behind git's back: everything they
learn about it comes through git (pre-push's stdin, the fetched refs), which is the point.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from conftest import S3, eosvc, git
from dulwich.repo import Repo as DulwichRepo
from dulwich.server import DictBackend
from dulwich.web import WSGIRequestHandlerLogger, WSGIServerLogger, make_wsgi_chain
from helpers import commit_all, obj_key, snapshot, write

SECTIONS = ("data", "output")


class HttpRemote:
    """A bare repository served by dulwich.web at `url`; `requests` lists what git asked."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.requests: list[str] = []
        self.url = ""


@pytest.fixture
def http_remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpRemote]:
    bare = tmp_path / "served" / "proj.git"
    git(tmp_path, "init", "--bare", "-q", str(bare))
    remote = HttpRemote(bare)
    app = make_wsgi_chain(DictBackend({"/proj.git": DulwichRepo(str(bare))}))

    def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        remote.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, logged, server_class=WSGIServerLogger,
                         handler_class=WSGIRequestHandlerLogger)
    remote.url = f"http://127.0.0.1:{server.server_port}/proj.git"
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # loopback, never through a proxy
    thread = threading.Thread(target=server.serve_forever, name="dulwich-http", daemon=True)
    thread.start()
    try:
        yield remote
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_clone_push_and_pull_over_http_move_the_bytes(tmp_path: Path, http_remote: HttpRemote, s3: S3) -> None:
    url = http_remote.url
    a = tmp_path / "a"
    a.mkdir()
    git(a, "init", "-q")
    git(a, "remote", "add", "origin", url)
    eosvc(a, "init", "--repo", "proj")
    big = os.urandom(3 * 1024 * 1024 + 17)  # several multipart-sized chunks' worth, not text
    write(a, "data/train.bin", big)
    write(a, "data/dir with space/naïve.csv", "x,y\n1,2\n")
    write(a, "data/empty.txt", b"")
    write(a, "output/private.txt", "only for the private bucket\n")
    commit_all(a, "data over http")

    pushed = git(a, "push", "-u", "origin", "main")  # pre-push uploads, then git sends the pack
    assert "uploaded 4 object(s)" in pushed.stderr, pushed.stderr
    assert "POST /proj.git/git-receive-pack" in http_remote.requests  # it went over HTTP
    assert obj_key(big) in s3.keys(s3.public_bucket)
    assert obj_key("only for the private bucket\n") in s3.keys(s3.private_bucket)
    assert git(a, "rev-parse", "HEAD").stdout == git(http_remote.path, "rev-parse", "main").stdout

    # a fresh clone over HTTP: install materialises HEAD's artifacts, byte for byte
    git(tmp_path, "clone", "-q", url, "b")
    b = tmp_path / "b"
    assert not (b / "data/train.bin").exists()  # git alone brings the manifests only
    eosvc(b, "install")
    assert snapshot(b, *SECTIONS) == snapshot(a, *SECTIONS)
    assert "POST /proj.git/git-upload-pack" in http_remote.requests

    # EOSVC's clone, from the same URL
    eosvc(tmp_path, "clone", "proj", "--url", url, "--dest", str(tmp_path / "c"))
    assert snapshot(tmp_path / "c", *SECTIONS) == snapshot(a, *SECTIONS)

    # a change pushed over HTTP arrives with a plain `git pull` (the hooks bring the bytes)
    write(a, "data/train.bin", big[::-1])
    (a / "data/empty.txt").unlink()
    write(a, "output/new.txt", "second round\n")
    commit_all(a, "second round")
    assert "uploaded 2 object(s)" in git(a, "push").stderr
    git(b, "pull", "-q")
    assert snapshot(b, *SECTIONS) == snapshot(a, *SECTIONS)
    assert not (b / "data/empty.txt").exists()
    assert git(b, "status", "--porcelain").stdout == ""

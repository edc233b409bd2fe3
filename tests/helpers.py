"""Shared steps for end-to-end tests: repos, files, snapshots."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import eosvc, git


def write(root: Path, rel: str, data: bytes | str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def snapshot(root: Path, *sections: str) -> dict[str, bytes]:
    """Every file under the sections, by repo-relative path."""
    out: dict[str, bytes] = {}
    for section in sections:
        base = root / section
        if not base.exists():
            continue
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                p = Path(dirpath) / name
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def new_repo(tmp_path: Path, remote: Path, name: str = "a", *init_args: str) -> Path:
    """A clone with `git eosvc init` done and `origin` pointing at the bare remote."""
    work = tmp_path / name
    work.mkdir()
    git(work, "init", "-q")
    git(work, "remote", "add", "origin", str(remote))
    eosvc(work, "init", "--repo", "proj", *init_args)
    return work


def clone(tmp_path: Path, remote: Path, name: str) -> Path:
    git(tmp_path, "clone", "-q", str(remote), name)
    return tmp_path / name


def commit_all(work: Path, message: str) -> None:
    eosvc(work, "add")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)


def pushed_and_cloned(tmp_path: Path, remote: Path, files: dict[str, str]) -> tuple[Path, Path]:
    """Clone `a` records `files`, commits and pushes with plain git; clone `b` is a fresh
    `git clone` with `git eosvc install` done (hooks in place, artifacts materialised)."""
    a = new_repo(tmp_path, remote)
    for rel, text in files.items():
        write(a, rel, text)
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    return a, b


def obj_key(data: bytes | str, repo: str = "proj") -> str:
    """The S3 key of some bytes under the test repos' prefix."""
    from git_eosvc.hashing import hash_bytes

    return f"{repo}/objects/" + hash_bytes(data.encode() if isinstance(data, str) else data).shard()

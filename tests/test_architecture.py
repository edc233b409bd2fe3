"""The shape of the package (docs/architecture.md): no import cycles, lower layers never
import upper ones, the engine prints nothing, and one function uploads for both pushes."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, eosvc, git
from helpers import new_repo, obj_key, write

PACKAGE = ROOT / "git_eosvc"

# the layers of DESIGN.md §6, top first; a module may import only its own layer or lower
LAYERS = [
    {"cli", "cli_common", "cli_eosvc", "cli_review", "hookcmd", "__main__", "cli_migrate", "cli_watch", "cli_drop",
     "cli_read",
     "completion", "manpage", "clispec", "api", "api_results", "cli_json", "cli_gc"},
    {"engine", "eosvc", "init", "install", "hookscript", "doctor"},
    {"conflicts", "repo", "gitproc", "access", "lock", "config", "scan", "lstats", "filehash", "staging", "statcache", "cache", "durability", "remote", "s3client",
     "s3list", "s3base", "s3backend", "dirremote", "transfer", "credentials", "eosvc_layout", "s3import", "gcplan",
     "review", "review_md", "merge", "plan", "ignore", "release", "packs", "packio", "packfmt", "chunker",
     "localchunks"},
    {"manifest", "paths", "atomic", "hashing", "progress", "errors", "ui", "__init__"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module of the package `name` imports, at any depth of the file (function-level
    imports too: a lazy import that closes a cycle is still a cycle)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[: len(here) - (node.level - 1)] if node.level > 1 else here
            stem = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                full = f"{stem}.{alias.name}" if stem else alias.name
                if full in known:
                    found.add(full)
                elif stem in known or stem == "":
                    found.add(stem or "__init__")
        elif isinstance(node, ast.ImportFrom) and node.module and \
                (node.module == "git_eosvc" or node.module.startswith("git_eosvc.")):
            stem = node.module.removeprefix("git_eosvc").lstrip(".")
            for alias in node.names:  # `from git_eosvc import repo` names a module
                full = f"{stem}.{alias.name}" if stem else alias.name
                found.add(full if full in known else (stem or "__init__"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("git_eosvc."):
                    found.add(alias.name.removeprefix("git_eosvc."))
    found.discard(name)
    return {m for m in found if m in known or m == "__init__"}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {name: _imports(name, path, known) for name, path in mods.items()}


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"module {module} is in no layer of docs/architecture.md")


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from . import a\n")
    (pkg / "c.py").write_text("from git_eosvc import a\n")
    known = {"a", "b", "c"}
    assert _imports("a", pkg / "a.py", known) == {"b"}
    assert _imports("b", pkg / "b.py", known) == {"a"}
    assert _imports("c", pkg / "c.py", known) == {"a"}
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_lower_layers_never_import_upper_ones() -> None:
    wrong = [f"{m} imports {n}" for m, deps in _graph().items() for n in deps
             if _layer(n) < _layer(m)]
    assert not wrong, wrong


def test_modules_stay_small() -> None:
    big = {m: n for m, p in _modules().items()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420}
    assert not big, big


# ---------------------------------------------------------------- behaviour


def test_the_engine_prints_nothing(tmp_path: Path, remote: Path, s3, capfd: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """add, status, checkout, push, fetch and verify against a real S3 endpoint: not a byte
    on stdout or stderr (the CLI and hooks print; the engine returns)."""
    work = new_repo(tmp_path, remote)
    write(work, "data/a.csv", "a,b\n1,2\n")
    write(work, "output/r.txt", "result\n")
    monkeypatch.chdir(work)
    capfd.readouterr()

    from git_eosvc.engine.add import add
    from git_eosvc.engine.checkout import checkout, reconcile
    from git_eosvc.engine.fetch import fetch
    from git_eosvc.engine.precommit import pre_commit_check
    from git_eosvc.engine.push import RefUpdate, upload_for_push
    from git_eosvc.engine.status import status
    from git_eosvc.engine.verify import verify
    from git_eosvc.engine.workspace import Workspace

    with Workspace.open(work) as ws:
        added = add(ws)
        assert added.files == 2
        git(work, "commit", "-q", "--no-verify", "-m", "data")
        capfd.readouterr()  # git's own output is not the engine's
        head = ws.require_head()
        pushed = upload_for_push(ws, [RefUpdate("refs/heads/main", head, "refs/heads/main", "0" * 40)],
                                 "origin", str(remote))
        assert pushed.uploaded == 2
        (work / "data/a.csv").unlink()
        assert [st.unrecorded.removed for st in status(ws) if st.unrecorded]
        result = checkout(ws)
        assert result.written == ["data/a.csv"] and result.ok
        assert reconcile(ws) is None
        assert fetch(ws).failed == {}
        assert verify(ws).not_on_remote == []
        write(work, "data/b.csv", "b\n")
        add(ws)
        report = pre_commit_check(ws)
        assert report.missing == [] and report.unrecorded == []
        git(work, "commit", "-q", "--no-verify", "-m", "b")
        subprocess.run(["git", "checkout", "-q", "HEAD~1", "--", "data.eosvc"], cwd=work, check=True,
                       env=dict(os.environ, EOSVC_SKIP="1"))
        capfd.readouterr()
        done = reconcile(ws)  # what the hooks run: here it deletes a file
        assert done is not None and done.deleted == ["data/b.csv"]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert obj_key("a,b\n1,2\n") in s3.keys(s3.public_bucket)


def test_git_eosvc_push_and_git_push_upload_through_one_function(
        tmp_path: Path, remote: Path, s3, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pre-push hook and `git eosvc push` (when no hook of ours will run) both call
    engine.push.upload_for_push; driven here in-process, then end to end."""
    import git_eosvc.engine.push as push_mod
    from git_eosvc import cli, hookcmd

    calls: list[str] = []
    original = push_mod.upload_for_push

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("remote") or args[2])
        return original(*args, **kwargs)

    monkeypatch.setattr(push_mod, "upload_for_push", spy)
    work = new_repo(tmp_path, remote)
    eosvc(work, "uninstall")
    eosvc(work, "install", "--no-hooks")  # as under a hook manager: no hook of ours
    write(work, "data/a.csv", "one\n")
    eosvc(work, "add")
    git(work, "commit", "-q", "-m", "one")
    monkeypatch.chdir(work)
    assert cli.main(["push"]) == 0  # no hook of ours: the command uploads, then `git push`
    assert calls == ["origin"]
    assert obj_key("one\n") in s3.keys(s3.public_bucket)

    write(work, "data/b.csv", "two\n")
    eosvc(work, "add")
    git(work, "commit", "-q", "-m", "two")
    head = git(work, "rev-parse", "HEAD").stdout.strip()
    old = git(work, "rev-parse", "origin/main").stdout.strip()
    stdin = io.TextIOWrapper(io.BytesIO(f"refs/heads/main {head} refs/heads/main {old}\n".encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert hookcmd.run("pre-push", ["origin", str(remote)]) == 0  # what git's pre-push runs
    assert calls == ["origin", "origin"]
    assert obj_key("two\n") in s3.keys(s3.public_bucket)


def test_git_eosvc_push_leaves_the_upload_to_the_installed_hook(tmp_path: Path, remote: Path, s3) -> None:
    work = new_repo(tmp_path, remote)  # `init` installed our hooks
    write(work, "data/a.csv", "hooked\n")
    eosvc(work, "add")
    git(work, "commit", "-q", "-m", "one")
    proc = eosvc(work, "push")
    assert "git-eosvc: uploaded 1 object(s)" in proc.stderr  # the pre-push hook's line
    assert proc.stderr.count("uploaded 1 object(s)") == 1  # uploaded once, by the hook
    assert obj_key("hooked\n") in s3.keys(s3.public_bucket)
    assert git(work, "rev-parse", "HEAD").stdout == git(remote, "rev-parse", "main").stdout

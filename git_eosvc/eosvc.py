"""EOSVC's commands, git-backed: clone, download/upload/delete --path, view.

Paths are typed the way EOSVC users type them (repo-root relative, `data/x`, `.` for every
section, `checkpoints/…` and `fit/…` in model repos, and EOSVC 0.1.2's `framework/…` and
1.x's `model/fit/…`) and refused when they leave a section.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import access as access_mod
from . import ui
from .access import MODEL, AccessMap, Section
from .errors import CredentialsError, UsageError
from .manifest import Entry, Manifest, decode
from .paths import path_problem, under
from .repo import Repo

_SHORT_FORMS = {"checkpoints": "model/checkpoints", "fit": "model/framework/fit",
                "framework": "model/framework/fit"}  # EOSVC 0.1.2's name for fit
ALL = ("", ".", "./")  # EOSVC's `--path .`: every section


def targets(access: AccessMap, raw: str) -> list[tuple[Section, str]]:
    """`--path` as (section, repo-relative path) pairs: every section for `.`."""
    if raw.strip() in ALL:
        return [(s, s.path) for s in access.sections]
    return [normalize(access, raw)]


def normalize(access: AccessMap, raw: str) -> tuple[Section, str]:
    """An EOSVC path as (section, repo-relative path); the path may be the section itself."""
    roots = ", ".join(s.path + "/" for s in access.sections)
    refused = UsageError(f"Unsupported path '{raw}'. Allowed roots: {roots}")
    text = raw.strip().replace("\\", "/")
    if not text or "\0" in text or text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise refused
    parts = [p for p in text.split("/") if p not in ("", ".")]
    rel = "/".join(parts)
    if not parts or path_problem(rel):  # `..`, `.git`: the project's one path rule
        raise refused
    if access.kind == MODEL and parts[0] in _SHORT_FORMS:
        rel = "/".join([_SHORT_FORMS[parts[0]], *parts[1:]])
    elif access.kind == MODEL and parts[:2] == ["model", "fit"]:  # EOSVC 1.x's alias
        rel = "/".join([_SHORT_FORMS["fit"], *parts[2:]])
    section = access.section_of(rel)
    if section is None:
        if access.kind == MODEL and parts[0] in ("data", "output"):
            raise UsageError(f"Unsupported path '{raw}': this is a model repo, it has no {parts[0]}/. "
                             f"Allowed roots: {roots}")
        raise refused
    return section, rel


# ================================================================== clone


def clone(name: str, org: str, dest: Path | None, url: str | None, quiet: bool = False) -> Path:
    """`git clone`, then install and materialise; refuses early when nothing could be read.
    `quiet` (the Python API, which prints nothing): git's output goes into the error."""
    from .config import profile_of
    from .credentials import find

    url = url or f"https://github.com/{org}/{name}.git"
    target = (dest or Path(name)).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"destination {target} exists and is not empty",
                         hint="choose another --dest or remove it")
    created = not target.exists()
    env = dict(os.environ, EOSVC_SKIP="1")  # materialise once, below, after the checks
    proc, said = _run(["git", "clone", "--", url, str(target)], env, quiet)
    if proc != 0:
        raise UsageError(f"git clone {url} failed" + (f": {said}" if quiet else " (see git's message above)"))
    access_file = target / access_mod.ACCESS_FILE
    if not access_file.exists():
        return target  # a plain git repository; the caller says so
    amap = access_mod.parse(access_file.read_text(encoding="utf-8"))
    repo = Repo.discover(target)
    relevant = [s for s in amap.sections if _has_entries(repo, s)] or list(amap.sections)
    lookup = find(os.environ, *profile_of(os.environ, repo.config_values()), workdir=target) \
        if not any(s.public for s in relevant) and not _directory_remote(repo) else None
    if lookup is not None and lookup.credentials is None:
        if created:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for child in target.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        names = ", ".join(s.path + "/" for s in relevant)
        raise CredentialsError(f"every section of {name} is private ({names}) and no credentials are set "
                               f"({lookup.describe()}); nothing was downloaded",
                               hint=f"{lookup.hint()}, then clone again")
    return target


def _directory_remote(repo: Repo) -> bool:
    """The clone's remote is a directory (file:///path): no credentials are needed to read it."""
    from .config import CONFIG_FILE, read_config_file, resolve
    from .errors import EosvcError

    try:
        committed = read_config_file(repo.workdir / CONFIG_FILE)
        return resolve(os.environ, repo.config_values(), committed, repo.default_name()).directory is not None
    except EosvcError:
        return False  # install reports it


def _has_entries(repo: Repo, section: Section) -> bool:
    try:
        return bool(repo.manifest_at(repo.head(), section.manifest, section.path))
    except Exception:  # noqa: BLE001 - a broken manifest is reported by the checkout that follows
        return True


def _run(cmd: list[str], env: dict[str, str], quiet: bool = False) -> tuple[int, str]:
    import subprocess

    proc = subprocess.run(cmd, env=env, capture_output=quiet)
    return proc.returncode, (proc.stderr or b"").decode(errors="replace").strip()


# ================================================================== view


@dataclass
class Node:
    name: str
    size: int = 0
    files: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    children: dict[str, "Node"] = field(default_factory=dict)
    state: str | None = None   # files only: = ~ + -
    remote: str | None = None  # files only: uploaded / not uploaded / unknown


LEGEND = "= same   ~ modified   + local only   - in manifest, not local   " \
         "(remote: ✓ uploaded, ✗ not uploaded, ? unknown)"


@dataclass(frozen=True)
class FileState:
    """One file of `view`: `=` same, `~` modified, `+` here only, `-` recorded, not here
    (decided by hash, not size); `remote` is uploaded / not uploaded / ? for recorded files."""

    path: str
    state: str
    want: Entry | None  # as recorded
    have: Entry | None  # as in the work tree
    remote: str | None


def file_states(manifest: Manifest, current: dict[str, Entry], on_remote: dict[str, str],
                prefix: str | None) -> list[FileState]:
    """Every file the manifest records or the work tree holds (under `prefix`), by path. Pure."""
    out: list[FileState] = []
    for path in sorted(set(manifest) | set(current)):
        if prefix and not under(path, prefix):
            continue
        want, have = manifest.get(path), current.get(path)
        if want and have:
            state = "=" if want.oid == have.oid else "~"
        else:
            state = "-" if want else "+"
        out.append(FileState(path, state, want, have, on_remote.get(path, "?") if want else None))
    return out


def view_tree(files: list[FileState], section: Section) -> Node:
    """The tree of one section's files, with sizes and state counts per directory. Pure."""
    root = Node(section.path + "/")
    for f in files:
        parts = PurePosixPath(f.path).relative_to(section.path).parts
        node = root
        for part in parts[:-1]:
            node = node.children.setdefault(part, Node(part + "/"))
        leaf = node.children.setdefault(parts[-1], Node(parts[-1]))
        leaf.state = f.state
        leaf.size = (f.have or f.want).size  # type: ignore[union-attr]
        leaf.remote = f.remote
        for n in _ancestors(root, parts):
            n.size += leaf.size
            n.files += 1
            n.counts[f.state] = n.counts.get(f.state, 0) + 1
    return root


def _ancestors(root: Node, parts: tuple[str, ...]) -> list[Node]:
    out = [root]
    node = root
    for part in parts[:-1]:
        node = node.children[part]
        out.append(node)
    return out


def render_tree(node: Node, max_depth: int | None, depth: int = 0, indent: str = "") -> list[str]:
    lines: list[str] = []
    if depth == 0:
        lines.append(f"{node.name}  {_rollup(node)}")
    if max_depth is not None and depth >= max_depth:
        return lines
    for name in sorted(node.children, key=lambda n: (not node.children[n].children, n)):
        child = node.children[name]
        if child.state is not None:
            remote = {"uploaded": "✓", "not uploaded": "✗"}.get(child.remote or "", "?" if child.remote else " ")
            lines.append(f"{indent}  {child.state} {remote} {child.name}  {ui.human_size(child.size)}")
        else:
            lines.append(f"{indent}  {child.name}  {_rollup(child)}")
            lines += render_tree(child, max_depth, depth + 1, indent + "  ")
    return lines


def _rollup(node: Node) -> str:
    counts = " ".join(f"{k}{v}" for k, v in sorted(node.counts.items()))
    return f"[{node.files} files, {ui.human_size(node.size)}{', ' + counts if counts else ''}]"


def manifest_of(repo: Repo, section: Section) -> Manifest:
    path = repo.workdir / section.manifest
    if not path.exists():
        return Manifest()
    return decode(path.read_bytes(), section.manifest, section.path)

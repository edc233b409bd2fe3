"""The end-to-end matrix: plain git commands, real hooks from `git eosvc install`, moto's S3.

One history (gitmatrix.HISTORY: data and output files added, modified and deleted across
commits, on four branches) is recorded with `git eosvc add`, pushed once to a bare remote
(pre-push uploads to S3) for the whole module. Each case (gitmatrix.CASES) clones a branch,
runs `git eosvc install`, checks that the starting work tree is materialised, then runs
plain git commands and, IMMEDIATELY after each one, checks the work tree against the
manifests now in it — no git-eosvc command in between: whatever the hooks did (or did
not do) is what is asserted.

The same cases run without git-eosvc in test_git_hooks_recorded.py, which records which
hooks git runs for each of them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import gitmatrix as gm
import pytest
from conftest import KEYS as S3_KEYS, S3Server, eosvc

HEADER = "eosvc-manifest v1"
MANIFESTS = ("data.eosvc", "output.eosvc", "model/checkpoints.eosvc", "model/framework/fit.eosvc")
_ENTRY = re.compile(r"([0-9a-f]{64}) (0|[1-9][0-9]*) (.+)")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


# ---------------------------------------------------------------- the oracle


def _unquote(path: str) -> str:
    """A manifest path as written (plain, or quoted the way git quotes; docs/manifest.md)."""
    if not path.startswith('"'):
        return path
    assert path.endswith('"') and len(path) >= 2, f"bad quoted path {path!r}"
    body, out, i = path[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return out.decode("utf-8", "surrogateescape")


def parse_manifest(path: Path) -> dict[str, tuple[str, int]]:
    """`<sha256> <size> <path>` lines after the header line: path -> (sha256, size)."""
    lines = path.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
    assert lines[0] == HEADER, f"{path.name}: first line is {lines[0]!r}, not {HEADER!r}"
    assert lines[-1] == "", f"{path.name}: no final newline"
    out: dict[str, tuple[str, int]] = {}
    for n, line in enumerate(lines[1:-1], 2):
        m = _ENTRY.fullmatch(line)
        assert m, f"{path.name} line {n}: not '<sha256> <size> <path>': {line!r}"
        out[_unquote(m.group(3))] = (m.group(1), int(m.group(2)))
    return out


def _conflicted(path: Path) -> bool:
    text = path.read_bytes()
    return any(line.startswith((b"<<<<<<<", b"=======", b">>>>>>>")) for line in text.splitlines())


def _files(base: Path, root: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for dirpath, _dirs, names in os.walk(base):
        for name in names:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _show(data: bytes) -> str:
    return f"{hashlib.sha256(data).hexdigest()[:12]} ({len(data)} B, {data[:24]!r})"


def materialisation_problems(work: Path, kept: Mapping[str, bytes] | None = None,
                             skip_conflicted: bool = False) -> list[str]:
    """What differs between each section directory and the manifest in the work tree beside
    it: listed files missing or with other bytes (stale), files not listed (extra). `kept`:
    paths that must hold these local bytes instead (no local work lost)."""
    kept = dict(kept or {})
    problems: list[str] = []
    for name in MANIFESTS:
        manifest = work / name
        if not manifest.is_file():
            continue  # no such section here (or left out of a sparse checkout)
        section = name[: -len(".eosvc")]
        if _conflicted(manifest):
            if skip_conflicted:
                continue
            problems.append(f"{name} holds conflict markers")
            continue
        listed = parse_manifest(manifest)
        present = _files(work / section, work)
        for path, (sha, size) in sorted(listed.items()):
            if path in kept:
                continue
            if path not in present:
                problems.append(f"missing {path} (the manifest lists {sha[:12]}, {size} B)")
                continue
            data = present[path]
            if hashlib.sha256(data).hexdigest() != sha:
                problems.append(f"stale {path}: the manifest lists {sha[:12]} ({size} B), "
                                f"the work tree has {_show(data)}")
        for path in sorted(set(present) - set(listed) - set(kept)):
            problems.append(f"extra {path}: {_show(present[path])}, not in {name}")
        for path, data in sorted(kept.items()):
            if path.startswith(section + "/") and present.get(path) != data:
                got = _show(present[path]) if path in present else "nothing"
                problems.append(f"LOST local work {path}: expected the local bytes {_show(data)}, found {got}")
    return problems


def assert_materialised(work: Path, kept: Mapping[str, bytes] | None = None,
                        skip_conflicted: bool = False, when: str = "") -> None:
    """The section directories hold exactly what the work tree's manifests list."""
    problems = materialisation_problems(work, kept, skip_conflicted)
    assert not problems, f"{work.name} {when}:\n  " + "\n  ".join(problems)


# ---------------------------------------------------------------- the shared history


class EosvcFlavor:
    name = "eosvc"

    def commit(self, work: Path, message: str) -> None:
        eosvc(work, "add")
        gm.run_git(work, "add", "-A")
        gm.run_git(work, "commit", "-q", "-m", message)

    def stage(self, work: Path, *paths: str) -> None:
        eosvc(work, "add", *paths)

    def install(self, work: Path) -> None:
        eosvc(work, "install")

    def manifest(self, section: str) -> str:
        return f"{section}.eosvc"

    def sync(self, work: Path) -> None:
        eosvc(work, "checkout")


FLAVOR = EosvcFlavor()


@dataclass
class Shared:
    root: Path
    urls: dict[str, str]
    env: dict[str, str]      # EOSVC_* and AWS_* for the module's buckets
    seeds: dict[tuple[str, str, tuple[str, ...]], Path] = field(default_factory=dict)

    def clone(self, case: gm.Case, where: Path) -> Path:
        """A fresh `git clone -b <start>` + `git eosvc install` for the case, at `where/w`.

        `git eosvc install` costs half a second (it downloads), and only a handful of
        (remote, branch, clone options) combinations occur: each is cloned and installed once,
        checked, and copied for every case that starts there (a copy of a clone is a clone:
        nothing in it names its own directory; git and git-eosvc see new inodes and re-check)."""
        key = (case.remote, case.start, case.clone_args)
        if key not in self.seeds:
            seed = self.root / "seeds" / f"{len(self.seeds)}-{case.start}"
            seed.mkdir(parents=True)
            gm.run_git(seed, "clone", "-q", *case.clone_args, "-b", case.start, self.urls[case.remote], "w")
            gm.check_clone_kind(case, seed / "w")
            FLAVOR.install(seed / "w")
            assert_materialised(seed / "w", when=f"after `git clone -b {case.start}` + `git eosvc install`")
            self.seeds[key] = seed / "w"
        where.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.seeds[key], where / "w", symlinks=True)
        # new inodes: refresh the index as a clone has it (setup only, so no hook runs)
        gm.run_git(where / "w", "-c", "core.hooksPath=/dev/null", "update-index", "-q", "--refresh")
        return where / "w"


def _buckets(server: S3Server, tag: str) -> dict[str, str]:
    endpoint = server.url
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=S3_KEYS[0], aws_secret_access_key=S3_KEYS[1])
    public, private = f"mpub-{os.getpid()}-{tag}", f"mpriv-{os.getpid()}-{tag}"
    client.create_bucket(Bucket=public)
    server.publish(client, public)
    client.create_bucket(Bucket=private)
    return {"EOSVC_ENDPOINT_URL": endpoint, "EOSVC_PUBLIC_BUCKET": public, "EOSVC_PRIVATE_BUCKET": private,
            "AWS_ACCESS_KEY_ID": S3_KEYS[0], "AWS_SECRET_ACCESS_KEY": S3_KEYS[1]}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[Shared]:
    """HISTORY recorded with `git eosvc add`, pushed (all branches, pre-push uploading to S3)
    to a bare remote, plus a superproject with the repo as submodule `sub`.

    conftest's git_env and s3 are per test; this module-scoped setup pins the same things
    itself (gitmatrix.pinned_env: throwaway HOME and global config, no system config, AWS and
    EOSVC only what is set here, S3 on 127.0.0.1) and restores os.environ afterwards."""
    root = tmp_path_factory.mktemp("matrix")
    env = _buckets(s3_server, root.name.replace("_", "-").lower()[-20:])
    with gm.pinned_env(root / "home", env):
        author = root / "author"
        author.mkdir()
        gm.run_git(author, "init", "-q")
        os.environ["EOSVC_SKIP"] = "1"  # built with explicit `git eosvc checkout`; hooks not trusted here
        eosvc(author, "init", "--repo", "proj")
        shas = gm.build_history(author, FLAVOR)
        del os.environ["EOSVC_SKIP"]
        url = gm.bare_remote(root / "remote.git")
        push = gm.run_git(author, "push", url, "main", "base", "side", "conflict")
        assert "Traceback" not in push.stderr, push.stderr
        sup = gm.build_superproject(root, url, shas)
        super_url = gm.bare_remote(root / "super.git")
        gm.run_git(sup, "push", "-q", super_url, "main", "old")
        yield Shared(root, {"repo": url, "super": super_url}, env)


@pytest.fixture(autouse=True)
def _matrix_env(git_env: Path, shared: Shared, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test: conftest's pinned git environment plus the module's buckets."""
    for name, value in shared.env.items():
        monkeypatch.setenv(name, value)


# ---------------------------------------------------------------- the matrix


def _dirs(work: Path, case: gm.Case) -> list[Path]:
    return [(work / c).resolve() for c in case.checks]


@pytest.mark.parametrize("case", gm.cases_for("eosvc"), ids=lambda c: c.id)
def test_plain_git_command_leaves_the_work_tree_materialised(case: gm.Case, shared: Shared,
                                                             tmp_path: Path) -> None:
    work = shared.clone(case, tmp_path)
    gm.prepare_case(case, FLAVOR, work)
    for d in _dirs(work, case):
        if d.exists():
            assert_materialised(d, when=f"before `{case.steps[0].label}` (setup: clone -b {case.start}, install)")
    kept = {path: text.encode() for path, text in case.dirty.items()}
    gm.apply_changes(work, case.dirty)

    problems: list[str] = []
    for step in case.steps:
        if step.action is not None:
            step.action(work, FLAVOR)
            continue
        argv = gm.step_argv(step, FLAVOR)
        proc = gm.run_git(work / step.cwd, *argv, rc=None)
        # what the hooks left, checked at once: no git-eosvc command runs before this
        if step.rc is not None and proc.returncode != step.rc:
            problems.append(f"`git {' '.join(argv)}` exited {proc.returncode}, expected {step.rc}:\n"
                            f"{proc.stdout}{proc.stderr}")
            break
        if "Traceback" in proc.stderr:
            problems.append(f"after `git {' '.join(argv)}`: a traceback on stderr:\n{proc.stderr}")
        if step.check != "none":
            for d in _dirs(work, case):
                found = materialisation_problems(d, kept, skip_conflicted=step.check == "unconflicted")
                if found:
                    where = "" if d == work.resolve() else f" (in {d.name})"
                    problems.append(f"after `git {' '.join(argv)}`{where}:\n    " + "\n    ".join(found)
                                    + (f"\n    hooks said: {proc.stderr.strip()[-600:]!r}" if proc.stderr.strip()
                                       else "\n    (nothing on stderr)"))
        for path in case.dirty:
            if path not in proc.stderr:
                problems.append(f"after `git {' '.join(argv)}`: the kept local edit of {path} is not "
                                f"reported on stderr: {proc.stderr.strip()[-400:]!r}")
        if step.verify is not None:
            try:
                step.verify(proc, work)
            except AssertionError as exc:
                problems.append(f"after `git {' '.join(argv)}`: {exc}")
    assert not problems, f"{case.id}:\n" + "\n".join(problems)

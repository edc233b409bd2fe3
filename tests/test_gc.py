"""Issue 11 item 1: `git eosvc gc` (the local store) and `git eosvc gc --remote` (S3).

Real git, the suite's S3 server, the real CLI. The local test is property-style: seeded
random histories (branches, tags, pushes, deleted branches, stashes, a second worktree,
a staged manifest, locally modified bytes saved by a forced checkout), then gc, then an
independent reading of git decides what had to stay.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import S3, eosvc, git
from helpers import clone, commit_all, new_repo, write

from git_eosvc.durability import REMOVAL_MARK
from git_eosvc.gcplan import (
    Listed,
    StoreObject,
    manifest_oids,
    parse_grace,
    plan_local,
    plan_remote,
)
from git_eosvc.hashing import Sha256, hash_bytes

MANIFESTS = ("data.eosvc", "output.eosvc", "model/checkpoints.eosvc", "model/framework/fit.eosvc")
OFFLINE = {"EOSVC_ENDPOINT_URL": "http://127.0.0.1:9"}  # nothing listens there: no S3 at all
OID = re.compile(r"^([0-9a-f]{64}) ", re.MULTILINE)


def store(work: Path) -> Path:
    return work / ".git" / "eosvc" / "objects" / "sha256"


def store_oids(work: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in store(work).glob("*/*/*")}


def age_store(work: Path, days: float) -> None:
    """Objects arrived `days` ago (a local file's mtime; S3 ages are never faked)."""
    then = time.time() - days * 86400
    for p in store(work).glob("*/*/*"):
        os.utime(p, (then, then))


def s3_oids(s3: S3) -> set[str]:
    return {k.rsplit("/", 1)[-1] for b in (s3.public_bucket, s3.private_bucket) for k in s3.keys(b)
            if "/objects/sha256/" in k}


def manifest_at(work: Path, rev: str) -> set[str]:
    out: set[str] = set()
    for m in MANIFESTS:
        proc = git(work, "show", f"{rev}:{m}", check=False)
        if proc.returncode == 0:
            out |= set(OID.findall(proc.stdout))
    return out


def needed_by_roots(work: Path, worktrees: list[Path], reflogs: bool) -> set[str]:
    """What gc must keep, read from git independently of the implementation: the tips of
    every ref, every reflog entry (with `reflogs`: all are young here), every stash entry
    with its index and untracked commits, each worktree's HEAD, index and manifests on disk."""
    revs = set(git(work, "for-each-ref", "--format=%(objectname)").stdout.split())
    for wt in worktrees:
        if reflogs:
            revs |= set(git(wt, "reflog", "show", "--format=%H", "HEAD").stdout.split())
        revs |= {git(wt, "rev-parse", "HEAD").stdout.strip()}
    for ref in git(work, "for-each-ref", "--format=%(refname)").stdout.split() if reflogs else ():
        revs |= set(git(work, "reflog", "show", "--format=%H", ref, check=False).stdout.split())
    for line in git(work, "stash", "list", "--format=%H %P").stdout.splitlines():
        revs |= set(line.split())
    need: set[str] = set()
    for rev in revs:
        need |= manifest_at(work, rev)
    for wt in worktrees:
        staged = git(wt, "ls-files", "-s", "--", *MANIFESTS).stdout
        for oid in set(re.findall(r"^\d+ ([0-9a-f]{40}) ", staged, re.MULTILINE)):
            need |= set(OID.findall(git(wt, "cat-file", "-p", oid).stdout))
        for m in MANIFESTS:
            if (wt / m).exists():
                need |= set(OID.findall((wt / m).read_text()))
    return need


def _random_history(work: Path, rng: random.Random) -> list[Path]:
    """Random commits on random branches, tags, pushes, a deleted branch, a stash; then a
    second worktree, a staged manifest and locally modified bytes saved by a forced checkout."""
    branches = ["main"]
    n = 0

    def new_bytes(tag: str) -> bytes:
        nonlocal n
        n += 1
        return f"{tag} {n} {rng.random()}\n".encode() * rng.randint(1, 50)

    def commit() -> None:
        for _ in range(rng.randint(1, 2)):
            section = rng.choice(["data", "output"])
            write(work, f"{section}/f{rng.randint(0, 3)}.bin", new_bytes(section))
        commit_all(work, f"c{n}")

    write(work, "data/f0.bin", new_bytes("first"))
    commit_all(work, "first")
    git(work, "push", "-q", "-u", "origin", "main")
    commit()  # perhaps replaces the first version: then only history (and reflogs) need it
    write(work, "data/f0.bin", new_bytes("second"))
    commit_all(work, "second")
    git(work, "push", "-q", "origin", "main")
    for step in range(rng.randint(4, 6)):
        op = rng.choice(["commit", "commit", "branch", "switch", "tag", "push", "push", "delete"])
        current = git(work, "branch", "--show-current").stdout.strip()
        if op == "commit":
            commit()
        elif op == "branch":
            name = f"b{step}"
            git(work, "switch", "-q", "-c", name)
            branches.append(name)
            commit()
        elif op == "switch":
            git(work, "switch", "-q", rng.choice(branches))
        elif op == "tag":
            git(work, "tag", f"t{step}")
        elif op == "push":
            git(work, "push", "-q", "origin", current)
        elif op == "delete" and len(branches) > 1:
            victim = rng.choice([b for b in branches if b != current and b != "main"] or [""])
            if victim:
                git(work, "branch", "-q", "-D", victim)
                git(work, "push", "-q", "origin", f":{victim}", check=False)
                branches.remove(victim)
    # a stash of a recorded (added, not committed) change
    write(work, "data/f0.bin", new_bytes("stashed"))
    eosvc(work, "add")
    git(work, "stash", "-q")
    # a second worktree on another branch
    other = work.parent / f"{work.name}-wt"
    git(work, "worktree", "add", "-q", "--detach", str(other), rng.choice(branches))
    # locally modified bytes a forced checkout saved in the store (never on S3)
    git(work, "switch", "-q", "main")
    write(work, "data/f0.bin", new_bytes("unsaved"))
    git(work, "switch", "-q", "--detach", "HEAD~0")
    eosvc(work, "checkout", "--force")
    # a staged manifest, never committed
    write(work, "output/staged.bin", new_bytes("staged"))
    eosvc(work, "add")
    return [work, other]


@pytest.mark.parametrize("seed,grace", [(1, []), (2, ["--grace", "0"])])
def test_local_gc_keeps_what_any_root_needs_and_every_only_copy(tmp_path: Path, remote: Path, s3: S3,
                                                                  seed: int, grace: list[str]) -> None:
    """Default grace (14d): every reflog entry here is young and counts; `--grace 0`: none does."""
    rng = random.Random(seed)
    work = new_repo(tmp_path, remote)
    worktrees = _random_history(work, rng)
    age_store(work, 30)
    before = store_oids(work)
    on_s3 = s3_oids(s3)
    need = needed_by_roots(work, worktrees, reflogs=not grace)
    unsaved = {o for o in before if o not in on_s3}
    assert unsaved  # the saved local bytes and the staged file at least

    dry = eosvc(work, "gc", "--dry-run", *grace).stdout
    assert store_oids(work) == before
    out = eosvc(work, "gc", *grace).stdout
    after = store_oids(work)
    removed = set(before) - set(after)

    assert need & set(before) <= set(after), "an object a root needs was removed"
    assert unsaved <= set(after), "the only copy of an object was removed"
    assert removed == (set(before) & on_s3) - need
    assert removed or not grace  # without reflogs, the first version of data/f0.bin at least goes
    freed = sum(before[o] for o in removed)
    assert f"removed {len(removed)} of {len(before)} object(s)" in out and f"({freed} bytes)" in out
    assert f"would remove {len(removed)} of {len(before)} object(s)" in dry and f"({freed} bytes)" in dry

    # every ref checks out offline, as before gc
    check = tmp_path / "check"
    refs = git(work, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/tags", "refs/remotes").stdout.split()
    git(work, "worktree", "add", "-q", "--detach", str(check), "main")
    for ref in refs:
        env = {**os.environ, **OFFLINE}
        proc = subprocess.run(["git", "switch", "-q", "--detach", ref], cwd=check, env=env, check=False,
                              capture_output=True, text=True)  # the hook materialises, offline
        assert proc.returncode == 0 and "not materialised" not in proc.stderr, proc.stderr
        for m in MANIFESTS:
            if (check / m).exists():
                for line in (check / m).read_text().splitlines()[1:]:
                    oid, _size, path = line.split(" ", 2)
                    assert hash_bytes((check / path).read_bytes()) == oid, (ref, path)
    # a second gc finds nothing more to remove
    assert "removed 0 of" in eosvc(work, "gc", *grace).stdout


def test_local_gc_grace_keeps_young_objects_and_young_reflog_entries(tmp_path: Path, remote: Path,
                                                                    s3: S3) -> None:
    work = new_repo(tmp_path, remote)
    write(work, "data/a.bin", "version 1\n")
    commit_all(work, "one")
    git(work, "push", "-q", "-u", "origin", "main")
    write(work, "data/a.bin", "version 2\n")
    commit_all(work, "two")
    git(work, "push", "-q", "origin", "main")
    v1 = hash_bytes(b"version 1\n")
    assert "removed 0 of" in eosvc(work, "gc").stdout  # everything is young (default 14d)
    age_store(work, 30)
    # version 1 is only in history now, but HEAD's reflog (young) still names the commit
    assert "removed 0 of" in eosvc(work, "gc").stdout
    assert v1 in store_oids(work)
    # `--history` also keeps it once the reflog no longer counts; without, it goes
    assert "removed 0 of" in eosvc(work, "gc", "--grace", "0", "--history").stdout
    mark = (store(work).parent / REMOVAL_MARK).read_text()  # a gc that removes nothing keeps it
    out = eosvc(work, "gc", "--grace", "0").stdout
    assert "removed 1 of" in out and f"({len(b'version 1')+1} bytes)" in out
    assert v1 not in store_oids(work)
    # what add vouched for (engine/vouch.py) is void once an object left the store
    assert (store(work).parent / REMOVAL_MARK).read_text() != mark
    # ... and comes back from S3 when needed
    git(work, "switch", "-q", "--detach", "HEAD~1")
    assert (work / "data/a.bin").read_text() == "version 1\n"


def test_remote_gc_dry_run_deletes_nothing_then_apply_deletes_the_unreachable(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    work = new_repo(tmp_path, remote)
    write(work, "data/kept.bin", "kept\n")
    write(work, "output/kept.bin", "private kept\n")
    commit_all(work, "base")
    git(work, "push", "-q", "-u", "origin", "main")
    git(work, "switch", "-q", "-c", "doomed")
    write(work, "data/doomed.bin", "doomed public\n")
    write(work, "output/doomed.bin", "doomed private\n")
    commit_all(work, "doomed")
    git(work, "push", "-q", "origin", "doomed")
    git(work, "switch", "-q", "main")
    git(work, "push", "-q", "origin", ":doomed")
    keys = {b: s3.keys(b) for b in (s3.public_bucket, s3.private_bucket)}
    assert len(keys[s3.public_bucket]) == 2 and len(keys[s3.private_bucket]) == 2

    gc = clone(tmp_path, remote, "gc")  # no local ref of the deleted branch here
    env = {"EOSVC_SKIP": "1"}
    out = eosvc(gc, "gc", "--remote", "--grace", "0", env=env).stdout
    assert "would delete 2 of 4 S3 object(s)" in out
    assert {b: s3.keys(b) for b in keys} == keys
    out = eosvc(gc, "gc", "--remote", "--grace", "1h", "--apply", env=env).stdout
    assert "deleted 0 of 4" in out and "2 younger than 1h" in out
    out = eosvc(gc, "gc", "--remote", "--grace", "0", "--apply", env=env).stdout
    assert "deleted 2 of 4 S3 object(s)" in out
    doomed = {hash_bytes(b"doomed public\n"), hash_bytes(b"doomed private\n")}
    assert s3_oids(s3) == {hash_bytes(b"kept\n"), hash_bytes(b"private kept\n")}
    assert not doomed & s3_oids(s3)
    assert not git(gc, "for-each-ref", "refs/eosvc/").stdout  # the temporary refs are gone
    # without credentials: refused, nothing done
    proc = eosvc(gc, "gc", "--remote", env={**env, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
                 check=False)
    assert proc.returncode == 2 and "credentials" in proc.stderr


def test_remote_gc_while_two_clones_push_never_deletes_anything_reachable(
        tmp_path: Path, remote: Path, s3: S3) -> None:
    grace = 5.0
    a = new_repo(tmp_path, remote)
    write(a, "data/base.bin", "base\n")
    commit_all(a, "base")
    git(a, "push", "-q", "-u", "origin", "main")
    # garbage: a branch pushed, then deleted on the remote
    git(a, "switch", "-q", "-c", "gone")
    write(a, "data/gone.bin", "gone\n")
    commit_all(a, "gone")
    git(a, "push", "-q", "origin", "gone")
    git(a, "switch", "-q", "main")
    git(a, "branch", "-q", "-D", "gone")
    git(a, "push", "-q", "origin", ":gone")
    git(a, "update-ref", "-d", "refs/remotes/origin/gone")
    b = clone(tmp_path, remote, "b")
    eosvc(b, "install")
    gc = clone(tmp_path, remote, "gc")
    time.sleep(grace + 1)  # the garbage is older than the grace period now

    errors: list[str] = []
    done = threading.Event()

    def pusher(work: Path, name: str) -> None:
        try:
            git(work, "switch", "-q", "-c", name)
            for i in range(3):
                write(work, f"data/{name}-{i}.bin", f"{name} {i} {random.random()}\n" * 100)
                commit_all(work, f"{name} {i}")
                git(work, "push", "-q", "origin", name)
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(f"{name}: {exc}")

    runs: list[str] = []

    def collector() -> None:
        try:
            while not done.is_set():
                runs.append(eosvc(gc, "gc", "--remote", "--apply", "--grace", f"{grace}s",
                                  env={"EOSVC_SKIP": "1"}).stdout)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"gc: {exc}")

    threads = [threading.Thread(target=pusher, args=(a, "pa")), threading.Thread(target=pusher, args=(b, "pb"))]
    gc_thread = threading.Thread(target=collector)
    gc_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    gc_thread.join()
    assert not errors, errors
    assert len(runs) >= 2
    eosvc(gc, "gc", "--remote", "--apply", "--grace", f"{grace}s", env={"EOSVC_SKIP": "1"})

    present = s3_oids(s3)
    git(gc, "fetch", "-q", "origin")
    commits = git(gc, "rev-list", "--remotes=origin").stdout.split()
    assert len(commits) == 1 + 3 + 3
    for commit in commits:
        missing = manifest_at(gc, commit) - present
        assert not missing, f"commit {commit[:10]} needs objects gc deleted: {missing}"
    assert hash_bytes(b"gone\n") not in present
    assert any(re.search(r"deleted [1-9]", r) for r in runs)


def test_remote_gc_spares_what_a_push_landing_mid_gc_needs(tmp_path: Path, remote: Path, s3: S3) -> None:
    """The classic race: an object unreachable and old, which a push (that found it already on
    S3, so uploaded nothing) makes reachable between gc's plan and its deletion."""
    work = new_repo(tmp_path, remote)
    write(work, "data/base.bin", "base\n")
    commit_all(work, "base")
    git(work, "push", "-q", "-u", "origin", "main")
    git(work, "switch", "-q", "-c", "side")
    write(work, "data/reborn.bin", "reborn\n")
    commit_all(work, "side")
    git(work, "push", "-q", "origin", "side")
    git(work, "push", "-q", "origin", ":side")
    git(work, "switch", "-q", "main")
    git(work, "branch", "-q", "-D", "side")
    git(work, "update-ref", "-d", "refs/remotes/origin/side")
    gc = clone(tmp_path, remote, "gc")
    write(work, "data/again.bin", "reborn\n")  # the same bytes, committed again on main
    commit_all(work, "again")

    from git_eosvc.engine.gc_remote import gc_remote
    from git_eosvc.engine.workspace import Workspace

    def push_meanwhile() -> None:
        git(work, "push", "-q", "origin", "main")

    with Workspace.open(gc) as ws:
        result = gc_remote(ws, None, 0.0, apply=True, before_delete=push_meanwhile)
    assert len(result.plan.delete) == 1 and result.spared == 1 and result.deleted == 0
    assert hash_bytes(b"reborn\n") in s3_oids(s3)


def test_plans_are_pure_and_conservative() -> None:
    a, b, c, d = (Sha256(hash_bytes(x.encode())) for x in "abcd")
    now = 1_000_000.0
    objs = [StoreObject(a, 1, now - 100), StoreObject(b, 2, now - 100), StoreObject(c, 4, now - 1),
            StoreObject(d, 8, now - 100, links=2)]
    plan = plan_local(objs, needed={a}, on_s3={b, c, d}, now=now, grace=10)
    assert [o.oid for o in plan.remove] == [b] and plan.bytes == 2
    assert (plan.needed, plan.young, plan.linked, plan.not_on_s3) == (1, 1, 1, 0)
    assert plan_local(objs, needed=set(), on_s3=set(), now=now, grace=10).remove == []
    listed = [Listed("p", f"r/objects/{o.shard()}", o, 1, now - 50) for o in (a, b)]
    assert [o.oid for o in plan_remote(listed, {a}, now - 10).delete] == [b]
    assert plan_remote(listed, {a}, now - 60).delete == []
    assert manifest_oids(f"eosvc-manifest 1\n<<<<<<< ours\n{a} 1 x\n=======\n{b} 2 x\n".encode()) == {a, b}
    assert [parse_grace(x) for x in ("0", "14d", "2w", "36h", "90m", "30s", "1")] == \
        [0, 14 * 86400, 14 * 86400, 36 * 3600, 5400, 30, 86400]

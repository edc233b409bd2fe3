"""Garbage collection decided from data only (no I/O): which local store objects and which
S3 objects nothing needs any more. engine/gc.py and engine/gc_remote.py gather the facts
(what the roots need, what the store and the buckets hold, what S3 has) and apply the plan;
`--dry-run` prints it. docs/gc.md explains the rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .errors import UsageError
from .hashing import Sha256

DEFAULT_GRACE = 14 * 86400.0  # git's own default for pruning unreachable loose objects (gc.pruneExpire)
_OID = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_UNITS = {"": 86400.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}


def parse_grace(text: str) -> float:
    """Seconds from `14d`, `2w`, `36h`, `90m`, `30s`, `0` (a bare number is days)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([smhdw]?)\s*", text.lower())
    if m is None:
        raise UsageError(f"not a grace period: {text!r}",
                         hint="use a duration such as 14d, 2w, 36h, 90m, 30s or 0 (a bare number is days)")
    return float(m[1]) * _UNITS[m[2]]


def shown_grace(seconds: float) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def manifest_oids(data: bytes) -> set[Sha256]:
    """Every sha256 a manifest's bytes name, read loosely: a malformed line, a manifest of
    another format version or one with conflict markers (both sides) still protects what it
    names. gc must never under-count what is needed."""
    return {Sha256(m.decode()) for m in _OID.findall(data)}


# ---------------------------------------------------------------- the local store


@dataclass(frozen=True)
class StoreObject:
    oid: Sha256
    size: int
    mtime: float  # when it came into the store
    links: int = 1  # more than one: hard-linked into a work tree (removing it frees nothing)


@dataclass
class LocalPlan:
    """What local gc removes, and why the rest stays."""

    remove: list[StoreObject] = field(default_factory=list)
    needed: int = 0        # objects some root needs
    young: int = 0         # unneeded, but younger than the grace period
    linked: int = 0        # unneeded, but hard-linked into a work tree
    not_on_s3: int = 0     # unneeded, but S3 does not have them (or could not say): the only copy
    total: int = 0         # objects in the store
    total_bytes: int = 0

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.remove)


def local_candidates(objects: Iterable[StoreObject], needed: set[Sha256], now: float,
                     grace: float) -> list[StoreObject]:
    """Objects that no root needs, older than the grace period and not linked into a work
    tree: those S3 must be asked about."""
    cutoff = now - grace
    return [o for o in objects if o.oid not in needed and o.mtime < cutoff and o.links <= 1]


def plan_local(objects: Iterable[StoreObject], needed: set[Sha256], on_s3: set[Sha256],
               now: float, grace: float) -> LocalPlan:
    """Remove an object only if no root needs it, it is older than `grace` seconds, it is
    not hard-linked into a work tree, and S3 has it (`on_s3`): never the only copy."""
    plan = LocalPlan()
    cutoff = now - grace
    for o in objects:
        plan.total += 1
        plan.total_bytes += o.size
        if o.oid in needed:
            plan.needed += 1
        elif o.mtime >= cutoff:
            plan.young += 1
        elif o.links > 1:
            plan.linked += 1
        elif o.oid not in on_s3:
            plan.not_on_s3 += 1
        else:
            plan.remove.append(o)
    return plan


# ---------------------------------------------------------------- S3


@dataclass(frozen=True)
class Listed:
    """One object key of a bucket listing (only keys at exactly the right place)."""

    bucket: str
    key: str
    oid: Sha256
    size: int
    modified: float  # LastModified, seconds since the epoch


@dataclass
class RemotePlan:
    delete: list[Listed] = field(default_factory=list)
    needed: int = 0   # keys some reachable commit needs
    young: int = 0    # unneeded keys younger than the grace period (perhaps a push in flight)
    total: int = 0
    total_bytes: int = 0
    by_bucket: dict[str, int] = field(default_factory=dict)  # keys listed per bucket

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.delete)


def plan_remote(listed: Iterable[Listed], needed: set[Sha256], cutoff: float) -> RemotePlan:
    """Delete a key only if no root's commits need its object (in either bucket: a stray
    copy is left alone rather than judged) and it was written before `cutoff` (the gc's
    start minus the grace period: an object a push uploaded but has not yet referenced is
    younger)."""
    plan = RemotePlan()
    for o in listed:
        plan.total += 1
        plan.total_bytes += o.size
        plan.by_bucket[o.bucket] = plan.by_bucket.get(o.bucket, 0) + 1
        if o.oid in needed:
            plan.needed += 1
        elif o.modified >= cutoff:
            plan.young += 1
        else:
            plan.delete.append(o)
    return plan


def still_unneeded(plan: Iterable[Listed], needed: set[Sha256]) -> list[Listed]:
    """The planned deletions that newly found roots did not claim."""
    return [o for o in plan if o.oid not in needed]


def by_bucket(items: Iterable[Listed]) -> Mapping[str, list[Listed]]:
    out: dict[str, list[Listed]] = {}
    for o in items:
        out.setdefault(o.bucket, []).append(o)
    return out

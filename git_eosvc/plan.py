"""Plans: what a checkout or a push would do, computed from data only (no I/O).

`status` and `--dry-run` print a plan; the engine applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from .hashing import Sha256
from .manifest import Entry


@dataclass
class CheckoutPlan:
    """Turn the workspace from `old` (what it was last materialised to) into `new`."""

    write: list[Entry] = field(default_factory=list)      # absent or safely replaceable
    delete: list[Entry] = field(default_factory=list)     # left `new`; workspace copy is old or in the store
    keep: list[tuple[str, str]] = field(default_factory=list)  # (path, why): local work in the way
    stash: list[Entry] = field(default_factory=list)      # local bytes to save in the store first (discard mode)
    left_out: list[Entry] = field(default_factory=list)   # not here, and not wanted here (dropped, excluded)

    def __bool__(self) -> bool:
        return bool(self.write or self.delete or self.keep)


def plan_checkout(
    old: Mapping[str, Entry],
    new: Mapping[str, Entry],
    current: Mapping[str, Entry],
    in_store: Callable[[Sha256], bool],
    discard: bool = False,
    only: Callable[[str], bool] | None = None,
    blocked: Callable[[str], bool] | None = None,
    left_out: Callable[[str], bool] | None = None,
) -> CheckoutPlan:
    """The no-data-loss rule (DESIGN.md §4).

    A workspace file is replaced or deleted only if it is absent, equals the old
    manifest's entry, or its bytes are already in the store. Otherwise it is kept and
    reported; with `discard`, its bytes are stashed in the store first, then replaced.
    A `blocked` path (the scan could not read it safely: still being written, unreadable,
    a symlink or special file) is never touched, not even with `discard`.
    A `left_out` path (dropped here, or outside the clone's fetch filter) that the work tree
    neither holds nor held at the last materialisation is not written: it stays absent.
    """
    plan = CheckoutPlan()

    def safe(path: str, here: Entry) -> bool:
        was = old.get(path)
        return (was is not None and was.oid == here.oid) or in_store(here.oid)

    # entries of `new` (write or keep), then entries that left it (delete or keep)
    for path in [*new, *(p for p in old if p not in new)]:
        if only is not None and not only(path):
            continue
        want = new.get(path)
        verb = "replaced" if want is not None else "deleted"
        if blocked is not None and blocked(path):
            plan.keep.append((path, f"could not be read safely; not {verb}"))
            continue
        here = current.get(path)
        if here is None:
            if want is not None:
                if left_out is not None and path not in old and left_out(path):
                    plan.left_out.append(want)
                else:
                    plan.write.append(want)
            continue
        if want is not None and here.oid == want.oid:
            continue
        if not safe(path, here):
            if not discard:
                plan.keep.append((path, f"modified locally; not {verb}"))
                continue
            plan.stash.append(here)
        if want is not None:
            plan.write.append(want)
        else:
            plan.delete.append(here)
    return plan


@dataclass(frozen=True)
class Need:
    """An object some commit needs, and where it lives."""

    bucket: str
    oid: Sha256
    size: int
    path: str  # one path that refers to it, for messages


def collect_needs(manifests: Iterable[tuple[str, Iterable[Entry]]]) -> list[Need]:
    """Unique (bucket, oid) pairs over (bucket, entries) groups, first path kept for messages."""
    seen: dict[tuple[str, Sha256], Need] = {}
    for bucket, entries in manifests:
        for e in entries:
            key = (bucket, e.oid)
            if key not in seen:
                seen[key] = Need(bucket, e.oid, e.size, e.path)
    return list(seen.values())

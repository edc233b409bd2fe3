"""What a batch transfer is made of: the items, the report, and the small rules for running
many of them in parallel (one failure message per item, never an exception that loses the
others; on an exception, cancel what has not started and wait for what has)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Iterable, Sequence, TypeVar

from .hashing import Sha256

T = TypeVar("T")
R = TypeVar("R")


Outcome = tuple[int, str | None]  # one item of a batch: (bytes moved, None) or (0, why it failed)


def object_key(repo: str, oid: Sha256) -> str:
    """An object's key in a bucket (S3) or bucket directory: <repo>/objects/sha256/ab/cd/<hash>."""
    return f"{repo}/objects/{Sha256(oid).shard()}"


@dataclass(frozen=True)
class Stored:
    """One object a listing found: its size and when it was written (seconds since the epoch)."""

    oid: Sha256
    size: int
    modified: float


@dataclass(frozen=True)
class Upload:
    """Put the local file `source` (hashed as `oid`, `size` bytes) into `bucket`."""

    bucket: str
    oid: Sha256
    size: int
    source: Path


@dataclass(frozen=True)
class Download:
    """Get `oid` (`size` bytes, from the manifest) from `bucket` into the local store."""

    bucket: str
    oid: Sha256
    size: int


@dataclass
class TransferReport:
    """What a batch did: oids now in place, one message per failed oid, bytes moved."""

    done: set[Sha256] = field(default_factory=set)
    failed: dict[Sha256, str] = field(default_factory=dict)
    bytes_moved: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed


class Failed(Exception):
    """One item failed; the message is for the user and goes into TransferReport.failed."""


def gather(futures: Sequence[Future[R]]) -> list[R]:
    """Results in order; on the first exception cancel what has not started and wait for
    what has (so the caller may clean up safely), then re-raise."""
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        wait(futures)
        raise


def parallel(fn: Callable[[T], R], items: Sequence[T], jobs: int, name: str = "eosvc-io") -> list[R]:
    """fn over items on up to `jobs` threads, results in order; the first exception cancels the rest."""
    if len(items) <= 1 or jobs <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(min(jobs, len(items)), thread_name_prefix=name) as pool:
        return gather([pool.submit(fn, item) for item in items])


class Pool:
    """`parallel` with its thread count and name bound: a value the pack layer is handed."""

    def __init__(self, jobs: int, name: str) -> None:
        self.jobs = jobs
        self.name = name

    def __call__(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        return parallel(fn, items, self.jobs, self.name)


def run_item(fn: Callable[[], int]) -> Outcome:
    """Run one item: (bytes moved, None) or (0, failure message)."""
    try:
        return fn(), None
    except Failed as e:
        return 0, str(e)


def report_of(report: TransferReport, items: Sequence[Upload | Download],
            outcomes: Sequence[Outcome]) -> TransferReport:
    for item, (moved, error) in zip(items, outcomes):
        if error is None:
            report.done.add(item.oid)
            report.bytes_moved += moved
        else:
            report.failed[item.oid] = error
    report.done -= report.failed.keys()  # the same oid may go to two buckets; one failed
    return report


def unique(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out

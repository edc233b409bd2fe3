"""Which objects a bucket holds, by listing: cheaper than one HEAD per object when many
are asked about and the remote is not much larger (Remote.missing decides). Anonymous
readers of a public bucket may not list; then ListingDenied sends the caller back to HEAD."""

from __future__ import annotations

from dataclasses import dataclass

import threading
from typing import Any, Callable, Iterator, Sequence, TypeVar

from .errors import TransferError
from .hashing import Sha256, is_sha256
from .s3client import describe_error, error_code, http_status
from .transfer import Stored

T = TypeVar("T")
Slots = threading.BoundedSemaphore
Parallel = Callable[[Callable[[str], set[Sha256]], Sequence[str]], list[set[Sha256]]]
_LIST_PAGE = 1000  # keys per ListObjectsV2 page
_LIST_FANOUT = "0123456789abcdef"  # a full listing runs one paginated prefix per hex digit


class ListingDenied(Exception):
    """Listing is not allowed (anonymous readers need only s3:GetObject): use HEAD instead."""


def list_present(client: Any, bucket: str, repo: str, wanted: set[Sha256], slots: Slots,
                 parallel: Parallel) -> set[Sha256] | None:
    """Which of `wanted` exist, by listing; None when one HEAD per oid is cheaper or
    listing is denied."""
    base = f"{repo}/objects/sha256/"
    # Requests a full listing may cost and still beat one HEAD per oid.
    budget = len(wanted) - len(_LIST_FANOUT)
    if budget <= 0:
        return None
    try:
        # Estimate the remote's size from one of the 256 two-digit shards; stop as soon
        # as the estimate exceeds the budget, so the probe itself stays cheap.
        count = 0
        for page in pages(client, bucket, f"{base}{min(wanted)[:2]}/", slots):
            count += len(page.get("Contents", ()))
            if count * 256 / _LIST_PAGE >= budget:
                return None
        prefixes = sorted({oid[0] for oid in wanted})
        found = parallel(lambda p: _list_prefix(client, bucket, repo, base + p, slots), prefixes)
    except ListingDenied:
        return None
    return set().union(*found)

def list_all(client: Any, bucket: str, repo: str, slots: Slots,
             parallel: Callable[[Callable[[str], list[Stored]], Sequence[str]], list[list[Stored]]]
             ) -> list[Stored]:
    """Every object of `repo` in `bucket` (sorted by oid), one paginated prefix per hex digit
    in parallel."""
    base = f"{repo}/objects/sha256/"

    def one(prefix: str) -> list[Stored]:
        out: list[Stored] = []
        for page in pages(client, bucket, base + prefix, slots):
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                name = key.rsplit("/", 1)[-1]
                if is_sha256(name) and key == f"{repo}/objects/{Sha256(name).shard()}":
                    modified = obj.get("LastModified")
                    out.append(Stored(Sha256(name), int(obj.get("Size", 0)),
                                      modified.timestamp() if modified is not None else 0.0))
        return out

    try:
        found = parallel(one, list(_LIST_FANOUT))
    except ListingDenied:
        raise TransferError(f"listing s3://{bucket}/{base} was refused",
                            hint="this needs credentials allowed s3:ListBucket on the bucket") from None
    return sorted((s for part in found for s in part), key=lambda s: s.oid)


def _list_prefix(client: Any, bucket: str, repo: str, prefix: str, slots: Slots) -> set[Sha256]:
    present: set[Sha256] = set()
    for page in pages(client, bucket, prefix, slots):
        for obj in page.get("Contents", ()):
            key = obj["Key"]
            name = key.rsplit("/", 1)[-1]
            # Only keys at exactly the right place count; strays under the prefix do not.
            if is_sha256(name) and key == f"{repo}/objects/{Sha256(name).shard()}":
                present.add(Sha256(name))
    return present

def pages(client: Any, bucket: str, prefix: str, slots: Slots) -> Iterator[dict[str, Any]]:
    """ListObjectsV2 pages, one request slot per page (not held while the caller works)."""
    from botocore.exceptions import BotoCoreError, ClientError

    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        try:
            with slots:
                page = client.list_objects_v2(**kwargs)
        except ClientError as e:
            if http_status(e) in (403, 501) or error_code(e) in ("AccessDenied", "NotImplemented"):
                raise ListingDenied() from None
            raise TransferError(f"could not list s3://{bucket}/{prefix}: {describe_error(e)}") from None
        except BotoCoreError as e:
            raise TransferError(f"could not list s3://{bucket}/{prefix}: {describe_error(e)}") from None
        yield page
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return


@dataclass
class PrefixUsage:
    objects: dict[Sha256, int]  # loose objects: oid -> size
    pack_keys: int = 0
    pack_bytes: int = 0
    other: int = 0
    other_bytes: int = 0


def prefix_usage(client: Any, bucket: str, repo: str, slots: Slots) -> PrefixUsage:
    """Everything a bucket holds under `<repo>/`: the loose content-addressed objects (oid ->
    size), the packs' keys (packs, indexes, catalogs: docs/storage.md), and any other key
    (an EOSVC layout, strays). Raises ListingDenied when listing is not allowed,
    TransferError when it fails."""
    usage = PrefixUsage({})
    packed = (f"{repo}/packs/", f"{repo}/catalogs/")
    for page in pages(client, bucket, f"{repo}/", slots):
        for obj in page.get("Contents", ()):
            key, size = obj["Key"], int(obj.get("Size", 0))
            name = key.rsplit("/", 1)[-1]
            if is_sha256(name) and key == f"{repo}/objects/{Sha256(name).shard()}":
                usage.objects[Sha256(name)] = size
            elif key.startswith(packed):
                usage.pack_keys += 1
                usage.pack_bytes += size
            else:
                usage.other += 1
                usage.other_bytes += size
    return usage

"""The S3 backend of Remote: which objects a bucket holds (HEAD, or a listing when many are
asked about), parallel uploads (multipart for large files), buckets, listing and deletion.
Clients, refusals and downloads are s3base.S3Base's; botocore is imported only when a
request is due.

Objects are immutable, so uploading a key twice is harmless and concurrent pushes are safe.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Iterable, Sequence

from .credentials import ANONYMOUS
from .errors import CredentialsError, TransferError
from .hashing import Sha256, is_sha256
from .progress import Progress
from .s3base import HEAD_MAX, MULTIPART_THRESHOLD, PART_SIZE, STREAM_ATTEMPTS, S3Base
from .s3client import (CREDENTIAL_HINT, BufferBody, FileSlice, b64, create_bucket, describe_error, error_code, hash_range,
                       http_status, is_stream_error, refusal)
from .s3list import ListingDenied, list_all, list_present, pages
from .transfer import Failed, Outcome, Stored, Upload, gather, run_item

__all__ = ["S3Backend", "HEAD_MAX", "MULTIPART_THRESHOLD", "PART_SIZE", "STREAM_ATTEMPTS"]

MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
DELETE_BATCH = 1000  # S3's limit on keys per DeleteObjects


class S3Backend(S3Base):
    """S3 (AWS or any S3-compatible endpoint) as a Remote's backend."""

    # -- existence -------------------------------------------------------------------------

    def missing(self, bucket: str, wanted: set[Sha256]) -> set[Sha256]:
        """The subset of `wanted` not in `bucket`. Raises TransferError if S3 cannot tell."""
        client = self._read_client()
        if len(wanted) > self._head_max:
            present = list_present(client, bucket, self.settings.repo, wanted, self._slots, self._parallel)
            if present is not None:
                return wanted - present
        order = sorted(wanted)
        exists = self._parallel(lambda oid: self._exists(client, bucket, oid), order)
        return {oid for oid, found in zip(order, exists) if not found}

    def _exists(self, client: Any, bucket: str, oid: Sha256) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(oid)
        try:
            with self._slots:
                client.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as e:
            if http_status(e) == 404:
                return False
            if not self._refused(e):
                raise TransferError(f"could not check s3://{bucket}/{key}: {describe_error(e)}") from None
        except BotoCoreError as e:
            raise TransferError(f"could not check s3://{bucket}/{key}: {describe_error(e)}") from None
        # 403 on HEAD: some servers (moto for anonymous callers, for one) police HEAD apart
        # from GET; a 1-byte ranged GET asks with the permission readers really have.
        try:
            with self._slots:
                client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].read()
            return True
        except ClientError as e:
            if error_code(e) == "InvalidRange":
                return True  # an empty object exists; it just has no byte 0
            if http_status(e) == 404 or error_code(e) == "NoSuchKey":
                return False
            if self._refused(e):
                raise self._denied(bucket, key, e) from None
            raise TransferError(f"could not check s3://{bucket}/{key}: {describe_error(e)}") from None
        except BotoCoreError as e:
            raise TransferError(f"could not check s3://{bucket}/{key}: {describe_error(e)}") from None

    def list_objects(self, bucket: str) -> list[Stored]:
        """Every object of this repo in `bucket` (by ListObjectsV2, one prefix per hex digit)."""
        return list_all(self._client(signed=True), bucket, self.settings.repo, self._slots, self._parallel)

    # -- upload ----------------------------------------------------------------------------

    def check_write(self) -> None:
        if self._credentials is None:
            raise CredentialsError(f"uploading to S3 needs credentials; {ANONYMOUS}", hint=CREDENTIAL_HINT)

    def upload(self, todo: Sequence[Upload], progress: Progress) -> list[Outcome]:
        """Upload every item in parallel; one outcome per item, never raised."""
        client = self._client(signed=True)
        with ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-part") as parts:
            return self._parallel(
                lambda item: run_item(lambda: progress.finished(
                    self._upload_one(client, item, parts, progress), self.location(item.bucket, item.oid))), todo)

    def _upload_one(self, client: Any, item: Upload, parts: ThreadPoolExecutor,
                    progress: Progress) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(item.oid)
        try:
            size = os.stat(item.source).st_size
        except FileNotFoundError:
            raise Failed(f"{item.source} is gone since it was hashed; re-run `git eosvc add`") from None
        except OSError as e:
            raise Failed(f"cannot read {item.source}: {e.strerror}") from None
        if size != item.size:
            raise Failed(f"{item.source} changed since it was hashed ({size} bytes now, "
                          f"{item.size} recorded); re-run `git eosvc add`")
        try:
            if size < self._threshold:
                with open(item.source, "rb") as f:
                    # The server checks the bytes against the sha256 we name them by (and,
                    # where it ignores that, against their MD5); read outside the request slot.
                    sha, md5 = hash_range(f, 0, size, md5=True)
                    if sha.hex() != item.oid:  # the bytes are not those it was added as
                        raise Failed(f"{item.source} changed since it was hashed (its bytes are no longer "
                                     f"{item.oid.short}); re-run `git eosvc add`")
                    f.seek(0)
                    with self._slots:
                        client.put_object(Bucket=item.bucket, Key=key, Body=f, ContentLength=size,
                                          ChecksumSHA256=b64(bytes.fromhex(item.oid)), ContentMD5=b64(md5))
                progress.update(size)
            else:
                self._upload_multipart(client, item, key, size, parts, progress)
        except (ClientError, BotoCoreError) as e:
            refused = isinstance(e, ClientError) and self._refused(e)
            why = refusal(e, self._credentials) if refused else describe_error(e)
            raise Failed(f"could not upload {item.source} to s3://{item.bucket}/{key}: {why}") from None
        except OSError as e:
            raise Failed(f"cannot read {item.source}: {e.strerror or e}") from None
        return size

    def _upload_multipart(self, client: Any, item: Upload, key: str, size: int,
                          parts: ThreadPoolExecutor, progress: Progress) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        part_size = max(self._part_size, -(-size // MAX_PARTS))  # stay within 10,000 parts
        with self._slots:
            upload_id = client.create_multipart_upload(
                Bucket=item.bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
        futures: list[Future[dict[str, Any]]] = []
        try:
            for number, offset in enumerate(range(0, size, part_size), start=1):
                futures.append(parts.submit(
                    self._upload_part, client, item, key, upload_id, number, offset,
                    min(part_size, size - offset), progress))
            done = gather(futures)
            with self._slots:
                client.complete_multipart_upload(Bucket=item.bucket, Key=key, UploadId=upload_id,
                                                 MultipartUpload={"Parts": done})
        except BaseException:
            try:  # best effort: a bucket lifecycle rule reaps whatever is left
                with self._slots:
                    client.abort_multipart_upload(Bucket=item.bucket, Key=key, UploadId=upload_id)
            except (ClientError, BotoCoreError):
                pass
            raise

    def _upload_part(self, client: Any, item: Upload, key: str, upload_id: str, number: int,
                     offset: int, length: int, progress: Progress) -> dict[str, Any]:
        with open(item.source, "rb") as f:
            # Hash outside the request slot: CPU work should not hold a network slot.
            # (no Content-MD5 here: a second digest of every large part costs the push CPU)
            checksum = b64(hash_range(f, offset, length)[0])
            with self._slots:
                response = client.upload_part(
                    Bucket=item.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=FileSlice(f, offset, length), ContentLength=length, ChecksumSHA256=checksum)
        progress.update(length)
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    # -- plain keys: packs, their indexes, catalogs (packs.py) ------------------------------

    def put_bytes(self, bucket: str, key: str, data: bytes | memoryview) -> None:
        """Write one immutable key. Raises TransferError."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client(signed=True)
        # The server refuses a body spoiled on the way by its CRC32: a quarter of a sha256's
        # CPU, and the bytes are checked against their sha256 on every read anyway.
        crc, body = b64(zlib.crc32(data).to_bytes(4, "big")), BufferBody(data)
        try:
            with self._slots:
                client.put_object(Bucket=bucket, Key=key, Body=body, ContentLength=len(body), ChecksumCRC32=crc)
        except (ClientError, BotoCoreError) as e:
            refused = isinstance(e, ClientError) and self._refused(e)
            why = refusal(e, self._credentials) if refused else describe_error(e)
            raise TransferError(f"could not upload s3://{bucket}/{key}: {why}") from None

    def get_bytes(self, bucket: str, key: str, offset: int = 0, length: int | None = None) -> bytes | None:
        """A key's bytes (`length` of them from `offset`, or all); None if it is missing.
        Raises TransferError for any other failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._read_client()
        extra = {} if length is None else {"Range": f"bytes={offset}-{offset + length - 1}"}
        for attempt in range(STREAM_ATTEMPTS):
            try:
                with self._slots:
                    body = client.get_object(Bucket=bucket, Key=key, **extra)["Body"]
                    with body:
                        data: bytes = body.read()
                break
            except ClientError as e:
                if error_code(e) == "NoSuchKey" or (http_status(e) == 404 and error_code(e) != "NoSuchBucket"):
                    return None
                if self._refused(e):
                    raise self._denied(bucket, key, e) from None
                raise TransferError(f"could not download s3://{bucket}/{key}: {describe_error(e)}") from None
            except BotoCoreError as e:
                if attempt + 1 == STREAM_ATTEMPTS or not is_stream_error(e):
                    raise TransferError(f"could not download s3://{bucket}/{key}: {describe_error(e)}") from None
        if length is not None and len(data) != length:
            raise TransferError(f"s3://{bucket}/{key} is shorter than its index says; it was not used")
        return data

    def list_keys(self, bucket: str, prefix: str) -> list[str] | None:
        """Every key under `prefix`; None when listing is not allowed. Raises TransferError."""
        client = self._read_client()
        try:
            return [obj["Key"] for page in pages(client, bucket, prefix, self._slots)
                    for obj in page.get("Contents", ())]
        except ListingDenied:
            return None

    # -- buckets and deletion --------------------------------------------------------------

    def create_bucket(self, bucket: str, public_read: bool) -> tuple[bool, str | None]:
        """Create `bucket` (False: it was already ours); see s3client.create_bucket."""
        return create_bucket(self._client(signed=True), bucket, self.settings.region, public_read)

    def delete(self, bucket: str, oids: Iterable[Sha256]) -> dict[Sha256, str]:
        """Delete the objects (an absent one counts as deleted); returns why each failure failed."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self._client(signed=True)
        keys = {self.key(oid): Sha256(oid) for oid in oids}
        order = sorted(keys)
        failed: dict[Sha256, str] = {}
        for start in range(0, len(order), DELETE_BATCH):
            batch = order[start:start + DELETE_BATCH]
            try:
                with self._slots:
                    response = client.delete_objects(Bucket=bucket, Delete={
                        "Objects": [{"Key": k} for k in batch], "Quiet": True})
            except ClientError as e:
                if http_status(e) in (400, 501) and error_code(e) in ("NotImplemented", "MalformedXML",
                                                                      "InvalidRequest"):
                    failed.update(self._delete_one_by_one(client, bucket, {k: keys[k] for k in batch}))
                    continue
                why = refusal(e, self._credentials) if self._refused(e) else describe_error(e)
                failed.update({keys[k]: f"could not delete s3://{bucket}/{k}: {why}" for k in batch})
                continue
            except BotoCoreError as e:
                failed.update({keys[k]: f"could not delete s3://{bucket}/{k}: {describe_error(e)}" for k in batch})
                continue
            for error in response.get("Errors", ()):
                key = str(error.get("Key", ""))
                name = key.rsplit("/", 1)[-1]
                if key in keys and is_sha256(name):
                    failed[keys[key]] = (f"could not delete s3://{bucket}/{key}: "
                                         f"{error.get('Code', '')} {error.get('Message', '')}".rstrip())
        return failed

    def _delete_one_by_one(self, client: Any, bucket: str, keys: dict[str, Sha256]) -> dict[Sha256, str]:
        """For a server without DeleteObjects (multi-delete)."""
        from botocore.exceptions import BotoCoreError, ClientError

        failed: dict[Sha256, str] = {}
        for key, oid in keys.items():
            try:
                with self._slots:
                    client.delete_object(Bucket=bucket, Key=key)
            except (ClientError, BotoCoreError) as e:
                failed[oid] = f"could not delete s3://{bucket}/{key}: {describe_error(e)}"
        return failed

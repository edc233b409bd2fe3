"""S3 for importing EOSVC's objects: list a location, stream an object into the local store
while hashing it, and copy it server-side to its content-addressed key.

EOSVC's objects are addressed by path, so their sha256 is unknown until they are read.
Each one is read once (GetObject with If-Match on the listed ETag, hashed as it streams,
checked against the listed size and, where the ETag is a plain MD5, against it), adopted
into the local store, and then copied inside S3 (CopyObject, or UploadPartCopy past 5 GiB)
with CopySourceIfMatch, so the bytes copied are the bytes hashed and are not uploaded a
second time. Where the server cannot copy, the caller uploads from the local store.
Nothing here writes or deletes an EOSVC key.
"""

from __future__ import annotations

import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

from .config import Settings
from .eosvc_layout import Listed, Location
from .errors import TransferError
from .hashing import CHUNK, Sha256
from .s3client import describe_error, error_code, http_status, is_stream_error, make_client
from .transfer import Failed, gather

if TYPE_CHECKING:
    from .cache import Store
    from .credentials import Credentials

COPY_LIMIT = 5 << 30  # S3's largest CopyObject; larger objects are copied part by part
COPY_PART = 512 << 20  # UploadPartCopy part size (S3: 5 MiB to 5 GiB, at most 10,000 parts)
_COPY_PART_JOBS = 4
STREAM_ATTEMPTS = 3  # botocore retries requests, not a body that breaks mid-stream
_MD5_ETAG = re.compile(r'"?([0-9a-f]{32})"?')


class ListingDenied(Exception):
    """The server refused to list a location (anonymous callers often may not)."""


class CopyRefused(Exception):
    """The server did not copy (it cannot, or may not): upload from the local store instead."""


def plain_md5(etag: str) -> str | None:
    """The MD5 an ETag may stand for: a plain one (not multipart). Only for objects that are
    not encrypted with KMS or a customer key (their ETag is no MD5): see `_md5_etag`."""
    m = _MD5_ETAG.fullmatch(etag.strip())
    return m.group(1) if m else None


def _md5_etag(response: dict[str, Any]) -> bool:
    """Whether this response's ETag is the MD5 of the bytes (S3: unless SSE-KMS or SSE-C)."""
    return not (str(response.get("ServerSideEncryption", "")).startswith("aws:kms")
                or response.get("SSECustomerAlgorithm"))


class EosvcS3:
    """Reads and copies EOSVC objects. One botocore client (signed when credentials are
    given, else anonymous) shared by every thread; close() releases it."""

    def __init__(self, settings: Settings, credentials: Credentials | None) -> None:
        self.settings = settings
        self.credentials = credentials
        self.copy_limit = COPY_LIMIT  # read here, so a test can make "large" small
        self.copy_part = COPY_PART
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = make_client(self.settings, self.credentials, max(1, self.settings.jobs))
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> "EosvcS3":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- listing ---------------------------------------------------------------------------

    def list(self, location: Location, limit: int | None = None) -> list[Listed] | None:
        """The objects under `location` (None: its bucket does not exist). At most about
        `limit` objects when given (the hints need one). ListingDenied when refused."""
        from botocore.exceptions import BotoCoreError, ClientError

        out: list[Listed] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": location.bucket, "Prefix": location.prefix}
            if token:
                kwargs["ContinuationToken"] = token
            if limit is not None:
                kwargs["MaxKeys"] = limit
            try:
                page = self.client().list_objects_v2(**kwargs)
            except ClientError as e:
                if error_code(e) == "NoSuchBucket":
                    return None
                if http_status(e) in (401, 403) or error_code(e) == "AccessDenied":
                    raise ListingDenied(describe_error(e)) from None
                raise TransferError(f"could not list {location.url}: {describe_error(e)}") from None
            except BotoCoreError as e:
                raise TransferError(f"could not list {location.url}: {describe_error(e)}") from None
            for obj in page.get("Contents", ()):
                out.append(Listed(obj["Key"], int(obj.get("Size", 0)), str(obj.get("ETag", ""))))
            token = page.get("NextContinuationToken")
            if limit is not None or not page.get("IsTruncated") or not token:
                return out

    # -- reading ---------------------------------------------------------------------------

    def fetch(self, bucket: str, obj: Listed, store: Store,
              progress: Callable[[int], None]) -> tuple[Sha256, str | None]:
        """Stream one object into `store`, hashing it on the way; (sha256, its MD5 hex where
        the ETag is one, else None). Raises Failed with a message for the user."""
        from botocore.exceptions import BotoCoreError, ClientError

        url = f"s3://{bucket}/{obj.key}"
        tmp = store.tmp_path()
        reported = 0
        try:
            for attempt in range(STREAM_ATTEMPTS):
                sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
                written = 0
                try:
                    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": obj.key}
                    if obj.etag:
                        kwargs["IfMatch"] = obj.etag  # the object listed, not a newer one
                    response = self.client().get_object(**kwargs)
                    comparable = _md5_etag(response)
                    body = response["Body"]
                    with body, open(tmp, "wb") as out:
                        for chunk in body.iter_chunks(CHUNK):
                            written += len(chunk)
                            if written > obj.size:
                                raise Failed(f"{url} is larger than listed ({obj.size} bytes): it changed "
                                             "during the import; run it again")
                            out.write(chunk)
                            sha.update(chunk)
                            md5.update(chunk)
                            if written > reported:
                                progress(written - reported)
                                reported = written
                    break
                except BotoCoreError as e:
                    if attempt + 1 == STREAM_ATTEMPTS or not is_stream_error(e):
                        raise
            if written != obj.size:
                raise Failed(f"{url} is {written} bytes, {obj.size} listed: it changed during the import; "
                             "run it again")
            listed_md5 = plain_md5(obj.etag) if comparable else None
            if listed_md5 is not None and listed_md5 != md5.hexdigest():
                raise Failed(f"{url} does not match its ETag (changed during the import, or damaged in "
                             "transit); nothing was stored; run the import again")
            oid = Sha256(sha.hexdigest())
            store.adopt(tmp, oid, actual=oid, durable=False)  # S3 still has it at its EOSVC key
            return oid, md5.hexdigest() if comparable else None
        except ClientError as e:
            raise Failed(_read_failure(url, e)) from None
        except BotoCoreError as e:
            raise Failed(f"could not read {url}: {describe_error(e)}") from None
        except OSError as e:
            raise Failed(f"could not store {url} in the local store: {e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)

    # -- copying ---------------------------------------------------------------------------

    def copy(self, bucket: str, obj: Listed, md5: str | None, dest_bucket: str, dest_key: str) -> None:
        """Copy one object inside S3 to `dest_key`, only if it is still the one listed.
        Failed: it changed or vanished since; CopyRefused: the server did not copy."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client()
        source = {"Bucket": bucket, "Key": obj.key}
        guard = {"CopySourceIfMatch": obj.etag} if obj.etag else {}
        url = f"s3://{bucket}/{obj.key}"
        try:
            if obj.size < self.copy_limit:
                response = client.copy_object(Bucket=dest_bucket, Key=dest_key, CopySource=source, **guard)
                etag = plain_md5(str(response.get("CopyObjectResult", {}).get("ETag", "")))
                if md5 is not None and etag is not None and _md5_etag(response) and etag != md5:
                    # a server that ignored the guard copied other bytes: upload ours over them
                    raise CopyRefused(f"the copy of {url} is not the bytes that were hashed")
            else:
                self._copy_parts(client, source, guard, obj.size, dest_bucket, dest_key)
        except ClientError as e:
            status, code = http_status(e), error_code(e)
            if status == 412 or code == "PreconditionFailed":
                raise Failed(f"{url} changed during the import; run it again") from None
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                raise Failed(f"{url} disappeared during the import") from None
            raise CopyRefused(describe_error(e)) from None
        except BotoCoreError as e:
            raise CopyRefused(describe_error(e)) from None

    def _copy_parts(self, client: Any, source: dict[str, str], guard: dict[str, str], size: int,
                    dest_bucket: str, dest_key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        part = max(self.copy_part, -(-size // 10_000))
        upload_id = client.create_multipart_upload(Bucket=dest_bucket, Key=dest_key)["UploadId"]

        def one(number: int, offset: int) -> dict[str, Any]:
            end = min(offset + part, size) - 1
            response = client.upload_part_copy(
                Bucket=dest_bucket, Key=dest_key, UploadId=upload_id, PartNumber=number,
                CopySource=source, CopySourceRange=f"bytes={offset}-{end}", **guard)
            etag = response.get("CopyPartResult", {}).get("ETag")
            if not etag:  # (rclone 1.75) a part copied, or not, with no ETag to complete it by
                raise CopyRefused("the server copied a part without saying its ETag")
            return {"PartNumber": number, "ETag": etag}

        try:
            with ThreadPoolExecutor(_COPY_PART_JOBS, thread_name_prefix="eosvc-copy") as pool:
                parts = gather([pool.submit(one, n, off)
                                for n, off in enumerate(range(0, size, part), start=1)])
            client.complete_multipart_upload(Bucket=dest_bucket, Key=dest_key, UploadId=upload_id,
                                             MultipartUpload={"Parts": parts})
        except BaseException:
            try:  # best effort: a bucket lifecycle rule reaps whatever is left
                client.abort_multipart_upload(Bucket=dest_bucket, Key=dest_key, UploadId=upload_id)
            except (ClientError, BotoCoreError):
                pass
            raise


def _read_failure(url: str, e: Exception) -> str:
    status, code = http_status(e), error_code(e)
    if status == 412 or code == "PreconditionFailed":
        return f"{url} changed during the import; run it again"
    if code == "NoSuchKey" or status == 404:
        return f"{url} disappeared during the import"
    if status in (401, 403):
        return f"no permission to read {url}: {describe_error(e)}"
    return f"could not read {url}: {describe_error(e)}"

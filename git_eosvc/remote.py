"""S3 for content-addressed objects: parallel has/put/get with bounded retries.

Objects live at `s3://<bucket>/<repo>/objects/sha256/ab/cd/<hash>` (DESIGN.md §2) and are
immutable, so uploading a key twice is harmless and concurrent pushes are safe.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import (TYPE_CHECKING, Any, Callable, Iterable, Iterator,
                    Sequence, TypeVar)

from .config import Settings
from .credentials import ANONYMOUS
from .errors import CredentialsError, IntegrityError, TransferError
from .hashing import CHUNK, Sha256
from .progress import Progress
from .transfer import Download, Failed, TransferReport, Upload, gather, report_of, run_item, unique
from .s3list import list_present
from .s3client import (CREDENTIAL_HINT, Credentials, b64, error_code, describe_error, hash_range, is_stream_error,
                       object_size, FileSlice, http_status, make_client, create_bucket, refusal)

if TYPE_CHECKING:
    from .cache import Store

MiB = 1 << 20
PART_SIZE = 64 * MiB  # multipart part and ranged-GET chunk; moto is slow with small ranges
MULTIPART_THRESHOLD = 64 * MiB  # objects at least this large go multipart / ranged
HEAD_MAX = 64  # up to this many oids, missing() always asks one HEAD per oid
MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
STREAM_ATTEMPTS = 3  # botocore retries requests, not a body that breaks mid-stream

T = TypeVar("T")
R = TypeVar("R")


class Remote:
    """The S3 side of one repo: which objects exist, and parallel uploads and downloads.

    One botocore client per kind (signed, unsigned), created on first use and shared by all
    threads (botocore clients are thread-safe). Every request holds one slot of a semaphore
    of `settings.jobs`, so whole files, multipart parts and ranged chunks together keep
    about `jobs` requests in flight.
    """

    def __init__(self, settings: Settings, credentials: Credentials | None,
                 progress: Progress | None = None, *, part_size: int = PART_SIZE,
                 multipart_threshold: int = MULTIPART_THRESHOLD, head_max: int = HEAD_MAX) -> None:
        if part_size < 1 or multipart_threshold < 1:
            raise ValueError("part_size and multipart_threshold must be positive")
        self.settings = settings
        self._credentials = credentials
        self._progress = progress
        self._part_size = part_size
        self._threshold = multipart_threshold
        self._head_max = head_max
        self._jobs = max(1, settings.jobs)
        self._slots = threading.BoundedSemaphore(self._jobs)
        self._clients: dict[bool, Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def has_credentials(self) -> bool:
        return self._credentials is not None

    def key(self, oid: Sha256) -> str:
        """The object's S3 key: <repo>/objects/sha256/ab/cd/<hash>."""
        return f"{self.settings.repo}/objects/{Sha256(oid).shard()}"

    def url(self, bucket: str, oid: Sha256) -> str:
        return f"s3://{bucket}/{self.key(oid)}"

    def create_bucket(self, bucket: str, public_read: bool) -> tuple[bool, str | None]:
        """Create `bucket` (False: it was already ours); see s3client.create_bucket."""
        return create_bucket(self._client(signed=True), bucket, self.settings.region, public_read)

    def close(self) -> None:
        """Release the clients' connection pools."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def __enter__(self) -> "Remote":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- existence -------------------------------------------------------------------------

    def missing(self, bucket: str, oids: Iterable[Sha256]) -> set[Sha256]:
        """The subset of `oids` not in `bucket`. Raises TransferError if S3 cannot tell."""
        wanted = {Sha256(oid) for oid in oids}
        if not wanted:
            return set()
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

    def _refused(self, e: Exception) -> bool:
        """The server refused the caller: 403; or, without credentials, the 400/401 that
        servers such as rclone's `serve s3` answer to an unsigned request."""
        status = http_status(e)
        return status == 403 or (self._credentials is None and status in (400, 401))

    def _denied(self, bucket: str, key: str, e: Exception) -> TransferError:
        why = refusal(e, self._credentials)  # which credentials, if any (never a secret)
        if self._credentials is None:
            return TransferError(f"no permission to read s3://{bucket}/{key} without credentials (or it is "
                                 f"missing and the bucket does not allow listing): {why}",
                                 hint=CREDENTIAL_HINT + " if the bucket is private")
        return TransferError(f"access denied to s3://{bucket}/{key}: {why}",
                             hint=f"check that these credentials may read bucket {bucket} "
                                  "(`git eosvc doctor` shows where they come from)")

    def upload(self, items: Sequence[Upload]) -> TransferReport:
        """Upload every item in parallel; failures are collected per oid, never raised."""
        if self._credentials is None:
            raise CredentialsError(f"uploading to S3 needs credentials; {ANONYMOUS}", hint=CREDENTIAL_HINT)
        todo = unique(items, lambda item: (item.bucket, item.oid))
        report = TransferReport()
        if not todo:
            return report
        client = self._client(signed=True)
        with self._progress_for(sum(item.size for item in todo), "upload", len(todo)) as progress, \
                ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-part") as parts:
            outcomes = self._parallel(
                lambda item: run_item(lambda: progress.finished(
                    self._upload_one(client, item, parts, progress), self.url(item.bucket, item.oid))), todo)
        return report_of(report, todo, outcomes)

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

    # -- download --------------------------------------------------------------------------

    def download(self, items: Sequence[Download], store: Store) -> TransferReport:
        """Fetch every item not yet in `store`, verified by sha256; failures are collected."""
        report = TransferReport()
        todo: list[Download] = []
        for item in unique(items, lambda item: item.oid):
            if store.has(item.oid):
                report.done.add(item.oid)
            else:
                todo.append(item)
        if not todo:
            return report
        client = self._read_client()
        with self._progress_for(sum(item.size for item in todo), "download", len(todo)) as progress, \
                ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-range") as chunks:
            outcomes = self._parallel(
                lambda item: run_item(lambda: progress.finished(
                    self._download_one(client, item, store, chunks, progress), self.url(item.bucket, item.oid))), todo)
        return report_of(report, todo, outcomes)

    def _download_one(self, client: Any, item: Download, store: Store,
                      chunks: ThreadPoolExecutor, progress: Progress) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(item.oid)
        url = f"s3://{item.bucket}/{key}"
        corrupt = f"object {item.oid} in {url} is corrupt (sha256 mismatch); it was not used"
        tmp = store.tmp_path()
        try:
            if item.size >= self._threshold:
                self._get_ranged(client, item, key, tmp, chunks, progress, corrupt)
                actual = None  # chunks land out of order: the store hashes the whole file
            else:
                actual = self._get_whole(client, item, key, tmp, progress, corrupt)
            try:
                store.adopt(tmp, item.oid, actual=actual, durable=False)  # S3 has it
            except IntegrityError:
                raise Failed(corrupt) from None
        except ClientError as e:
            raise Failed(self._read_failure(item.bucket, key, e, corrupt)) from None
        except BotoCoreError as e:
            raise Failed(f"could not download {url}: {describe_error(e)}") from None
        except OSError as e:
            raise Failed(f"could not download {url} into the local store: "
                          f"{e.strerror or e}") from None
        finally:
            tmp.unlink(missing_ok=True)  # gone after adopt; on failure nothing partial stays
        return item.size

    def _get_whole(self, client: Any, item: Download, key: str, tmp: Path,
                   progress: Progress, corrupt: str) -> Sha256:
        """One streamed GET into `tmp`, hashing on the way; returns the digest."""
        from botocore.exceptions import BotoCoreError

        reported = 0
        for attempt in range(STREAM_ATTEMPTS):
            digest = hashlib.sha256()
            written = 0
            try:
                with self._slots:
                    body = client.get_object(Bucket=item.bucket, Key=key)["Body"]
                    with body, open(tmp, "wb") as out:
                        for chunk in body.iter_chunks(CHUNK):
                            written += len(chunk)
                            if written > item.size:  # never let a bad object fill the disk
                                raise Failed(corrupt)
                            out.write(chunk)
                            digest.update(chunk)
                            if written > reported:
                                progress.update(written - reported)
                                reported = written
                return Sha256(digest.hexdigest())
            except BotoCoreError as e:
                if attempt + 1 == STREAM_ATTEMPTS or not is_stream_error(e):
                    raise
        raise AssertionError("unreachable")

    def _get_ranged(self, client: Any, item: Download, key: str, tmp: Path,
                    chunks: ThreadPoolExecutor, progress: Progress, corrupt: str) -> None:
        """Parallel ranged GETs into a preallocated `tmp`, each at its own offset."""
        with open(tmp, "xb") as f:
            f.truncate(item.size)  # preallocate (sparse) so chunks can land in any order
        step = self._part_size
        gather([chunks.submit(self._get_range, client, item, key, tmp, offset,
                               min(step, item.size - offset), progress, corrupt)
                 for offset in range(0, item.size, step)])

    def _get_range(self, client: Any, item: Download, key: str, tmp: Path, offset: int,
                   length: int, progress: Progress, corrupt: str) -> None:
        from botocore.exceptions import BotoCoreError

        reported = 0
        for attempt in range(STREAM_ATTEMPTS):
            written = 0
            try:
                # Own handle per chunk: positional writes without sharing a file offset.
                with self._slots, open(tmp, "r+b") as out:
                    response = client.get_object(Bucket=item.bucket, Key=key,
                                                 Range=f"bytes={offset}-{offset + length - 1}")
                    body = response["Body"]
                    with body:  # (StreamingBody.__enter__ returns the raw stream: not `as`)
                        if object_size(response, offset) != item.size:
                            raise Failed(corrupt)  # a different size cannot hash right
                        out.seek(offset)
                        for chunk in body.iter_chunks(CHUNK):
                            written += len(chunk)
                            if written > length:
                                raise Failed(corrupt)
                            out.write(chunk)
                            if written > reported:
                                progress.update(written - reported)
                                reported = written
                if written != length:
                    raise Failed(corrupt)
                return
            except BotoCoreError as e:
                if attempt + 1 == STREAM_ATTEMPTS or not is_stream_error(e):
                    raise

    def _read_failure(self, bucket: str, key: str, e: Exception, corrupt: str) -> str:
        status, code = http_status(e), error_code(e)
        if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
            return f"missing on S3 (s3://{bucket}/{key})"
        if code == "NoSuchBucket":
            return f"bucket {bucket} does not exist (s3://{bucket}/{key})"
        if code == "InvalidRange":
            return corrupt  # the object is shorter than the manifest says
        if self._refused(e):
            return str(self._denied(bucket, key, e)).replace("\n", "; ")
        return f"could not download s3://{bucket}/{key}: {describe_error(e)}"

    # -- plumbing --------------------------------------------------------------------------

    def _read_client(self) -> Any:
        # Sign reads when we can (private buckets need it); otherwise read anonymously.
        return self._client(signed=self._credentials is not None)

    def _client(self, signed: bool) -> Any:
        with self._clients_lock:
            client = self._clients.get(signed)
            if client is None:
                if signed and self._credentials is None:
                    raise CredentialsError(f"this needs S3 credentials; {ANONYMOUS}", hint=CREDENTIAL_HINT)
                client = make_client(self.settings, self._credentials if signed else None,
                                     self._jobs)
                self._clients[signed] = client
            return client

    def _parallel(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """fn over items on `jobs` threads, results in order; the first exception cancels the rest."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(min(self._jobs, len(items)), thread_name_prefix="eosvc-s3") as pool:
            return gather([pool.submit(fn, item) for item in items])

    @contextmanager
    def _progress_for(self, total: int, desc: str, items: int) -> Iterator[Progress]:
        if self._progress is not None:  # the caller's bar: grow it, leave closing to them
            self._progress.add_total(total, items)
            yield self._progress
            return
        with Progress(total, desc, items=items) as progress:
            yield progress



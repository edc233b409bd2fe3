"""The S3 backend's foundation: its botocore clients (one signed, one unsigned, made on
first use), its refusals, and parallel verified downloads (whole GETs, or ranged GETs for
large objects). s3backend.S3Backend adds existence, uploads, buckets, listing, deletion.

Objects live at `s3://<bucket>/<repo>/objects/sha256/ab/cd/<hash>` (DESIGN.md §2).
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from .config import Settings
from .credentials import ANONYMOUS
from .errors import CredentialsError, IntegrityError, TransferError
from .hashing import CHUNK, Sha256
from .progress import Progress
from .s3client import (CREDENTIAL_HINT, Credentials, describe_error, error_code, http_status, is_stream_error,
                       make_client, object_size, refusal)
from .transfer import Download, Failed, Outcome, gather, object_key, parallel, run_item

if TYPE_CHECKING:
    from .cache import Store

MiB = 1 << 20
PART_SIZE = 64 * MiB  # multipart part and ranged-GET chunk; moto is slow with small ranges
MULTIPART_THRESHOLD = 64 * MiB  # objects at least this large go multipart / ranged
HEAD_MAX = 64  # up to this many oids, missing() always asks one HEAD per oid
STREAM_ATTEMPTS = 3  # botocore retries requests, not a body that breaks mid-stream

T = TypeVar("T")
R = TypeVar("R")


class S3Base:
    """Clients, refusals and downloads of the S3 backend.

    One botocore client per kind (signed, unsigned), created on first use and shared by all
    threads (botocore clients are thread-safe). Every request holds one slot of a semaphore
    of `settings.jobs`, so whole files, multipart parts and ranged chunks together keep
    about `jobs` requests in flight.
    """

    needs_credentials = True  # S3 writes, and reads of the private bucket, need them

    def __init__(self, settings: Settings, credentials: Credentials | None, *, part_size: int = PART_SIZE,
                 multipart_threshold: int = MULTIPART_THRESHOLD, head_max: int = HEAD_MAX) -> None:
        if part_size < 1 or multipart_threshold < 1:
            raise ValueError("part_size and multipart_threshold must be positive")
        self.settings = settings
        self._credentials = credentials
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
        return object_key(self.settings.repo, oid)

    def location(self, bucket: str, oid: Sha256) -> str:
        return f"s3://{bucket}/{self.key(oid)}"

    def close(self) -> None:
        """Release the clients' connection pools."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    # -- refusals --------------------------------------------------------------------------

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

    # -- download --------------------------------------------------------------------------

    def download(self, todo: Sequence[Download], store: Store, progress: Progress) -> list[Outcome]:
        """Fetch every item into `store`, verified by sha256; one outcome per item."""
        client = self._read_client()
        with ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-range") as chunks:
            return self._parallel(
                lambda item: run_item(lambda: progress.finished(
                    self._download_one(client, item, store, chunks, progress),
                    self.location(item.bucket, item.oid))), todo)

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
        return parallel(fn, items, self._jobs, "eosvc-s3")

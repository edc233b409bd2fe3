"""S3 for content-addressed objects: credentials, clients, and parallel has/put/get.

Objects live at `s3://<bucket>/<repo>/objects/sha256/ab/cd/<hash>` (DESIGN.md §2) and are
immutable, so uploading a key twice is harmless and concurrent pushes are safe.

Credentials come from the environment only (DESIGN.md §1). boto3's default chain (shared
files, AWS_PROFILE, SSO, instance metadata) must never run, so clients are built from a
botocore session whose profile, config/credential files, credential chain, token chain and
~/.aws/models search path are all pinned or emptied. botocore is imported lazily: git hooks
import this package on every commit and checkout and must stay fast.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (TYPE_CHECKING, Any, BinaryIO, Callable, Hashable, Iterable, Iterator,
                    Mapping, Sequence, TypeVar)

from . import __version__
from .config import Settings
from .errors import CredentialsError, IntegrityError, TransferError
from .hashing import CHUNK, Sha256, is_sha256
from .progress import Progress

if TYPE_CHECKING:
    from .cache import Store

MiB = 1 << 20
PART_SIZE = 64 * MiB  # multipart part and ranged-GET chunk; moto is slow with small ranges
MULTIPART_THRESHOLD = 64 * MiB  # objects at least this large go multipart / ranged
HEAD_MAX = 64  # up to this many oids, missing() always asks one HEAD per oid
MAX_PARTS = 10_000  # S3's limit on parts per multipart upload
RETRIES = {"mode": "standard", "max_attempts": 5}  # bounded, with backoff on throttling and 5xx
STREAM_ATTEMPTS = 3  # botocore retries requests, not a body that breaks mid-stream
_LIST_PAGE = 1000  # keys per ListObjectsV2 page
_LIST_FANOUT = "0123456789abcdef"  # a full listing runs one paginated prefix per hex digit
_CREDENTIAL_HINT = ("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    "(and AWS_SESSION_TOKEN for temporary credentials)")

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, repr=False)
class Credentials:
    """Explicit S3 keys. repr/str never show the secret or the session token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        token = ", session_token=<hidden>" if self.session_token else ""
        return f"Credentials(access_key_id=<hidden>, secret_access_key=<hidden>{token})"

    __str__ = __repr__


def credentials_from_env(env: Mapping[str, str] = os.environ) -> Credentials | None:
    """Read AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and nothing else.

    None when neither key is set (anonymous reads); half a pair is a CredentialsError,
    because silently falling back to anonymous would hide the user's mistake.
    """
    key_id = (env.get("AWS_ACCESS_KEY_ID") or "").strip()
    secret = (env.get("AWS_SECRET_ACCESS_KEY") or "").strip()
    token = (env.get("AWS_SESSION_TOKEN") or "").strip() or None
    if not key_id and not secret:
        return None  # a stray session token alone cannot sign anything: stay anonymous
    if not secret:
        raise CredentialsError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
                               hint=_CREDENTIAL_HINT + ", or unset both for anonymous reads")
    if not key_id:
        raise CredentialsError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
                               hint=_CREDENTIAL_HINT + ", or unset both for anonymous reads")
    return Credentials(key_id, secret, token)


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


class _Failed(Exception):
    """One item failed; the message is for the user and goes into TransferReport.failed."""


class _ListingDenied(Exception):
    """Listing is not allowed (anonymous readers need only s3:GetObject): use HEAD instead."""


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
            present = self._list_present(client, bucket, wanted)
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
            if _status(e) == 404:
                return False
            if _status(e) != 403:
                raise TransferError(f"could not check s3://{bucket}/{key}: {_describe(e)}") from None
        except BotoCoreError as e:
            raise TransferError(f"could not check s3://{bucket}/{key}: {_describe(e)}") from None
        # 403 on HEAD: some servers (moto for anonymous callers, for one) police HEAD apart
        # from GET; a 1-byte ranged GET asks with the permission readers really have.
        try:
            with self._slots:
                client.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")["Body"].read()
            return True
        except ClientError as e:
            if _code(e) == "InvalidRange":
                return True  # an empty object exists; it just has no byte 0
            if _status(e) == 404 or _code(e) == "NoSuchKey":
                return False
            if _status(e) == 403:
                raise self._denied(bucket, key) from None
            raise TransferError(f"could not check s3://{bucket}/{key}: {_describe(e)}") from None
        except BotoCoreError as e:
            raise TransferError(f"could not check s3://{bucket}/{key}: {_describe(e)}") from None

    def _denied(self, bucket: str, key: str) -> TransferError:
        if self._credentials is None:
            return TransferError(
                f"no permission to read s3://{bucket}/{key} without credentials "
                "(or it is missing and the bucket does not allow listing)",
                hint=_CREDENTIAL_HINT + " if the bucket is private")
        return TransferError(f"access denied to s3://{bucket}/{key} with the credentials "
                             "in AWS_ACCESS_KEY_ID",
                             hint=f"check that these credentials may read bucket {bucket}")

    def _list_present(self, client: Any, bucket: str, wanted: set[Sha256]) -> set[Sha256] | None:
        """Which of `wanted` exist, by listing; None when one HEAD per oid is cheaper or
        listing is denied."""
        base = f"{self.settings.repo}/objects/sha256/"
        # Requests a full listing may cost and still beat one HEAD per oid.
        budget = len(wanted) - len(_LIST_FANOUT)
        if budget <= 0:
            return None
        try:
            # Estimate the remote's size from one of the 256 two-digit shards; stop as soon
            # as the estimate exceeds the budget, so the probe itself stays cheap.
            count = 0
            for page in self._pages(client, bucket, f"{base}{min(wanted)[:2]}/"):
                count += len(page.get("Contents", ()))
                if count * 256 / _LIST_PAGE >= budget:
                    return None
            prefixes = sorted({oid[0] for oid in wanted})
            found = self._parallel(lambda p: self._list_prefix(client, bucket, base + p), prefixes)
        except _ListingDenied:
            return None
        return set().union(*found)

    def _list_prefix(self, client: Any, bucket: str, prefix: str) -> set[Sha256]:
        present: set[Sha256] = set()
        for page in self._pages(client, bucket, prefix):
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                name = key.rsplit("/", 1)[-1]
                # Only keys at exactly the right place count; strays under the prefix do not.
                if is_sha256(name) and key == self.key(Sha256(name)):
                    present.add(Sha256(name))
        return present

    def _pages(self, client: Any, bucket: str, prefix: str) -> Iterator[dict[str, Any]]:
        """ListObjectsV2 pages, one request slot per page (not held while the caller works)."""
        from botocore.exceptions import BotoCoreError, ClientError

        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            try:
                with self._slots:
                    page = client.list_objects_v2(**kwargs)
            except ClientError as e:
                if _status(e) in (403, 501) or _code(e) in ("AccessDenied", "NotImplemented"):
                    raise _ListingDenied() from None
                raise TransferError(f"could not list s3://{bucket}/{prefix}: {_describe(e)}") from None
            except BotoCoreError as e:
                raise TransferError(f"could not list s3://{bucket}/{prefix}: {_describe(e)}") from None
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    # -- upload ----------------------------------------------------------------------------

    def upload(self, items: Sequence[Upload]) -> TransferReport:
        """Upload every item in parallel; failures are collected per oid, never raised."""
        if self._credentials is None:
            raise CredentialsError("uploading to S3 needs credentials, and AWS_ACCESS_KEY_ID "
                                   "and AWS_SECRET_ACCESS_KEY are not set", hint=_CREDENTIAL_HINT)
        todo = _unique(items, lambda item: (item.bucket, item.oid))
        report = TransferReport()
        if not todo:
            return report
        client = self._client(signed=True)
        with self._progress_for(sum(item.size for item in todo), "upload") as progress, \
                ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-part") as parts:
            outcomes = self._parallel(
                lambda item: _attempt(lambda: self._upload_one(client, item, parts, progress)), todo)
        return _report(report, todo, outcomes)

    def _upload_one(self, client: Any, item: Upload, parts: ThreadPoolExecutor,
                    progress: Progress) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(item.oid)
        try:
            size = os.stat(item.source).st_size
        except FileNotFoundError:
            raise _Failed(f"{item.source} is gone since it was hashed; re-run `git eosvc add`") from None
        except OSError as e:
            raise _Failed(f"cannot read {item.source}: {e.strerror}") from None
        if size != item.size:
            raise _Failed(f"{item.source} changed since it was hashed ({size} bytes now, "
                          f"{item.size} recorded); re-run `git eosvc add`")
        try:
            if size < self._threshold:
                with open(item.source, "rb") as f, self._slots:
                    # The server checks the bytes against the sha256 we name them by.
                    client.put_object(Bucket=item.bucket, Key=key, Body=f, ContentLength=size,
                                      ChecksumSHA256=_b64(bytes.fromhex(item.oid)))
                progress.update(size)
            else:
                self._upload_multipart(client, item, key, size, parts, progress)
        except (ClientError, BotoCoreError) as e:
            raise _Failed(f"could not upload {item.source} to s3://{item.bucket}/{key}: "
                          f"{_describe(e)}") from None
        except OSError as e:
            raise _Failed(f"cannot read {item.source}: {e.strerror or e}") from None
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
            done = _gather(futures)
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
            checksum = _b64(_hash_range(f, offset, length))
            with self._slots:
                response = client.upload_part(
                    Bucket=item.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                    Body=_Slice(f, offset, length), ContentLength=length, ChecksumSHA256=checksum)
        progress.update(length)
        return {"PartNumber": number, "ETag": response["ETag"], "ChecksumSHA256": checksum}

    # -- download --------------------------------------------------------------------------

    def download(self, items: Sequence[Download], store: Store) -> TransferReport:
        """Fetch every item not yet in `store`, verified by sha256; failures are collected."""
        report = TransferReport()
        todo: list[Download] = []
        for item in _unique(items, lambda item: item.oid):
            if store.has(item.oid):
                report.done.add(item.oid)
            else:
                todo.append(item)
        if not todo:
            return report
        client = self._read_client()
        with self._progress_for(sum(item.size for item in todo), "download") as progress, \
                ThreadPoolExecutor(self._jobs, thread_name_prefix="eosvc-range") as chunks:
            outcomes = self._parallel(
                lambda item: _attempt(lambda: self._download_one(client, item, store, chunks,
                                                                 progress)), todo)
        return _report(report, todo, outcomes)

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
                raise _Failed(corrupt) from None
        except ClientError as e:
            raise _Failed(self._read_failure(item.bucket, key, e, corrupt)) from None
        except BotoCoreError as e:
            raise _Failed(f"could not download {url}: {_describe(e)}") from None
        except OSError as e:
            raise _Failed(f"could not download {url} into the local store: "
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
                                raise _Failed(corrupt)
                            out.write(chunk)
                            digest.update(chunk)
                            if written > reported:
                                progress.update(written - reported)
                                reported = written
                return Sha256(digest.hexdigest())
            except BotoCoreError as e:
                if attempt + 1 == STREAM_ATTEMPTS or not _is_stream_error(e):
                    raise
        raise AssertionError("unreachable")

    def _get_ranged(self, client: Any, item: Download, key: str, tmp: Path,
                    chunks: ThreadPoolExecutor, progress: Progress, corrupt: str) -> None:
        """Parallel ranged GETs into a preallocated `tmp`, each at its own offset."""
        with open(tmp, "xb") as f:
            f.truncate(item.size)  # preallocate (sparse) so chunks can land in any order
        step = self._part_size
        _gather([chunks.submit(self._get_range, client, item, key, tmp, offset,
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
                        if _object_size(response, offset) != item.size:
                            raise _Failed(corrupt)  # a different size cannot hash right
                        out.seek(offset)
                        for chunk in body.iter_chunks(CHUNK):
                            written += len(chunk)
                            if written > length:
                                raise _Failed(corrupt)
                            out.write(chunk)
                            if written > reported:
                                progress.update(written - reported)
                                reported = written
                if written != length:
                    raise _Failed(corrupt)
                return
            except BotoCoreError as e:
                if attempt + 1 == STREAM_ATTEMPTS or not _is_stream_error(e):
                    raise

    def _read_failure(self, bucket: str, key: str, e: Exception, corrupt: str) -> str:
        status, code = _status(e), _code(e)
        if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
            return f"missing on S3 (s3://{bucket}/{key})"
        if code == "NoSuchBucket":
            return f"bucket {bucket} does not exist (s3://{bucket}/{key})"
        if code == "InvalidRange":
            return corrupt  # the object is shorter than the manifest says
        if status == 403:
            return str(self._denied(bucket, key)).replace("\n", "; ")
        return f"could not download s3://{bucket}/{key}: {_describe(e)}"

    # -- plumbing --------------------------------------------------------------------------

    def _read_client(self) -> Any:
        # Sign reads when we can (private buckets need it); otherwise read anonymously.
        return self._client(signed=self._credentials is not None)

    def _client(self, signed: bool) -> Any:
        with self._clients_lock:
            client = self._clients.get(signed)
            if client is None:
                if signed and self._credentials is None:
                    raise CredentialsError("this needs S3 credentials, and AWS_ACCESS_KEY_ID and "
                                           "AWS_SECRET_ACCESS_KEY are not set", hint=_CREDENTIAL_HINT)
                client = make_client(self.settings, self._credentials if signed else None,
                                     self._jobs)
                self._clients[signed] = client
            return client

    def _parallel(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """fn over items on `jobs` threads, results in order; the first exception cancels the rest."""
        if len(items) <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(min(self._jobs, len(items)), thread_name_prefix="eosvc-s3") as pool:
            return _gather([pool.submit(fn, item) for item in items])

    @contextmanager
    def _progress_for(self, total: int, desc: str) -> Iterator[Progress]:
        if self._progress is not None:  # the caller's bar: grow it, leave closing to them
            self._progress.add_total(total)
            yield self._progress
            return
        with Progress(total, desc) as progress:
            yield progress


def make_client(settings: Settings, credentials: Credentials | None, jobs: int) -> Any:
    """A botocore S3 client that reads nothing but `settings` and `credentials`.

    Signed with `credentials`, or UNSIGNED when they are None. No profile, no shared config
    or credentials file, no credential or token chain (so no instance metadata, SSO or web
    identity), no ~/.aws/models: a bogus AWS_PROFILE or AWS_CONFIG_FILE is neither read nor
    an error.
    """
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.configprovider import ConstantProvider
    from botocore.credentials import CredentialResolver
    from botocore.loaders import Loader
    from botocore.tokens import TokenProviderChain

    session = botocore.session.Session()
    store = session.get_component("config_store")
    # Constant providers replace the instance -> env -> config-file lookup chains.
    store.set_config_provider("profile", ConstantProvider(None))
    store.set_config_provider("config_file", ConstantProvider(os.devnull))  # not a file: {}
    store.set_config_provider("credentials_file", ConstantProvider(os.devnull))
    session.register_component("credential_provider", CredentialResolver(providers=[]))
    session.register_component("token_provider", TokenProviderChain(providers=[]))
    session.register_component("data_loader", Loader(
        extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False))

    options: dict[str, Any] = {
        "retries": dict(RETRIES),
        "max_pool_connections": jobs + 4,  # `jobs` requests in flight, plus slack
        "connect_timeout": 10,
        "read_timeout": 60,
        "user_agent_extra": f"git-eosvc/{__version__}",
    }
    if settings.endpoint:
        # S3-compatible servers rarely serve virtual-hosted bucket names.
        options["s3"] = {"addressing_style": "path"}
    optional = {
        # S3-compatible servers choke on the CRC32 checksums newer botocore adds by default.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        # Settings already folded AWS_ENDPOINT_URL* in; botocore must not re-read them.
        "ignore_configured_endpoint_urls": True,
    }
    options.update({k: v for k, v in optional.items() if k in Config.OPTION_DEFAULTS})
    if credentials is None:
        options["signature_version"] = UNSIGNED
    keys: dict[str, Any] = {}
    if credentials is not None:
        keys = {"aws_access_key_id": credentials.access_key_id,
                "aws_secret_access_key": credentials.secret_access_key,
                "aws_session_token": credentials.session_token}
    return session.create_client("s3", region_name=settings.region,
                                 endpoint_url=settings.endpoint or None,
                                 config=Config(**options), **keys)


class _Slice:
    """A read-only window of an open file, seekable so botocore can rewind it to retry or
    to sign the payload, without holding a whole part in memory."""

    def __init__(self, f: BinaryIO, offset: int, length: int) -> None:
        self._f = f
        self._start = offset
        self._length = length
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining <= 0:
            return b""
        if n is None or n < 0 or n > remaining:
            n = remaining
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = min(max(base + pos, 0), self._length)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True


def _hash_range(f: BinaryIO, offset: int, length: int) -> bytes:
    digest = hashlib.sha256()
    f.seek(offset)
    while length > 0:
        data = f.read(min(CHUNK, length))
        if not data:
            raise OSError(f"{getattr(f, 'name', 'file')} shrank while uploading")
        digest.update(data)
        length -= len(data)
    return digest.digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _object_size(response: Mapping[str, Any], offset: int) -> int | None:
    """The whole object's size from a ranged GET (Content-Range: bytes a-b/TOTAL)."""
    content_range = response.get("ContentRange") or ""
    total = content_range.rsplit("/", 1)[-1]
    if total.isdigit():
        return int(total)
    # A server that ignores Range answers 200 with the whole object.
    return response.get("ContentLength") if offset == 0 else None


def _gather(futures: Sequence[Future[R]]) -> list[R]:
    """Results in order; on the first exception cancel what has not started and wait for
    what has (so the caller may clean up safely), then re-raise."""
    try:
        return [f.result() for f in futures]
    except BaseException:
        for f in futures:
            f.cancel()
        wait(futures)
        raise


def _attempt(fn: Callable[[], int]) -> tuple[int, str | None]:
    """Run one item: (bytes moved, None) or (0, failure message)."""
    try:
        return fn(), None
    except _Failed as e:
        return 0, str(e)


def _report(report: TransferReport, items: Sequence[Upload | Download],
            outcomes: Sequence[tuple[int, str | None]]) -> TransferReport:
    for item, (moved, error) in zip(items, outcomes):
        if error is None:
            report.done.add(item.oid)
            report.bytes_moved += moved
        else:
            report.failed[item.oid] = error
    report.done -= report.failed.keys()  # the same oid may go to two buckets; one failed
    return report


def _unique(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _status(e: Exception) -> int | None:
    response = getattr(e, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is None and str(response.get("Error", {}).get("Code", "")).isdigit():
        status = int(response["Error"]["Code"])  # HEAD has no body: the code is the status
    return int(status) if status is not None else None


def _code(e: Exception) -> str:
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _describe(e: Exception) -> str:
    """A one-line reason from a botocore error; never includes request headers or keys."""
    response = getattr(e, "response", None)
    if response:
        error = response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        status = _status(e)
        text = f"{code}: {message}" if message and message != code else str(code)
        return f"{text} (HTTP {status})" if status else text or type(e).__name__
    return str(e) or type(e).__name__


def _is_stream_error(e: Exception) -> bool:
    """Errors while reading a response body, which botocore does not retry by itself."""
    from botocore import exceptions as x

    kinds = tuple(getattr(x, name) for name in (
        "ResponseStreamingError", "IncompleteReadError", "ReadTimeoutError") if hasattr(x, name))
    return isinstance(e, kinds)

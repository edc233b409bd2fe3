"""The S3 client and its wire details: explicit credentials, a botocore client that reads
nothing but our settings, botocore errors as one-line reasons, and request bodies.

Credentials come from explicit sources only (credentials.py, DESIGN.md §1), found before a
client is built. boto3's default chain (shared files, AWS_PROFILE, SSO, instance metadata)
must never run, so clients are built from a botocore session whose profile, config/credential
files, credential chain, token chain and ~/.aws/models search path are all pinned or emptied.
botocore is imported lazily: git hooks import this package on every commit and checkout and
must stay fast.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Any, BinaryIO, Mapping

from . import __version__
from .config import Settings
from .credentials import ANONYMOUS, HINT, Credentials, credentials_from_env
from .errors import TransferError
from .hashing import CHUNK

RETRIES = {"mode": "standard", "max_attempts": 5}  # bounded, with backoff on throttling and 5xx
CREDENTIAL_HINT = HINT

__all__ = ["Credentials", "credentials_from_env", "CREDENTIAL_HINT", "make_client", "region_for"]


def region_for(settings: Settings, credentials: Credentials | None) -> str:
    """The region to sign for: the settings' (EOSVC_REGION, eosvc.region, AWS_REGION,
    AWS_DEFAULT_REGION), else the one the credentials' source names (the profile's region in
    ~/.aws/config, AWS_REGION in ~/.eosvc/.config), else the default."""
    if settings.region_source is None and credentials is not None and credentials.region:
        return credentials.region
    return settings.region


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
    # Bodies travel with UNSIGNED-PAYLOAD and a checksum header the server verifies: every
    # byte we upload is content-addressed and checked against its sha256 on every read, so a
    # signed payload adds only a second sha256 of each body (over plain http botocore would
    # sign every payload; over https it already signs none that carries a checksum).
    options["s3"] = {"payload_signing_enabled": False}
    if settings.endpoint:
        # S3-compatible servers rarely serve virtual-hosted bucket names.
        options["s3"]["addressing_style"] = "path"
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
    return session.create_client("s3", region_name=region_for(settings, credentials),
                                 endpoint_url=settings.endpoint or None,
                                 config=Config(**options), **keys)


class _Body:
    """A read-only request body of `_length` bytes, seekable so botocore can rewind it to
    retry; subclasses say how to read."""

    _length = 0
    _pos = 0

    def __len__(self) -> int:
        return self._length

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


class BufferBody(_Body):
    """A buffer as a body that hands out views, not copies: urllib3 sends a body block by
    block, and a `bytes` body goes through a BytesIO that copies every block."""

    def __init__(self, data: bytes | memoryview) -> None:
        self._view = memoryview(data).cast("B")
        self._length = len(self._view)

    def read(self, n: int | None = -1) -> memoryview:
        end = self._length if n is None or n < 0 else min(self._pos + n, self._length)
        block = self._view[self._pos:end]
        self._pos = end
        return block


class FileSlice(_Body):
    """A window of an open file as a body, without holding a whole part in memory."""

    def __init__(self, f: BinaryIO, offset: int, length: int) -> None:
        self._f = f
        self._start = offset
        self._length = length

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


def hash_range(f: BinaryIO, offset: int, length: int, md5: bool = False) -> tuple[bytes, bytes]:
    """(sha256, md5 or b"") of `length` bytes of `f` from `offset`, in one pass. S3 checks
    the sha256 we send; servers that ignore it (rclone, moto) still check Content-MD5."""
    sha, other = hashlib.sha256(), hashlib.md5(usedforsecurity=False) if md5 else None
    f.seek(offset)
    while length > 0:
        data = f.read(min(CHUNK, length))
        if not data:
            raise OSError(f"{getattr(f, 'name', 'file')} shrank while uploading")
        sha.update(data)
        if other is not None:
            other.update(data)
        length -= len(data)
    return sha.digest(), other.digest() if other is not None else b""


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def object_size(response: Mapping[str, Any], offset: int) -> int | None:
    """The whole object's size from a ranged GET (Content-Range: bytes a-b/TOTAL)."""
    content_range = response.get("ContentRange") or ""
    total = content_range.rsplit("/", 1)[-1]
    if total.isdigit():
        return int(total)
    # A server that ignores Range answers 200 with the whole object.
    return response.get("ContentLength") if offset == 0 else None


def http_status(e: Exception) -> int | None:
    response = getattr(e, "response", None) or {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if status is None and str(response.get("Error", {}).get("Code", "")).isdigit():
        status = int(response["Error"]["Code"])  # HEAD has no body: the code is the status
    return int(status) if status is not None else None


def error_code(e: Exception) -> str:
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def describe_error(e: Exception) -> str:
    """A one-line reason from a botocore error; never includes request headers or keys."""
    response = getattr(e, "response", None)
    if response:
        error = response.get("Error", {})
        code, message = error.get("Code", ""), error.get("Message", "")
        status = http_status(e)
        text = f"{code}: {message}" if message and message != code else str(code)
        return f"{text} (HTTP {status})" if status else text or type(e).__name__
    return str(e) or type(e).__name__


def refusal(e: Exception, credentials: Credentials | None) -> str:
    """What S3 refused and with which credentials, never a secret: `S3 refused the request
    (403 AccessDenied) signed with the access key AKIA…XYZ from AWS_PROFILE=foo
    (~/.aws/credentials)`, or that it was anonymous and where none were found."""
    told = " ".join(str(x) for x in (http_status(e), error_code(e)) if x)
    told = f"S3 refused the request ({told})" if told else "S3 refused the request"
    if credentials is None:
        return f"{told}, which was {ANONYMOUS}"
    return f"{told} signed with {credentials.describe()}"


def is_stream_error(e: Exception) -> bool:
    """Errors while reading a response body, which botocore does not retry by itself."""
    from botocore import exceptions as x

    kinds = tuple(getattr(x, name) for name in (
        "ResponseStreamingError", "IncompleteReadError", "ReadTimeoutError") if hasattr(x, name))
    return isinstance(e, kinds)


_PUBLIC_READ = ('{"Version":"2012-10-17","Statement":[{"Sid":"eosvc-public-read","Effect":"Allow",'
                '"Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}')


def create_bucket(client: Any, bucket: str, region: str, public_read: bool) -> tuple[bool, str | None]:
    """Create `bucket` (True) or find it already ours (False); with `public_read`, let anyone
    GetObject (only that: no listing), which anonymous readers of public sections need. The
    second value says why that policy could not be set (a server without bucket policies),
    or is None."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _create_bucket(client, bucket, region, public_read)
    except (ClientError, BotoCoreError) as e:
        raise TransferError(f"could not create bucket {bucket}: {describe_error(e)}",
                            hint="check that these credentials may create buckets and set bucket "
                                 "policies, or create the buckets yourself") from None


def _create_bucket(client: Any, bucket: str, region: str, public_read: bool) -> tuple[bool, str | None]:
    from botocore.exceptions import ClientError

    try:  # us-east-1 answers 200 to creating a bucket one owns: ask first
        client.head_bucket(Bucket=bucket)
        created = False
    except ClientError as e:
        if http_status(e) != 404:
            raise
        created = True
        kwargs: dict[str, Any] = {"Bucket": bucket}
        region = client.meta.region_name or region  # the region the client signs for
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(**kwargs)
    if public_read:
        try:  # AWS blocks public policies on new buckets; other servers may not know the call
            client.delete_public_access_block(Bucket=bucket)
        except ClientError:
            pass
        try:
            client.put_bucket_policy(Bucket=bucket, Policy=_PUBLIC_READ % bucket)
        except ClientError as e:  # the bucket is there and usable with credentials
            return created, describe_error(e)
    return created, None

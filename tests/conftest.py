"""Fixtures: a pinned git environment, a real S3 endpoint (moto's server) on loopback,
fresh buckets per test, bare git remotes, and a runner for the real CLI."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_bucket_counter = itertools.count()


@pytest.fixture(autouse=True)
def git_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pin git and AWS to a throwaway HOME: never the user's ~/.gitconfig, ~/.aws or cache."""
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n"
        "[advice]\n\tdetachedHead = false\n"
        "[protocol \"file\"]\n\tallow = always\n"
    )
    for name in list(os.environ):
        if name.startswith(("AWS_", "EOSVC_", "GIT_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    # No progress lines in what tests read (a slow machine would add some); tests of
    # progress itself set their own.
    monkeypatch.setenv("EOSVC_PROGRESS", "none")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return home


# Which S3 server the suite runs on (`.ci/run` runs it on moto, then on rclone):
#   EOSVC_TEST_S3=moto     moto's server (the default), started here
#   EOSVC_TEST_S3=rclone   rclone's `serve s3` with keys, started here; unsigned requests go
#                          through a loopback router to a second, read-only, anonymous rclone
#                          that serves only the public buckets (rclone has no bucket policies)
#   EOSVC_TEST_S3=external any endpoint: EOSVC_TEST_S3_ENDPOINT, EOSVC_TEST_S3_KEYS=ID:SECRET,
#                          EOSVC_TEST_S3_POLICIES=1 when it has bucket policies (then the public
#                          bucket is made anonymously readable with one), 0 when it has not
SERVER = os.environ.get("EOSVC_TEST_S3", "moto")
_key_id, _, _secret = os.environ.get("EOSVC_TEST_S3_KEYS", "testing:testing").partition(":")
KEYS = (_key_id, _secret)  # the access key pair every test signs with


@dataclass(frozen=True)
class S3Server:
    url: str
    kind: str
    # Makes a fresh bucket anonymously readable (a bucket policy, or a link into the
    # anonymous server's directory).
    publish: Callable[[Any, str], None]
    policies: bool = True  # a public-read bucket policy is what makes a bucket public here


def pytest_report_header(config: pytest.Config) -> str:
    return f"S3 server: {SERVER} (EOSVC_TEST_S3)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that talk to S3 are marked `s3`: `.ci/run` reruns just those on rclone."""
    for item in items:
        if {"s3", "s3_endpoint", "s3_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.s3)


def _policy(client: Any, bucket: str) -> None:
    client.put_bucket_policy(Bucket=bucket, Policy=PUBLIC_READ_POLICY % bucket)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The suite's S3 server, on 127.0.0.1 at an ephemeral port (EOSVC_TEST_S3 picks it)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from s3server import loopback_s3

    if SERVER == "moto":
        with loopback_s3() as url:
            yield S3Server(url, "moto", _policy)
    elif SERVER == "rclone":
        from faultproxy import FaultProxy

        base = tmp_path_factory.mktemp("rclone")
        root, anon = base / "buckets", base / "anonymous"
        root.mkdir()
        anon.mkdir()

        def publish(client: Any, bucket: str) -> None:
            (anon / bucket).symlink_to(root / bucket, target_is_directory=True)

        with loopback_s3(kind="rclone", root=root, keys=KEYS, log_file=base / "rclone.log") as url, \
                loopback_s3(kind="rclone", root=anon, keys=None, read_only=True, follow_links=True,
                            log_file=base / "anonymous.log") as anon_url, \
                FaultProxy(url, anonymous_upstream=anon_url, lifetime=6 * 3600) as router:
            yield S3Server(router.url, "rclone", publish, policies=False)
    elif SERVER == "external":
        url = os.environ["EOSVC_TEST_S3_ENDPOINT"]
        policies = os.environ.get("EOSVC_TEST_S3_POLICIES", "1") == "1"
        yield S3Server(url, "external", _policy if policies else (lambda client, bucket: None), policies)
    else:
        raise pytest.UsageError(f"EOSVC_TEST_S3 must be moto, rclone or external, not {SERVER!r}")


@pytest.fixture(scope="session")
def s3_endpoint(s3_server: S3Server) -> str:
    """The S3 endpoint URL every git-eosvc process of a test uses."""
    return s3_server.url


@dataclass
class S3:
    endpoint: str
    public_bucket: str
    private_bucket: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=KEYS[0], aws_secret_access_key=KEYS[1],
            # rclone sends the whole object's checksum with a ranged GET: boto3's check of it fails
            config=Config(response_checksum_validation="when_required"),
        )

    def keys(self, bucket: str) -> list[str]:
        out: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(out)

    def open_uploads(self, bucket: str) -> list[Any]:
        """Multipart uploads begun and neither completed nor aborted."""
        from botocore.exceptions import ClientError

        try:
            return list(self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []))
        except ClientError as e:  # rclone 1.75 answers an empty list with NoSuchUpload
            if e.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return []
            raise


PUBLIC_READ_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
    '"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}'
)


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3:
    """Fresh public and private buckets; environment set as a user with credentials would."""
    n = next(_bucket_counter)
    pid = os.getpid()
    env = S3(s3_server.url, f"pub-{pid}-{n}", f"priv-{pid}-{n}")
    client = env.client()
    client.create_bucket(Bucket=env.public_bucket)
    s3_server.publish(client, env.public_bucket)
    client.create_bucket(Bucket=env.private_bucket)
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", s3_server.url)
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", env.public_bucket)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", env.private_bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS[1])
    return env


def git(cwd: Path, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real git binary."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def eosvc(cwd: Path, *args: str, check: bool = True, input: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, as a user runs it (`git-eosvc ...`)."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    proc = subprocess.run([str(BIN / "git-eosvc"), *args], cwd=cwd, capture_output=True,
                          text=True, input=input if input is not None else "", env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"git-eosvc {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare git repository to push to and clone from."""
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "--bare", "-q", str(path))
    return path

"""Fixtures: a pinned git environment, a real S3 endpoint (moto's server) on loopback,
fresh buckets per test, bare git remotes, and a runner for the real CLI."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return home


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process on 127.0.0.1, an ephemeral port."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from s3server import loopback_s3

    with loopback_s3() as url:
        yield url


@dataclass
class S3:
    endpoint: str
    public_bucket: str
    private_bucket: str

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )

    def keys(self, bucket: str) -> list[str]:
        out: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            out.extend(o["Key"] for o in page.get("Contents", []))
        return sorted(out)


PUBLIC_READ_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
    '"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}'
)


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> S3:
    """Fresh public and private buckets; environment set as a user with credentials would."""
    n = next(_bucket_counter)
    pid = os.getpid()
    env = S3(s3_endpoint, f"pub-{pid}-{n}", f"priv-{pid}-{n}")
    client = env.client()
    client.create_bucket(Bucket=env.public_bucket)
    client.put_bucket_policy(Bucket=env.public_bucket, Policy=PUBLIC_READ_POLICY % env.public_bucket)
    client.create_bucket(Bucket=env.private_bucket)
    monkeypatch.setenv("EOSVC_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("EOSVC_PUBLIC_BUCKET", env.public_bucket)
    monkeypatch.setenv("EOSVC_PRIVATE_BUCKET", env.private_bucket)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
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

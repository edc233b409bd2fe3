#!/usr/bin/env python3
"""The git-eosvc quickstart: a real S3 endpoint and a real git remote on loopback, two clones.

Alice inits a standard repo (data public, output private), writes data and output,
commits and pushes; Bob clones and gets the same bytes; Bob changes a file and pushes;
Alice pulls. Every step is printed with the command it runs. Nothing leaves this
machine, no AWS account is needed, and everything is cleaned up at the end
(`--keep` leaves the folder for you to explore).

`--file-remote` runs the same steps against a directory remote (`file:///path`, one
directory per bucket) instead of S3: no S3 server, no credentials at all.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from s3server import isolated_env, loopback_s3

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
          '"Action":"s3:GetObject","Resource":"arn:aws:s3:::%s/*"}]}')


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}", flush=True)


def run(cwd: Path, *cmd: str, env: dict[str, str]) -> str:
    print(f"[{cwd.name}]$ {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.stdout.strip():
        print("    " + proc.stdout.rstrip().replace("\n", "\n    "), flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"quickstart: `{' '.join(cmd)}` failed with exit code {proc.returncode}")
    return proc.stdout


def files(root: Path) -> dict[str, str]:
    out = {}
    for section in ("data", "output"):
        for p in sorted((root / section).rglob("*")):
            if p.is_file():
                out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the work folder and print its path")
    parser.add_argument("--file-remote", action="store_true",
                        help="use a directory remote (file:///path) instead of a loopback S3 server")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="eosvc-quickstart-"))
    try:
        if args.file_remote:
            return walkthrough(work, (work / "remote-objects").as_uri(), args.keep)
        with loopback_s3() as endpoint:
            return walkthrough(work, endpoint, args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def walkthrough(work: Path, endpoint: str, keep: bool) -> int:
    directory = endpoint.startswith("file:")
    # A private git and AWS environment: never the user's ~/.gitconfig or ~/.aws.
    env = isolated_env(work / "home", "Quickstart", BIN)
    if directory:
        step(f"A directory remote: {endpoint} (one directory per bucket; no S3, no credentials)")
        s3 = None
    else:
        step(f"A real S3 endpoint (moto's server) on loopback: {endpoint}")
        import boto3

        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="quickstart", aws_secret_access_key="quickstart")
        s3.create_bucket(Bucket="eosvc-public")
        s3.put_bucket_policy(Bucket="eosvc-public", Policy=POLICY % "eosvc-public")
        s3.create_bucket(Bucket="eosvc-private")
        print("    buckets: eosvc-public (anonymous s3:GetObject allowed), eosvc-private")
        env.update(AWS_ACCESS_KEY_ID="quickstart", AWS_SECRET_ACCESS_KEY="quickstart")

    step("A bare git remote")
    remote = work / "remote.git"
    run(work, "git", "init", "-q", "--bare", str(remote), env=env)

    step("Alice starts a standard repo: data/ public, output/ private")
    alice = work / "alice"
    alice.mkdir()
    run(alice, "git", "init", "-q", env=env)
    run(alice, "git", "remote", "add", "origin", str(remote), env=env)
    run(alice, "git", "eosvc", "init", "--repo", "quickstart", "--endpoint", endpoint,
        *(["--create-buckets"] if directory else []), env=env)
    run(alice, "cat", "access.json", env=env)

    step("Alice writes data and output, records them, commits and pushes")
    print("[alice]$ # write data/train.csv, data/big.bin (3 MiB), output/predictions.csv")
    (alice / "data").mkdir()
    (alice / "data" / "train.csv").write_text("smiles,activity\nCCO,0.1\nCCN,0.7\n")
    (alice / "data" / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (alice / "output").mkdir()
    (alice / "output" / "predictions.csv").write_text("smiles,pred\nCCO,0.12\n")
    run(alice, "git", "eosvc", "add", env=env)
    run(alice, "git", "eosvc", "status", env=env)
    run(alice, "cat", "data.eosvc", env=env)
    run(alice, "git", "commit", "-q", "-m", "Add training data and predictions", env=env)
    run(alice, "git", "push", "-q", "-u", "origin", "main", env=env)

    step(f"What {'the directory' if directory else 'S3'} holds now: data in the public bucket, "
         "output in the private one")
    for bucket in ("eosvc-public", "eosvc-private"):
        if s3 is None:
            root = Path(endpoint.removeprefix("file://")) / bucket
            keys = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
            where = f"{root} (mode {root.stat().st_mode & 0o777:04o})"
        else:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
            where = f"s3://{bucket}"
        print(f"    {where}: " + (", ".join(k.rsplit("/", 1)[1][:12] + "…" for k in keys) or "(empty)"))

    step("Bob clones with plain git, installs once, and has the same bytes")
    run(work, "git", "clone", "-q", str(remote), "bob", env=env)
    bob = work / "bob"
    run(bob, "git", "eosvc", "install", env=env)
    same = files(alice) == files(bob)
    print(f"    alice and bob hold identical artifacts: {same} ({len(files(bob))} files)")
    if not same:
        raise SystemExit("quickstart: the bytes differ")

    step("Bob changes the data, commits and pushes; Alice pulls")
    print("[bob]$ # append a row to data/train.csv")
    (bob / "data" / "train.csv").write_text("smiles,activity\nCCO,0.1\nCCN,0.7\nCCC,0.3\n")
    run(bob, "git", "eosvc", "add", env=env)
    run(bob, "git", "commit", "-q", "-m", "More training data", env=env)
    run(bob, "git", "push", "-q", env=env)
    run(alice, "git", "pull", "-q", env=env)
    run(alice, "git", "eosvc", "diff", "HEAD~1", "HEAD", env=env)
    same = files(alice) == files(bob)
    print(f"    alice has bob's change: {same}")
    if not same:
        raise SystemExit("quickstart: the pull did not bring the new bytes")

    if directory:
        step("No credentials anywhere: file permissions decide who reads the directory remote")
    else:
        step("Anyone can read the public data without credentials")
    anon = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    run(work, "git", "clone", "-q", str(remote), "anonymous", env=anon)
    run(work / "anonymous", "git", "eosvc", "install", env=anon)
    print(f"    anonymous clone has: {sorted(files(work / 'anonymous'))}")
    print("\nquickstart: all steps passed")
    if keep:
        print(f"the work folder is kept at {work}" + ("" if directory else " (S3 stops with this script)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

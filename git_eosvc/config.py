"""Repository settings: environment > clone's git config > committed .eosvcconfig > defaults.

`resolve` is pure (mappings in, Settings out); `load` gathers the mappings. Two settings
differ: the region falls back to the standard AWS_REGION / AWS_DEFAULT_REGION after every
eosvc.region, and the AWS profile to read credentials from (AWS_PROFILE, then
`git config eosvc.profile`) is the clone's own: a committed .eosvcconfig never names it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from .errors import ConfigError
from .gitproc import git_said, run_git

CONFIG_FILE = ".eosvcconfig"
DEFAULT_PUBLIC_BUCKET = "eosvc-public"
DEFAULT_PRIVATE_BUCKET = "eosvc-private"
# EOSVC 1.x keeps model repos in their own buckets; `init` writes these for a new model repo
MODEL_PUBLIC_BUCKET = "eosvc-models-public"
MODEL_PRIVATE_BUCKET = "eosvc-models-private"
DEFAULT_REGION = "us-east-1"
DEFAULT_JOBS = 16
DEFAULT_PACK_MIN = 32  # a push packs its small objects when it has at least this many (0: never)
DEFAULT_CHUNK_MIN = 8 << 20  # files from this size up travel as content-defined chunks (0: never)
LINK_TYPES = ("reflink", "copy", "hardlink", "symlink")

# setting -> (git config key, environment variables, highest first)
_KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "repo": ("eosvc.repo", ("EOSVC_REPO",)),
    "public_bucket": ("eosvc.publicbucket", ("EOSVC_PUBLIC_BUCKET",)),
    "private_bucket": ("eosvc.privatebucket", ("EOSVC_PRIVATE_BUCKET",)),
    "endpoint": ("eosvc.endpoint", ("EOSVC_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")),
    "region": ("eosvc.region", ("EOSVC_REGION",)),
    "cache_dir": ("eosvc.cachedir", ("EOSVC_CACHE_DIR",)),
    "jobs": ("eosvc.jobs", ("EOSVC_JOBS",)),
    "link_type": ("eosvc.linktype", ("EOSVC_LINK_TYPE",)),
    "auto_add": ("eosvc.autoadd", ("EOSVC_AUTO_ADD",)),
    "profile": ("eosvc.profile", ("AWS_PROFILE",)),
    "pack_min": ("eosvc.packmin", ("EOSVC_PACK_MIN",)),
    "chunk_min": ("eosvc.chunkmin", ("EOSVC_CHUNK_MIN",)),
}
# read after the git config and .eosvcconfig, not before: the standard AWS names are a
# machine-wide default, eosvc.region is this repo's bucket region
_FALLBACK_ENV: dict[str, tuple[str, ...]] = {"region": ("AWS_REGION", "AWS_DEFAULT_REGION")}


@dataclass(frozen=True)
class Settings:
    repo: str
    public_bucket: str = DEFAULT_PUBLIC_BUCKET
    private_bucket: str = DEFAULT_PRIVATE_BUCKET
    endpoint: str | None = None
    region: str = DEFAULT_REGION
    cache_dir: Path | None = None
    jobs: int = DEFAULT_JOBS
    pack_min: int = DEFAULT_PACK_MIN
    chunk_min: int = DEFAULT_CHUNK_MIN
    link_type: str = "reflink"
    auto_add: bool = False
    profile: str | None = None  # the AWS profile named for credentials (credentials.py)
    profile_source: str = "AWS_PROFILE"  # where it was named: AWS_PROFILE or git config eosvc.profile
    region_source: str | None = None  # where the region came from; None: the built-in default

    def bucket(self, public: bool) -> str:
        return self.public_bucket if public else self.private_bucket

    @property
    def directory(self) -> Path | None:
        """The root of a directory remote (endpoint `file:///path`), or None for S3."""
        if self.endpoint is None or not self.endpoint.startswith("file:"):
            return None
        return directory_of(self.endpoint, "eosvc.endpoint")


def _bool(value: str, key: str, source: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{source}: {key} must be true or false, not {value!r}")


# What a committed .eosvcconfig may set: where the data lives. How this clone behaves
# (cache location, link type, parallelism, auto-add) is the clone's own business.
COMMITTED_KEYS = ("repo", "public_bucket", "private_bucket", "endpoint", "region")
STORAGE_KEYS = ("eosvc.repo", "eosvc.publicbucket", "eosvc.privatebucket", "eosvc.endpoint")


def storage_of(committed: Mapping[str, str]) -> dict[str, str]:
    """The committed settings that decide where private data goes (pinned by the access lock)."""
    return {k: committed[k] for k in STORAGE_KEYS if k in committed}


def resolve(env: Mapping[str, str], clone: Mapping[str, str], committed: Mapping[str, str],
            default_repo: str) -> Settings:
    """Merge the three layers. Keys of `clone`/`committed` are lowercased git config names."""
    values: dict[str, tuple[str, str]] = {}  # setting -> (value, where it came from)
    committed = {k: v for k, v in committed.items()
                 if any(_KEYS[n][0] == k for n in COMMITTED_KEYS)}
    for name, (key, env_names) in _KEYS.items():
        for var in env_names:
            if env.get(var):
                values[name] = (env[var], var)
                break
        else:
            if key in clone:
                values[name] = (clone[key], f"git config {key}")
            elif key in committed:
                values[name] = (committed[key], f"{CONFIG_FILE} {key}")
            else:
                for var in _FALLBACK_ENV.get(name, ()):
                    if env.get(var):
                        values[name] = (env[var], var)
                        break

    kwargs: dict[str, object] = {}
    for name, (value, source) in values.items():
        value = value.strip()
        if name == "jobs":
            try:
                jobs = int(value)
            except ValueError:
                jobs = 0
            if not 1 <= jobs <= 256:
                raise ConfigError(f"{source}: jobs must be a whole number from 1 to 256, not {value!r}")
            kwargs[name] = jobs
        elif name in ("pack_min", "chunk_min"):
            if not value.isdigit():
                raise ConfigError(f"{source}: {'packMin' if name == 'pack_min' else 'chunkMin'} must be a "
                                  f"whole number (0 turns it off), not {value!r}")
            kwargs[name] = int(value)
        elif name == "auto_add":
            kwargs[name] = _bool(value, "autoAdd", source)
        elif name == "link_type":
            if value not in LINK_TYPES:
                raise ConfigError(f"{source}: linkType must be one of {', '.join(LINK_TYPES)}, not {value!r}")
            kwargs[name] = value
        elif name == "cache_dir":
            kwargs[name] = Path(os.path.expanduser(value)).resolve() if value else None
        elif name == "repo":
            _check_repo_name(value, source)
            kwargs[name] = value
        elif name == "endpoint":
            if value.startswith("file:"):
                directory_of(value, source)  # refused here, before anything runs
            elif not value.startswith(("http://", "https://")):
                raise ConfigError(f"{source}: endpoint must be an http:// or https:// URL, or file:///absolute/path "
                                  f"for a directory remote, not {value!r}")
            kwargs[name] = value
        elif name == "profile":
            if not value or any(c in value for c in "[]\n\r\0"):
                raise ConfigError(f"{source}: not a profile name: {value!r}")
            kwargs[name] = value
            kwargs["profile_source"] = "AWS_PROFILE" if source == "AWS_PROFILE" else "git config eosvc.profile"
        elif value:
            kwargs[name] = value
            if name == "region":
                kwargs["region_source"] = source
        else:
            raise ConfigError(f"{source}: {name} is empty")
    if "repo" not in kwargs:
        _check_repo_name(default_repo, "the repository's folder name")
        kwargs["repo"] = default_repo
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    if settings.public_bucket == settings.private_bucket:
        raise ConfigError(f"the public and the private bucket are the same ({settings.public_bucket!r}): "
                          "private data would be readable by anyone",
                          hint="set eosvc.publicBucket and eosvc.privateBucket to two different buckets")
    return settings


def profile_of(env: Mapping[str, str], clone: Mapping[str, str]) -> tuple[str | None, str]:
    """The AWS profile named for credentials, and where (as `resolve` decides, alone)."""
    if (env.get("AWS_PROFILE") or "").strip():
        return env["AWS_PROFILE"].strip(), "AWS_PROFILE"
    return (clone.get("eosvc.profile") or "").strip() or None, "git config eosvc.profile"


def directory_of(url: str, source: str) -> Path:
    """The absolute directory a `file:///path` endpoint names (percent-escapes decoded);
    a relative path, a host other than localhost, or `..` is refused."""
    from urllib.parse import unquote

    rest = url[len("file:"):]
    path = None
    if rest.startswith("//"):
        host, slash, tail = rest[2:].partition("/")
        if host in ("", "localhost") and slash:
            path = unquote("/" + tail)
    if path is None or "\0" in path or any(p == ".." for p in path.split("/")):
        raise ConfigError(f"{source}: a directory remote is file:///absolute/path (three slashes), not {url!r}",
                          hint="e.g. file:///mnt/shared/eosvc; its subdirectories are the buckets")
    return Path(os.path.normpath(path))


def _check_repo_name(value: str, source: str) -> None:
    parts = value.split("/")
    if not value or value.startswith("/") or any(p in ("", ".", "..") for p in parts) or any(
        c in value for c in "\\\n\r\t\0"
    ):
        raise ConfigError(f"{source}: repo must be a plain S3 prefix like 'my-repo', not {value!r}")


def read_config_file(path: Path) -> dict[str, str]:
    """Read a git-config-syntax file with `git config -f` (the .lfsconfig convention)."""
    if not path.is_file():
        return {}
    proc = run_git(["config", "-f", str(path), "--list", "-z"], path.parent, check=False)
    if proc.returncode != 0:
        raise ConfigError(f"{path.name}: not valid git config syntax: "
                          f"{git_said(proc.stderr)}",
                          hint=f"fix {path.name} or see `git config -f {path.name} --list`")
    return _parse_list_z(proc.stdout)


def _parse_list_z(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in data.split(b"\0"):
        if not item:
            continue
        key, _, value = item.decode("utf-8", "surrogateescape").partition("\n")
        out[key.lower()] = value
    return out

"""Where S3 credentials come from (DESIGN.md §1): explicit sources only, in this order.

1. The environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN.
2. A profile the user names explicitly (AWS_PROFILE, or `git config eosvc.profile`), read
   from the standard shared files (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, then
   AWS_CONFIG_FILE or ~/.aws/config): static keys only. A profile that gets its keys by
   assuming a role, SSO or a credential process is refused with a way to export its keys.
3. ~/.eosvc/.config, the KEY=value file EOSVC 1.x's `eosvc config` writes (this package's
   `eosvc config` writes the same file, in the same format, mode 0600).

Never instance metadata, container roles, an unnamed [default] profile or `.env` files (a
`.env` holding AWS keys is only pointed out, with how to use it). Nothing here imports
botocore, and nothing is read until a command needs credentials. No secret is ever in a
message: a key id is shown masked (`AKIA…XYZ`), a secret never.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import CredentialsError

ENV_SOURCE = "AWS_ACCESS_KEY_ID in the environment"
EOSVC_CONFIG = "~/.eosvc/.config"
SEARCHED = ("the environment, a named AWS profile (AWS_PROFILE or git config eosvc.profile), "
            f"or {EOSVC_CONFIG}")
ANONYMOUS = f"anonymous: no credentials found in {SEARCHED}"
HINT = ("export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
        "credentials), name a profile of ~/.aws/credentials with AWS_PROFILE or `git config eosvc.profile "
        "NAME`, or store keys with `eosvc config --access-key-id ... --secret-access-key ...`")
DOTENV_FILES = (".env", ".config/.env", ".config/eosvc/.env")  # where EOSVC looked, in the repo
_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# profile settings that fetch keys by running or asking something: not read here
_INDIRECT = ("role_arn", "source_profile", "credential_process", "credential_source", "sso_session",
             "sso_start_url", "sso_account_id", "web_identity_token_file", "login_session")


@dataclass(frozen=True, repr=False)
class Credentials:
    """Explicit S3 keys, where they came from, and the region that source names (if any).
    repr/str never show the key id, the secret or the session token."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None
    source: str = field(default=ENV_SOURCE, compare=False)
    region: str | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        token = ", session_token=<hidden>" if self.session_token else ""
        return f"Credentials(access_key_id=<hidden>, secret_access_key=<hidden>{token})"

    __str__ = __repr__

    @property
    def key_shown(self) -> str:
        """The access key id, masked: enough to tell two keys apart, never the whole id."""
        k = self.access_key_id
        return f"{k[:4]}…{k[-3:]}" if len(k) >= 12 else f"…{k[-2:]}"

    def describe(self) -> str:
        return f"the access key {self.key_shown} from {self.source}"


def describe(credentials: Credentials | None) -> str:
    """Which credentials a request was signed with, or that it was anonymous (for messages)."""
    return credentials.describe() if credentials is not None else ANONYMOUS


def _pair(values: Mapping[str, str], names: tuple[str, str, str], where: str, source: str,
          region: str | None = None) -> Credentials | None:
    key_id = (values.get(names[0]) or "").strip()
    secret = (values.get(names[1]) or "").strip()
    token = (values.get(names[2]) or "").strip() or None
    if not key_id and not secret:
        return None  # a stray session token alone cannot sign anything
    if not secret or not key_id:
        have, lack = (names[0], names[1]) if not secret else (names[1], names[0])
        raise CredentialsError(f"{where}: {have} is set but {lack} is not",
                               hint=f"set both, or neither ({HINT})")
    return Credentials(key_id, secret, token, source=source, region=region)


def credentials_from_env(env: Mapping[str, str] = os.environ) -> Credentials | None:
    """AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, and nothing else.

    None when neither key is set; half a pair is a CredentialsError, because silently
    falling back to anonymous (or to another source) would hide the user's mistake.
    """
    return _pair(env, _KEYS, "the environment", ENV_SOURCE)


@dataclass(frozen=True)
class Lookup:
    """The outcome of a search: the credentials found (None: anonymous), and `.env` files
    with AWS keys that were not read (said in the hint, so the user knows how to use them)."""

    credentials: Credentials | None
    dotenv: tuple[str, ...] = ()

    def describe(self) -> str:
        return describe(self.credentials)

    def hint(self) -> str:
        return HINT + dotenv_note(self.dotenv)


def find(env: Mapping[str, str], profile: str | None = None, profile_source: str = "AWS_PROFILE",
         workdir: Path | None = None) -> Lookup:
    """Search the explicit sources in order (module docstring). `profile` is the profile the
    user named (`profile_source` says where: AWS_PROFILE or git config eosvc.profile)."""
    found = credentials_from_env(env)
    if found is None and profile:
        found = from_profile(env, profile, profile_source)
    if found is None:
        found = from_eosvc_config(env)
    return Lookup(found, dotenv_with_keys(workdir) if found is None and workdir is not None else ())


# ---------------------------------------------------------------- shared files


def home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def shown(path: Path, env: Mapping[str, str]) -> str:
    """A path for a message: under HOME as ~/..."""
    try:
        return "~/" + path.relative_to(home(env)).as_posix()
    except ValueError:
        return str(path)


def shared_files(env: Mapping[str, str]) -> tuple[Path, Path]:
    """(credentials file, config file), as the AWS CLI and SDKs find them."""
    def expand(value: str) -> Path:
        return home(env) / value[2:] if value.startswith("~/") else Path(value)

    return (expand(env.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"),
            expand(env.get("AWS_CONFIG_FILE") or "~/.aws/config"))


def read_ini(path: Path, env: Mapping[str, str]) -> dict[str, dict[str, str]] | None:
    """The sections of an AWS shared file (None: no such file), parsed as botocore does."""
    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        return None
    except (configparser.Error, UnicodeDecodeError, IsADirectoryError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CredentialsError(f"{shown(path, env)} cannot be read: {first}",
                               hint="fix the file (it is in the AWS shared-file format), or name no profile") from None
    except OSError as e:
        raise CredentialsError(f"{shown(path, env)} cannot be read: {e.strerror or e}") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def from_profile(env: Mapping[str, str], profile: str, profile_source: str = "AWS_PROFILE") -> Credentials:
    """The static keys of the named profile: ~/.aws/credentials' [NAME] first, then
    ~/.aws/config's [profile NAME] ([default] for default). A named profile that is missing
    or holds no keys is an error: the user asked for it."""
    named = f"{profile_source}={profile}"
    cred_file, conf_file = shared_files(env)
    creds = (read_ini(cred_file, env) or {}).get(profile)
    conf_sections = read_ini(conf_file, env) or {}
    conf = conf_sections.get(f"profile {profile}") or (conf_sections.get("default") if profile == "default" else None)
    region = ((conf or {}).get("region") or "").strip() or None
    for values, path in ((creds, cred_file), (conf, conf_file)):
        if values is None:
            continue
        found = _pair(values, ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"),
                      f"profile {profile} of {shown(path, env)}", f"{named} ({shown(path, env)})", region)
        if found is not None:
            return found
    if creds is None and conf is None:
        raise CredentialsError(
            f"{named} names a profile that is in neither {shown(cred_file, env)} nor {shown(conf_file, env)}",
            hint=f"add it (`aws configure --profile {profile}`), or unset {profile_source}")
    indirect = sorted({k for v in (creds, conf) if v for k in v if k in _INDIRECT})
    how = f" through {', '.join(indirect)}" if indirect else ""
    raise CredentialsError(
        f"{named}: the profile holds no aws_access_key_id / aws_secret_access_key{how}; git-eosvc reads "
        "only keys written in the shared files (it never assumes roles, runs SSO or credential processes)",
        hint=f'export its keys for this shell: eval "$(aws configure export-credentials --profile {profile} '
             '--format env)"')


# ---------------------------------------------------------------- ~/.eosvc/.config and .env


def parse_dotenv(text: str) -> dict[str, str]:
    """KEY=value lines as python-dotenv reads them: `export ` prefixes, comments, quotes."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            quote, value = value[0], value[1:-1]
            if quote == '"':
                value = value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
        else:
            value = value.split(" #", 1)[0].rstrip()
        out[key.strip()] = value
    return out


def eosvc_config_path(env: Mapping[str, str]) -> Path:
    return home(env) / ".eosvc" / ".config"


def from_eosvc_config(env: Mapping[str, str]) -> Credentials | None:
    """The keys `eosvc config` stored (None when there is no such file or it holds no keys)."""
    path = eosvc_config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialsError(f"{EOSVC_CONFIG} cannot be read: {getattr(e, 'strerror', None) or e}",
                               hint="fix or remove it, or run `eosvc config` again") from None
    values = parse_dotenv(text)
    region = (values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION") or "").strip() or None
    return _pair(values, _KEYS, EOSVC_CONFIG, f"{EOSVC_CONFIG} (eosvc config)", region)


def write_eosvc_config(env: Mapping[str, str], access_key_id: str, secret_access_key: str,
                       session_token: str | None = None, region: str | None = None,
                       default_region: str | None = None) -> Path:
    """Write ~/.eosvc/.config exactly as EOSVC 1.x's `eosvc config` does (same keys, order and
    KEY=value lines), but created with mode 0600 from its first byte, and atomically."""
    key_id, secret = access_key_id.strip(), secret_access_key.strip()
    if not key_id or not secret:
        raise CredentialsError("--access-key-id and --secret-access-key are required")
    lines = [f"AWS_ACCESS_KEY_ID={key_id}", f"AWS_SECRET_ACCESS_KEY={secret}"]
    for name, value in (("AWS_SESSION_TOKEN", session_token), ("AWS_REGION", region),
                        ("AWS_DEFAULT_REGION", default_region)):
        if value and value.strip():
            lines.append(f"{name}={value.strip()}")
    if any(c in "".join(lines) for c in "\n\r\0"):
        raise CredentialsError("a credential value holds a line break or NUL byte")
    path = eosvc_config_path(env)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".config.eosvc-tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)  # O_TRUNC of a leftover keeps its mode: set it
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def dotenv_with_keys(workdir: Path | None) -> tuple[str, ...]:
    """The repo's `.env` files (where EOSVC looked) that hold AWS keys; never read for keys."""
    if workdir is None:
        return ()
    found: list[str] = []
    for name in DOTENV_FILES:
        try:
            values = parse_dotenv((workdir / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if values.get("AWS_ACCESS_KEY_ID") or values.get("AWS_SECRET_ACCESS_KEY"):
            found.append(name)
    return tuple(found)


def dotenv_how(files: tuple[str, ...]) -> str:
    return f"`set -a; . ./{files[0]}; set +a` exports them for this shell, or `eosvc config` stores them"


def dotenv_note(files: tuple[str, ...]) -> str:
    if not files:
        return ""
    return f"; {', '.join(files)} holds AWS keys, which git-eosvc never reads from .env files: {dotenv_how(files)}"

"""`git eosvc doctor`: what this clone uses and where each thing comes from — settings,
access, locks (git-eosvc's and EOSVC's), credentials, hooks — and what stands in the way.

Never a secret: a key id is shown masked, a secret never. Reads files, asks no network.
Returns findings; the CLI prints them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from . import __version__
from . import access as access_mod
from . import config as config_mod
from . import credentials as creds
from .errors import EosvcError
from .lock import AccessLock
from .repo import Repo


@dataclass(frozen=True)
class Finding:
    label: str
    text: str
    problem: bool = False  # something to fix (doctor exits 2)
    hint: str | None = None


def diagnose(start: Path | None = None, env: Mapping[str, str] = os.environ) -> list[Finding]:
    out = [Finding("git-eosvc", __version__)]
    repo: Repo | None = None
    try:
        repo = Repo.discover(start)
    except EosvcError as e:
        out.append(Finding("repository", f"none here ({e.message})"))
    clone = repo.config_values() if repo is not None else {}
    if repo is not None:
        out.append(Finding("repository", str(repo.workdir)))
        out += _repo(repo, clone, env)
    out += _credentials(env, clone, repo.workdir if repo is not None else None)
    return out


def _bad(label: str, e: EosvcError) -> Finding:
    return Finding(label, e.message, problem=True, hint=e.hint)


def _repo(repo: Repo, clone: Mapping[str, str], env: Mapping[str, str]) -> list[Finding]:
    out: list[Finding] = []
    try:
        amap = access_mod.load(repo.workdir)
    except EosvcError as e:
        return [_bad("access.json", e)]
    out.append(Finding("access.json", f"{amap.kind} repo: "
                       + ", ".join(f"{s.path}/ {s.access}" for s in amap.sections)))
    eosvc_public = [s.path + "/" for s in amap.sections
                    if s.name not in amap.explicit and (s.name in ("data", "output") or amap.kind == access_mod.MODEL)]
    if eosvc_public:
        out.append(Finding("note", f"access.json leaves out {', '.join(eosvc_public)}: private here, "
                                   "public to EOSVC (which defaults to public)"))
    try:
        committed = config_mod.read_config_file(repo.workdir / config_mod.CONFIG_FILE)
        s = config_mod.resolve(env, clone, committed, repo.default_name())
    except EosvcError as e:
        return out + [_bad("settings", e)]
    if s.directory is not None:
        out += _directory(s.directory, s.public_bucket, s.private_bucket, s.repo)
    else:
        out.append(Finding("storage", f"public s3://{s.public_bucket}/{s.repo}/, private "
                                      f"s3://{s.private_bucket}/{s.repo}/ on {s.endpoint or 'AWS S3'}"))
    where = s.region_source or "built-in default, unless the credentials name one"
    out.append(Finding("region", f"{s.region} ({where})"))
    if env.get("EVC_REPO_NAME"):
        out.append(Finding("note", "EVC_REPO_NAME is EOSVC's; git-eosvc takes the S3 prefix from EOSVC_REPO "
                                   "or eosvc.repo"))
    lock = AccessLock(repo.state_dir, repo.workdir)
    problem = lock.problem(amap, config_mod.storage_of(committed))
    pins = []
    try:
        pins = lock.eosvc_pins(amap)
    except EosvcError:
        pass  # reported as the problem
    held = "held" if lock.locked() is not None else "written by the first command"
    out.append(Finding("access lock", f"{lock.shown} ({held})"))
    for pin in pins:
        out.append(Finding("EOSVC lock", f"{pin.path} ({pin.label}), read as an extra pin: "
                           + ("agrees with access.json" if pin.agrees else "disagrees")))
    if problem is not None:
        out.append(_bad("locks", problem))
    from . import install

    stale = install.check(repo)
    if stale:
        out.append(Finding("hooks", stale, problem=True))
    elif install.is_ours(repo, "pre-push"):
        out.append(Finding("hooks", "installed"))
    else:
        out.append(Finding("hooks", "not installed here (`git eosvc install`, or a hook manager: docs/hooks.md)"))
    return out


def _directory(root: Path, public: str, private: str, repo: str) -> list[Finding]:
    out = [Finding("storage", f"a directory remote: public {root / public / repo}/, private {root / private / repo}/; "
                              "no credentials are used, file permissions decide who reads and writes")]
    if not root.is_dir():
        out.append(Finding("storage", f"{root} does not exist", problem=True,
                           hint="is the disk mounted? `git eosvc init --create-buckets` creates it"))
        return out
    try:
        mode = (root / private).stat().st_mode
    except OSError:
        return out
    if mode & 0o005:
        out.append(Finding("storage", f"the private bucket directory {root / private} may be entered by anyone "
                                      f"(mode {mode & 0o777:04o}): pushes refuse to write private objects there",
                           problem=True, hint=f"chmod 700 {root / private}"))
    return out


def _credentials(env: Mapping[str, str], clone: Mapping[str, str], workdir: Path | None) -> list[Finding]:
    out: list[Finding] = []
    profile, source = config_mod.profile_of(env, clone)
    try:
        lookup = creds.find(env, profile, source)
    except EosvcError as e:
        return [_bad("credentials", e)]
    if lookup.credentials is not None:
        c = lookup.credentials
        out.append(Finding("credentials", c.describe() + (", with a session token" if c.session_token else "")
                           + (f", naming region {c.region}" if c.region else "")))
    else:
        out.append(Finding("credentials", f"none found in {creds.SEARCHED}: public sections are read "
                                          "anonymously, private ones are skipped, data pushes are refused",
                           hint=creds.HINT))
    dotenv = creds.dotenv_with_keys(workdir)
    if dotenv:
        out.append(Finding("note", f"{', '.join(dotenv)} holds AWS keys; git-eosvc never reads .env files",
                           hint=creds.dotenv_how(dotenv)))
    if profile is None and lookup.credentials is None:
        cred_file = creds.shared_files(env)[0]
        try:
            default = (creds.read_ini(cred_file, env) or {}).get("default")
        except EosvcError:
            default = None
        if default and default.get("aws_access_key_id"):
            out.append(Finding("note", f"{creds.shown(cred_file, env)} has a [default] profile, not used "
                                       "unless named", hint="export AWS_PROFILE=default, or "
                                                            "`git config eosvc.profile default` in this clone"))
    path = creds.eosvc_config_path(env)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0
    if mode & 0o077:
        out.append(Finding("note", f"{creds.EOSVC_CONFIG} is readable by others (mode {mode:04o})",
                           problem=True, hint=f"chmod 600 {creds.EOSVC_CONFIG}"))
    return out

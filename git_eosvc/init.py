"""`git eosvc init`: the files a repo commits once (access.json, .eosvcconfig, .gitattributes, .gitignore)."""

from __future__ import annotations

import json
from pathlib import Path

from . import access as access_mod
from .config import CONFIG_FILE, MODEL_PRIVATE_BUCKET, MODEL_PUBLIC_BUCKET
from .credentials import dotenv_with_keys
from .errors import ConfigError, UsageError
from .repo import Repo

ATTRIBUTES_LINE = "*.eosvc merge=eosvc diff=eosvc"
_DEFAULT_ACCESS = {
    "standard": {"data": "public", "output": "private"},
    "model": {"model": "public"},
}


def init_repo(repo: Repo, kind: str, name: str | None, public_bucket: str | None,
              private_bucket: str | None, endpoint: str | None) -> list[str]:
    """Write what is missing; never overwrite access.json. Returns the files written or changed."""
    if kind not in _DEFAULT_ACCESS:
        raise UsageError(f"unknown kind {kind!r}: use standard or model")
    wd = repo.workdir
    touched: list[str] = []
    access_path = wd / access_mod.ACCESS_FILE
    if access_path.exists():
        amap = access_mod.load(wd)  # validates; refuses to continue on a malformed file
        if amap.kind != kind and kind != "standard":
            raise ConfigError(f"access.json describes a {amap.kind} repo, not a {kind} repo",
                              hint="edit access.json or drop --kind")
    else:
        access_path.write_text(json.dumps(_DEFAULT_ACCESS[kind], indent=2) + "\n", encoding="utf-8")
        amap = access_mod.load(wd)
        touched.append(access_mod.ACCESS_FILE)

    cfg = wd / CONFIG_FILE
    existing = cfg.exists()
    if amap.kind == access_mod.MODEL and not existing:
        # a new model repo lives in EOSVC 1.x's model buckets, written down so the default can
        # never move it; a repo that already has a .eosvcconfig keeps the buckets it uses
        public_bucket = public_bucket or MODEL_PUBLIC_BUCKET
        private_bucket = private_bucket or MODEL_PRIVATE_BUCKET
    settings = {"repo": name or repo.default_name(), "publicBucket": public_bucket,
                "privateBucket": private_bucket, "endpoint": endpoint}
    for key, value in settings.items():
        if value is None:
            continue
        if existing and key == "repo" and name is None and _has_key(repo, cfg, "eosvc.repo"):
            continue
        repo.run("config", "-f", str(cfg), f"eosvc.{key}", value)
    touched.append(CONFIG_FILE)

    if _ensure_lines(wd / ".gitattributes", [ATTRIBUTES_LINE]):
        touched.append(".gitattributes")
    ignored = [f"/{s.path}/" for s in amap.sections] + ["/.eosvc/"]
    if (wd / ".evc").is_dir():  # EOSVC 0.1.2's lock folder: read as a pin, never committed
        ignored.append("/.evc/")
    # an EOSVC working copy's .env with AWS keys: secrets never go into a commit (nor block a push)
    ignored += [f"/{env}" for env in dotenv_with_keys(wd) if not repo.tracked([env])]
    if _ensure_lines(wd / ".gitignore", ignored):
        touched.append(".gitignore")
    repo.run("add", "--", access_mod.ACCESS_FILE, CONFIG_FILE, ".gitattributes", ".gitignore")
    return touched


def _has_key(repo: Repo, cfg: Path, key: str) -> bool:
    return repo.run("config", "-f", str(cfg), "--get", key, check=False).returncode == 0


def _ensure_lines(path: Path, lines: list[str]) -> bool:
    """Append the lines a file lacks; keep everything else as it is."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in text.splitlines()}
    missing = [line for line in lines if line not in have]
    if not missing:
        return False
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join(f"{line}\n" for line in missing), encoding="utf-8")
    return True

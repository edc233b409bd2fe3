"""Per-clone setup: merge and diff drivers in the clone's git config (hooks: see the hooks issue)."""

from __future__ import annotations

from .repo import Repo

_DRIVERS = {
    "merge.eosvc.name": "git-eosvc per-file manifest merge",
    "merge.eosvc.driver": "git-eosvc merge-driver %O %A %B %P %L",
    "diff.eosvc.textconv": "git-eosvc show-manifest",
}


def install(repo: Repo, force: bool = False, chain: bool = False) -> None:
    for key, value in _DRIVERS.items():
        repo.run("config", "--local", key, value)


def uninstall(repo: Repo) -> None:
    for section in ("merge.eosvc", "diff.eosvc"):
        repo.run("config", "--local", "--remove-section", section, check=False)

"""Releases by version expression (`--release '>=0.1,<0.2'`): the highest tag whose name is
a version matching a specifier.

Tags are read as PEP 440 versions (the `packaging` library, pip's own), a leading `v`
allowed (`v0.1.3`), semver spellings too (`1.0.0-rc.1` is 1.0.0rc1). The expression is a
PEP 440 specifier set (`>=0.1,<0.2`, `~=1.4`, `==1.*`, `!=1.2.0`), with the semver/npm
forms people type as well: `^1.2` (>=1.2,<2), `~1.2.3` (>=1.2.3,<1.3), a bare version
(`0.1.5`: exactly it; `1.x`: ==1.*), comparators separated by spaces, and `latest` (any).
Pre-releases match only when the expression names one (`>=1.0rc1`), as pip decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from .errors import UsageError
from .repo import Repo

_OPERATOR_SPACE = re.compile(r"(===|==|!=|<=|>=|~=|<|>|\^|~)\s+")
_SEMVER_PART = re.compile(r"(\^|~(?!=))v?(\d+(?:\.\d+){0,2})$")
_WILDCARD = re.compile(r"v?(\d+(?:\.\d+)*)\.[x*]$", re.I)
_SHOWN = 20  # tags named in a "no match" error


@dataclass(frozen=True)
class Release:
    tag: str  # the tag's name, without refs/tags/
    version: Version
    commit: str


def version_of(tag: str) -> Version | None:
    """The version a tag's name spells (`v0.1.3`, `0.1.3`, `1.0.0-rc.1`); None if none."""
    try:
        return Version(tag)  # PEP 440 allows the leading v
    except InvalidVersion:
        return None


def specifier(text: str) -> SpecifierSet:
    """The PEP 440 specifier set an expression means (the module's docstring lists the forms)."""
    raw = _OPERATOR_SPACE.sub(r"\1", text.strip())
    if raw.lower() in ("", "*", "latest", "any"):
        return SpecifierSet("")
    parts: list[str] = []
    for part in (p for chunk in raw.split(",") for p in chunk.split()):
        semver = _SEMVER_PART.match(part)
        wildcard = _WILDCARD.fullmatch(part)
        if semver:
            parts += _semver_range(semver[1], [int(n) for n in semver[2].split(".")])
        elif wildcard:
            parts.append(f"=={wildcard[1]}.*")
        elif part[:1].isdigit() or (part[:1] in "vV" and part[1:2].isdigit()):
            parts.append(f"=={part.lstrip('vV')}")
        else:
            op = re.match(r"(===|==|!=|<=|>=|~=|<|>)v?", part)
            parts.append(part if op is None else op[1] + part[len(op[0]):])
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier:
        raise UsageError(f"not a version expression: {text!r}",
                         hint="PEP 440 like '>=0.1,<0.2', '~=1.4', '==1.*', or semver like '^1.2', '~1.2.3'") from None


def _semver_range(op: str, nums: list[int]) -> list[str]:
    """`^1.2.3` -> >=1.2.3,<2.0.0; `^0.2.3` -> <0.3.0; `~1.2.3` -> >=1.2.3,<1.3.0 (npm's rules)."""
    low = ".".join(map(str, nums))
    if op == "~":
        bump = min(1, len(nums) - 1)  # ~1 -> <2, ~1.2 and ~1.2.3 -> <1.3
    else:
        bump = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
    high = nums[:bump] + [nums[bump] + 1]
    return [f">={low}", f"<{'.'.join(map(str, high))}"]


def releases(repo: Repo) -> list[Release]:
    """Every tag (of a commit) whose name is a version, highest first (then by tag name)."""
    found = [Release(name.removeprefix("refs/tags/"), v, commit) for name, commit in repo.local_refs()
             if name.startswith("refs/tags/") and (v := version_of(name.removeprefix("refs/tags/"))) is not None]
    return sorted(found, key=lambda r: (r.version, r.tag), reverse=True)


def pick(candidates: Iterable[Release], expression: str) -> Release:
    """The highest release matching `expression`; UsageError naming the versions seen."""
    spec = specifier(expression)
    seen = sorted(candidates, key=lambda r: (r.version, r.tag), reverse=True)
    for r in seen:
        if spec.contains(r.version, prereleases=bool(spec.prereleases)):
            return r
    listed = ", ".join(r.tag for r in seen[:_SHOWN]) + (f" … ({len(seen)} in all)" if len(seen) > _SHOWN else "")
    raise UsageError(f"no release tag matches {expression!r}"
                     + (f" (tags seen: {listed})" if seen else ": no tag here names a version"),
                     hint="`git fetch --tags` brings the remote's tags; pre-releases match only when the "
                          "expression names one (e.g. '>=1.0rc1')")


def find(repo: Repo, expression: str) -> Release:
    """The highest release tag of `repo` matching `expression`."""
    return pick(releases(repo), expression)

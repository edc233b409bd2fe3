"""EOSVC's S3 layout, as each released version wrote it: where to look for a section's
files, and which work-tree path an EOSVC key stands for. Pure: no I/O.

EOSVC stored every file at `s3://<bucket>/<repo>/<its path in the repo>`, latest only
(read from the released packages on PyPI):

| version       | repo name                      | data/, output/       | model/checkpoints/, fit          |
| ------------- | ------------------------------ | -------------------- | -------------------------------- |
| 0.1.2         | origin URL's last part         | eosvc-public/private | same buckets; fit under          |
|               |                                |                      | model/framework/fit/ (key        |
|               |                                |                      | "framework" in access.json)      |
| 0.1.3         | folder name, or EVC_REPO_NAME  | eosvc-public/private | same buckets; fit under model/fit/ |
| 1.0.0         | folder name, or EVC_REPO_NAME  | eosvc-public/private | eosvc-models-public/private;     |
|               |                                |                      | fit under model/fit/             |
| 1.1.0 - 1.3.0 | folder name, or EVC_REPO_NAME  | eosvc-public/private | eosvc-models-public/private;     |
|               |                                |                      | fit under model/framework/fit/   |

Standard repos had only data/ and output/, model repos only checkpoints and fit. A
section whose access.json key was absent was public in every version (git-eosvc keeps it
private), so both buckets of a section are looked at, its own access first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from .access import STANDARD, AccessMap, Section
from .paths import clashes, path_problem

PUBLIC, PRIVATE = "eosvc-public", "eosvc-private"  # EOSVC's buckets (fixed names in every version)
MODELS_PUBLIC = "eosvc-models-public"  # EOSVC 1.x's buckets for model repos
MODELS_PRIVATE = "eosvc-models-private"
BUCKETS = frozenset((PUBLIC, PRIVATE, MODELS_PUBLIC, MODELS_PRIVATE))  # all EOSVC could write to
_STANDARD_SECTIONS = ("data", "output")
_MODEL_SECTIONS = ("checkpoints", "fit")


@dataclass(frozen=True)
class Sources:
    """Where EOSVC kept this repo: its S3 prefix and the four buckets it may have used."""

    repo: str
    public: str = PUBLIC
    private: str = PRIVATE
    models_public: str = MODELS_PUBLIC
    models_private: str = MODELS_PRIVATE


@dataclass(frozen=True)
class Location:
    """One place EOSVC may have put a section's files: s3://bucket/prefix (prefix ends in '/')."""

    bucket: str
    prefix: str
    public: bool  # the bucket's access under EOSVC
    layout: str  # which EOSVC versions wrote here
    section_path: str  # the git-eosvc section these keys belong to

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class Listed:
    """One object as a listing shows it."""

    key: str
    size: int
    etag: str


@dataclass(frozen=True)
class Found:
    """An EOSVC object and the work-tree path it stands for."""

    path: str
    location: Location
    obj: Listed

    @property
    def url(self) -> str:
        return f"s3://{self.location.bucket}/{self.obj.key}"


@dataclass
class Selection:
    """A section's EOSVC objects: what to import, what to refuse, what a newer layout hides."""

    objects: list[Found] = field(default_factory=list)  # sorted by path
    refused: list[tuple[str, str]] = field(default_factory=list)  # (s3 url, why)
    shadowed: list[Found] = field(default_factory=list)  # the same path at a later location

    @property
    def size(self) -> int:
        return sum(f.obj.size for f in self.objects)


def eosvc_sections(access: AccessMap) -> list[Section]:
    """The sections EOSVC had for this kind of repo."""
    names = _STANDARD_SECTIONS if access.kind == STANDARD else _MODEL_SECTIONS
    return [s for s in access.sections if s.name in names]


def locations(section: Section, sources: Sources) -> list[Location]:
    """Every place EOSVC may have put `section`, newest layout first and, within one layout,
    the bucket of the section's own access first."""
    def both(public: str, private: str, prefix: str, layout: str) -> list[Location]:
        pair = [Location(public, prefix, True, layout, section.path),
                Location(private, prefix, False, layout, section.path)]
        return pair if section.public else pair[::-1]

    base = f"{sources.repo}/"
    if section.name in _STANDARD_SECTIONS:
        return both(sources.public, sources.private, f"{base}{section.path}/", "EOSVC")
    models = (sources.models_public, sources.models_private)
    std = (sources.public, sources.private)
    if section.name == "checkpoints":
        prefix = f"{base}model/checkpoints/"
        return both(*models, prefix, "EOSVC 1.x") + both(*std, prefix, "EOSVC 0.1")
    full, short = f"{base}model/framework/fit/", f"{base}model/fit/"
    return (both(*models, full, "EOSVC 1.1+") + both(*models, short, "EOSVC 1.0")
            + both(*std, full, "EOSVC 0.1.2") + both(*std, short, "EOSVC 0.1.3"))


def path_of(location: Location, key: str) -> str | None:
    """The work-tree path `key` stands for; None for a folder marker (a key ending in '/')."""
    rest = key[len(location.prefix):]
    if not rest or rest.endswith("/"):
        return None
    return f"{location.section_path}/{rest}"


def select(section: Section, listed: Sequence[tuple[Location, Iterable[Listed]]]) -> Selection:
    """Choose what to import from the listings of `section`'s locations (in `locations`
    order): the first location holding a path wins. Refused: keys that cannot be a work-tree
    path (`..`, `.git`, empty components), names that cannot sit side by side on every file
    system, and private EOSVC objects for a section that is public here (importing them
    would publish them)."""
    out = Selection()
    chosen: dict[str, Found] = {}
    for location, objects in listed:
        for obj in objects:
            if not obj.key.startswith(location.prefix):
                continue
            path = path_of(location, obj.key)
            if path is None:
                continue
            found = Found(path, location, obj)
            problem = path_problem(path, section.path)
            if problem:
                out.refused.append((found.url, f"not a safe work-tree path: {problem}"))
                continue
            if path in chosen:
                out.shadowed.append(found)
                continue
            if section.public and not location.public:
                out.refused.append((found.url, f"private under EOSVC, but {section.path}/ is public here "
                                               "(importing it would publish it)"))
                continue
            chosen[path] = found
    for path, clash in sorted(clashes(chosen).items()):
        out.refused.append((chosen[path].url, str(clash)))
    refused_urls = {url for url, _ in out.refused}
    out.objects = sorted((f for f in chosen.values() if f.url not in refused_urls), key=lambda f: f.path)
    return out

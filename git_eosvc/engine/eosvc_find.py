"""Finding a repo's EOSVC-layout objects: the plan of `git eosvc import-eosvc`, and the
hint `checkout`, `download` and `status --remote` give when a section's manifest is empty
but EOSVC's files are there. Reads S3, writes nothing.

The layouts themselves (which bucket, which prefix, per EOSVC version) are
eosvc_layout.py's; the S3 calls are s3import.py's.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

from ..access import Section
from ..eosvc_layout import (BUCKETS, MODELS_PRIVATE, MODELS_PUBLIC, PRIVATE, PUBLIC, Found, Listed, Location,
                            Sources, eosvc_sections, locations, path_of, select)
from ..errors import CredentialsError, TransferError, UsageError
from ..s3import import EosvcS3, ListingDenied
from .workspace import Workspace

IMPORT_COMMAND = "git eosvc import-eosvc"


@dataclass
class SectionImport:
    """What the import would do for one section."""

    section: Section
    objects: list[Found] = field(default_factory=list)  # to import, sorted by path
    refused: list[tuple[str, str]] = field(default_factory=list)  # (s3 url, why): nothing is imported
    shadowed: list[Found] = field(default_factory=list)  # the same path in an older layout: left out
    unchecked: list[str] = field(default_factory=list)  # locations not looked at, and why
    skipped: str | None = None  # why this section is not imported at all

    @property
    def size(self) -> int:
        return sum(f.obj.size for f in self.objects)

    @property
    def republished(self) -> list[str]:
        """Public EOSVC locations of a section that is private here: still readable by anyone."""
        if self.section.public:
            return []
        return sorted({f.location.url for f in self.objects if f.location.public})


@dataclass
class ImportPlan:
    sources: Sources
    sections: list[SectionImport]

    @property
    def refused(self) -> list[tuple[str, str]]:
        return [r for s in self.sections for r in s.refused]

    @property
    def objects(self) -> list[Found]:
        return [f for s in self.sections if not s.skipped for f in s.objects]

    def check(self) -> None:
        """Refuse the whole import, before anything is written, over one bad key."""
        refused = self.refused
        if not refused:
            return
        shown = "; ".join(f"{url} ({why})" for url, why in refused[:5])
        more = f"; … and {len(refused) - 5} more" if len(refused) > 5 else ""
        raise UsageError(f"refusing to import: {len(refused)} EOSVC object(s) cannot be imported: {shown}{more}",
                         hint="rename or delete those keys in S3, change access.json, or import the other "
                              "sections with --path; nothing was written")


def sources(ws: Workspace, repo: str | None = None, public: str | None = None, private: str | None = None,
            models_public: str | None = None, models_private: str | None = None) -> Sources:
    """Where EOSVC kept this repo: by default under this repo's S3 prefix (eosvc.repo), in
    the buckets EOSVC's code names (it had no setting for them): eosvc-public and
    eosvc-private, and for model repos EOSVC 1.x's eosvc-models-public / -private."""
    return Sources(repo or ws.settings.repo, public or PUBLIC, private or PRIVATE,
                   models_public or MODELS_PUBLIC, models_private or MODELS_PRIVATE)


def target_sections(ws: Workspace, paths: Sequence[str]) -> list[Section]:
    """The EOSVC sections named by `paths` (whole sections only), or all of them."""
    from ..eosvc import normalize

    available = eosvc_sections(ws.access)
    if not paths:
        return available
    chosen: list[Section] = []
    for raw in paths:
        section, rel = normalize(ws.access, raw)
        if rel != section.path:
            raise UsageError(f"import works on whole sections: use --path {section.path}, not {raw!r}")
        if section not in available:
            names = ", ".join(s.path + "/" for s in available)
            raise UsageError(f"EOSVC kept no {section.path}/ in a {ws.access.kind} repo "
                             f"(its sections were {names})")
        if section not in chosen:
            chosen.append(section)
    return chosen


def find(ws: Workspace, where: Sources, paths: Sequence[str] = ()) -> ImportPlan:
    """List every EOSVC location of the chosen sections and decide what to import.

    A section whose manifest already lists files is left alone (import fills empty
    manifests); a private section needs credentials. Naming such a section with `paths`
    is an error, otherwise it is skipped with the reason.
    """
    if ws.settings.directory is not None:
        raise UsageError(f"import-eosvc reads what EOSVC left in S3, and this repository's remote is a directory "
                         f"({ws.settings.endpoint})",
                         hint="import with the S3 endpoint set (EOSVC_ENDPOINT_URL), push, then copy the "
                              "buckets into the directory (`aws s3 sync s3://BUCKET DIR/BUCKET`)")
    explicit = bool(paths)
    creds = ws.credentials is not None
    plans: list[SectionImport] = []
    jobs: list[tuple[SectionImport, Location]] = []
    for section in target_sections(ws, paths):
        si = SectionImport(section)
        plans.append(si)
        recorded = len(ws.working_manifest(section))
        if recorded:
            si.skipped = f"{section.manifest} already lists {recorded} file(s); import fills empty manifests only"
            if explicit:
                raise UsageError(f"{section.path}/: {si.skipped}",
                                 hint=f"`git eosvc checkout {section.path}` brings what it lists")
            continue
        if not section.public and not creds:
            si.skipped = f"{section.path}/ is private and no credentials were found"
            if explicit:
                lookup = ws.credential_lookup
                raise CredentialsError(f"importing {si.skipped} ({lookup.describe()})", hint=lookup.hint())
            continue
        for location in locations(section, where):
            if not location.public and not creds:
                si.unchecked.append(f"{location.url} (private bucket, no credentials)")
            else:
                jobs.append((si, location))
    listings = _list_all(ws, [loc for _, loc in jobs], creds)
    grouped: dict[int, list[tuple[Location, list[Listed]]]] = {}
    for (si, location), (listed, why) in zip(jobs, listings):
        if why is not None:
            si.unchecked.append(f"{location.url} ({why})")
        elif listed:
            grouped.setdefault(id(si), []).append((location, listed))
    for si in plans:
        chosen = select(si.section, grouped.get(id(si), []))
        si.objects, si.refused, si.shadowed = chosen.objects, chosen.refused, chosen.shadowed
    return ImportPlan(where, plans)


def _list_all(ws: Workspace, where: list[Location], creds: bool
              ) -> list[tuple[list[Listed] | None, str | None]]:
    """Each location's objects (None: no such bucket), or why it could not be listed. A
    refusal with credentials is an error: a partial listing would import half a section."""
    if not where:
        return []
    with EosvcS3(ws.settings, ws.credentials) as s3:
        def one(location: Location) -> tuple[list[Listed] | None, str | None]:
            try:
                return s3.list(location), None
            except ListingDenied as e:
                if creds:
                    raise TransferError(f"could not list {location.url}: {e}",
                                        hint="the import must see every EOSVC object of a section; "
                                             "check that these credentials may list the bucket") from None
                return None, "listing refused without credentials"

        with ThreadPoolExecutor(min(8, len(where)), thread_name_prefix="eosvc-list") as pool:
            return list(pool.map(one, where))


# ---------------------------------------------------------------- the hint


def hints(ws: Workspace, sections: Sequence[Section] | None = None, only_if_unused: bool = False) -> list[str]:
    """One line per EOSVC section of `sections` (default: all) whose manifest lists nothing
    while EOSVC-layout objects exist for it, naming the import command. Best effort: any
    S3 trouble means no hint, never an error.

    Only a repo whose buckets are EOSVC's (it could write nowhere else) is looked at: a repo
    with buckets of its own never was EOSVC's. `only_if_unused` (checkout, download): look
    only when no manifest of this work tree exists at all, i.e. nothing was ever recorded
    here; a repo that uses git-eosvc and leaves a section empty costs those commands no S3
    request."""
    try:
        if ws.settings.directory is not None:  # EOSVC wrote to S3 only
            return []
        if not {ws.settings.public_bucket, ws.settings.private_bucket} & BUCKETS:
            return []
        if only_if_unused and any((ws.workdir / s.manifest).exists() for s in ws.access.sections):
            return []
        wanted = [s for s in eosvc_sections(ws.access) if sections is None or s in sections]
        empty = [s for s in wanted if not len(ws.working_manifest(s))]
        if not empty:
            return []
        where = sources(ws)
        creds = ws.credentials is not None
        out: list[str] = []
        with EosvcS3(ws.settings, ws.credentials) as s3:
            for section in empty:
                line = _hint(s3, section, where, creds)
                if line:
                    out.append(line)
        return out
    except Exception:  # noqa: BLE001 - a hint must never break the command it decorates
        return []


def _hint(s3: EosvcS3, section: Section, where: Sources, creds: bool) -> str | None:
    for location in locations(section, where):
        if not location.public and not creds:
            continue
        try:
            listed = s3.list(location, limit=10)
        except (ListingDenied, TransferError):
            continue
        example = next((p for p in (path_of(location, o.key) for o in listed or ()) if p), None)
        if example is not None:
            return (f"{section.path}/: {section.manifest} lists no files, but {location.url} holds files in "
                    f"{location.layout}'s layout (e.g. {example}); `{IMPORT_COMMAND}` imports them "
                    f"(`--dry-run` shows what it would do)")
    return None

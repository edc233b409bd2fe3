"""What the Python API (api.py) returns: small frozen values, owned by the API so the engine
can change its own result types without breaking callers. Each carries `notes`: warnings
for the person (a file a scan could not read, a section skipped for want of credentials)
that the CLI would print and the API never does.

Files are `manifest.Entry` values (`path`, `oid` (the sha256, a str), `size`); changes are
`manifest.Changes` (`added`, `removed`, `modified` as (old, new) pairs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .engine.add import AddResult as _EngineAdd
from .engine.checkout import CheckoutResult as _EngineCheckout
from .engine.fetch import FetchResult as _EngineFetch
from .engine.status import SectionStatus as _EngineSection
from .manifest import Changes, Entry


@dataclass(frozen=True)
class SectionStatus:
    """One section (managed directory) against its manifest and HEAD."""

    path: str  # data, output, model/checkpoints, model/framework/fit
    access: str  # public / private
    manifest: str  # data.eosvc, ...
    recorded: Changes  # the working manifest vs HEAD's: what a commit would record
    unrecorded: Changes  # the work tree vs the working manifest: what `add` would record
    not_downloaded: tuple[Entry, ...]  # recorded, never materialised here
    not_deleted: tuple[Entry, ...]  # dropped by the manifest, still here as last materialised
    not_uploaded: tuple[Entry, ...]  # not on S3 (asked only with status(remote=True))
    conflicted: bool  # the manifest is mid-merge
    conflicts: tuple[str, ...]  # paths still to resolve

    @property
    def clean(self) -> bool:
        return not (self.recorded or self.unrecorded or self.not_downloaded or self.not_deleted
                    or self.not_uploaded or self.conflicted)


@dataclass(frozen=True)
class Status:
    """Every section's status; `clean` when nothing is to record, commit, fetch or upload."""

    sections: tuple[SectionStatus, ...]
    notes: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return all(s.clean for s in self.sections)

    def section(self, path: str) -> SectionStatus:
        """The status of the section at `path` (e.g. "data"); KeyError if it has none."""
        for s in self.sections:
            if s.path == path.rstrip("/"):
                return s
        raise KeyError(path)


@dataclass(frozen=True)
class AddResult:
    manifests: tuple[str, ...]  # manifests rewritten (and staged)
    files: int  # entries the added sections now record
    stored: int  # files copied into the local store
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchResult:
    downloaded: int  # objects brought into the local store
    skipped_sections: tuple[str, ...] = ()  # private sections, no credentials
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckoutResult:
    written: tuple[str, ...]
    deleted: tuple[str, ...]
    kept: tuple[tuple[str, str], ...]  # (path, why): local work left in place, never lost
    stashed: tuple[tuple[str, str], ...]  # (path, sha256): local bytes saved in the store first
    downloaded: int
    skipped_sections: tuple[str, ...] = ()  # private sections, no credentials
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushResult:
    remote: str  # the git remote pushed to
    branch: str  # the branch there
    commit: str  # the commit pushed
    uploaded: int  # objects uploaded to S3 by this push
    bytes: int
    output: str = ""  # git's own words (and its hooks')
    notes: tuple[str, ...] = ()


def status_of(sections: Sequence[_EngineSection], notes: Sequence[str]) -> Status:
    return Status(tuple(
        SectionStatus(st.section.path, st.section.access, st.section.manifest, st.recorded, st.unrecorded,
                      tuple(st.not_downloaded), tuple(st.not_deleted), tuple(st.not_uploaded),
                      st.conflicted, tuple(c.path for c in st.conflicts))
        for st in sections), tuple(notes))


def add_of(result: _EngineAdd, notes: Sequence[str]) -> AddResult:
    return AddResult(tuple(result.changed), result.files, result.stored, tuple(notes))


def fetch_of(result: _EngineFetch, notes: Sequence[str]) -> FetchResult:
    return FetchResult(result.downloaded, tuple(result.skipped_sections), tuple(notes))


def checkout_of(result: _EngineCheckout, notes: Sequence[str]) -> CheckoutResult:
    return CheckoutResult(tuple(result.written), tuple(result.deleted), tuple(result.kept),
                          tuple((p, str(oid)) for p, oid in result.stashed), result.fetch.downloaded,
                          tuple(result.skipped_sections), tuple(notes))

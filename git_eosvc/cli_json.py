"""`--json` for status, view and verify: the engine's results as the documented objects
of docs/json.md (same encoding rules as the diff's JSON, docs/diff-json.md). Pure: the
handlers print what these return."""

from __future__ import annotations

from typing import Iterable, Sequence

from .engine.status import SectionStatus
from .engine.verify import VerifyResult
from .eosvc import FileState
from .manifest import Changes, Entry
from .review import entry_json, json_path

VERSION = 1
_STATES = {"=": "same", "~": "modified", "+": "not recorded", "-": "not here"}


def _entries(entries: Iterable[Entry]) -> list[object]:
    return [entry_json(e) for e in entries]


def _changes(changes: Changes) -> dict[str, object]:
    return {"added": _entries(changes.added), "removed": _entries(changes.removed),
            "modified": [{"path": json_path(n.path), "old": entry_json(o), "new": entry_json(n)}
                         for o, n in changes.modified]}


def status_doc(sections: Sequence[SectionStatus], remote: bool) -> dict[str, object]:
    """Every section, changed or not, so a script can tell "clean" from "not looked at"."""
    docs: list[dict[str, object]] = []
    for st in sections:
        docs.append({
            "section": st.section.path, "manifest": st.section.manifest, "access": st.section.access,
            "conflicted": st.conflicted,
            "conflicts": [{"kind": c.kind, "path": json_path(c.path)} for c in st.conflicts],
            "recorded": _changes(st.recorded), "unrecorded": _changes(st.unrecorded),
            "not_materialised": _entries(st.not_downloaded), "not_deleted": _entries(st.not_deleted),
            "dropped": _entries(st.dropped), "excluded": _entries(st.excluded),
            "not_uploaded": _entries(st.not_uploaded) if remote else None,
        })
    clean = not any(st.conflicted or st.recorded or st.unrecorded or st.not_downloaded or st.not_deleted
                    or (remote and st.not_uploaded) for st in sections)
    return {"schema": "git-eosvc/status", "version": VERSION, "remote_checked": remote,
            "clean": clean, "sections": docs}


def view_doc(sections: Sequence[tuple[str, str, list[FileState]]], remote: bool) -> dict[str, object]:
    """(section path, access, files) in order; each file's state by hash, and whether S3 has it."""
    docs: list[dict[str, object]] = []
    files_total = bytes_total = 0
    for path, access, files in sections:
        rows: list[dict[str, object]] = []
        for f in files:
            shown = f.have or f.want
            assert shown is not None
            rows.append({"path": json_path(shown.path), "state": _STATES[f.state], "size": shown.size,
                         "recorded": entry_json(f.want) if f.want else None,
                         "local": entry_json(f.have) if f.have else None,
                         "remote": f.remote if remote and f.want else None})
            files_total += 1
            bytes_total += shown.size
        docs.append({"section": path, "access": access, "files": rows})
    return {"schema": "git-eosvc/view", "version": VERSION, "remote_checked": remote,
            "sections": docs, "totals": {"files": files_total, "bytes": bytes_total}}


def verify_doc(result: VerifyResult, remote: bool) -> dict[str, object]:
    return {"schema": "git-eosvc/verify", "version": VERSION, "remote_checked": remote,
            "ok": not result.corrupt and not result.not_on_remote, "checked": result.checked,
            "corrupt": sorted(str(oid) for oid in result.corrupt),
            "not_on_remote": [{"path": json_path(n.path), "sha256": str(n.oid), "size": n.size,
                               "bucket": n.bucket} for n in result.not_on_remote] if remote else None}

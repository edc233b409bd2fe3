"""`add`'s word for the manifests it staged: every object they name was in the local store
when it staged them. The pre-commit check takes that word for a staged manifest (by git
blob id) while the store's removal mark is the one the word was given under, that is,
while no object has left the store since (`durability.removal_mark`), instead of parsing
10,000 lines and looking each object up. A manifest add did not stage, or staged with
entries it did not store (files never downloaded here), gets the full check."""

from __future__ import annotations

from typing import Mapping

from ..atomic import write_atomic
from ..durability import removal_mark
from ..gitproc import hash_object
from .workspace import Workspace

FILE = "vouched"  # in the state dir: "<manifest blob id> <removal mark>" lines, newest last
KEEP = 32  # lines kept: a few sections, a few adds back


def vouch(ws: Workspace, staged: Mapping[str, bytes], mark: str) -> None:
    """Record the manifests (path -> the bytes add wrote) whose every object add stored,
    under the removal mark read before it stored them; as git staged them (an id whose
    bytes are not these, say a filter's, is not recorded)."""
    if not staged or not mark:
        return
    ids = ws.repo.index_blob_ids(list(staged))
    lines = [f"{oid} {mark}" for path, data in staged.items()
             if (oid := ids.get(path)) and hash_object(data, len(oid)) == oid]
    if lines:
        kept = [line for line in _read(ws) if line not in lines]
        write_atomic(ws.repo.state_dir / FILE, "".join(f"{line}\n" for line in (kept + lines)[-KEEP:]).encode())


def vouched(ws: Workspace, blob_id: str) -> bool:
    """Whether add stored every object of the manifest blob `blob_id`, and none has left
    the store since."""
    mark = removal_mark(ws.store.root)
    return bool(mark) and f"{blob_id} {mark}" in _read(ws)


def _read(ws: Workspace) -> list[str]:
    try:
        return (ws.repo.state_dir / FILE).read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return []  # no word given: the full check

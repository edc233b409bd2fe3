"""EOSVC's `pull`: `git pull --rebase`, then materialise. Locally modified artifacts are
kept and returned; whether to replace them is the caller's question to ask."""

from __future__ import annotations

from ..errors import OperationError
from .checkout import CheckoutResult, checkout
from .workspace import Workspace


def pull(ws: Workspace, discard: bool = False, quiet: bool = False) -> CheckoutResult:
    """`git pull --rebase` (git's output goes to the terminal), then materialise; with
    `discard`, locally modified files are saved in the store first, then replaced."""
    proc = ws.repo.run("pull", "--rebase", *(["-q"] if quiet else []), check=False, capture=False)
    if proc.returncode != 0:
        raise OperationError("git pull --rebase failed; see git's message above")
    return checkout(ws, discard=discard)


def replace_kept(ws: Workspace, result: CheckoutResult) -> None:
    """The answer 'yes' to 'replace the kept files?': save their bytes, then replace them."""
    if result.kept:
        result.extend(checkout(ws, paths=[p for p, _ in result.kept], discard=True))

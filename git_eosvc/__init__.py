"""git-eosvc: large artifacts in S3, their sha256 in a committed manifest, git drives the sync.

The Python API (docs/api.md) is exported here lazily (PEP 562): `import git_eosvc` imports
nothing else, because the hooks import this package on every git command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it, imported on first access
_EXPORTS = {
    "Repository": "api", "open_repo": "api",
    "Status": "api_results", "SectionStatus": "api_results", "AddResult": "api_results",
    "CheckoutResult": "api_results", "FetchResult": "api_results", "PushResult": "api_results",
    "Entry": "manifest", "Changes": "manifest", "Report": "review", "ProgressEvent": "progress",
    "EosvcError": "errors", "OperationError": "errors", "TransferError": "errors",
    "IntegrityError": "errors", "UsageError": "errors", "NotFoundError": "errors",
    "ConfigError": "errors", "ManifestError": "errors", "CredentialsError": "errors",
    "ConflictError": "errors",
}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # the same names, for type checkers
    from .api import Repository as Repository, open_repo as open_repo
    from .api_results import (AddResult as AddResult, CheckoutResult as CheckoutResult,
                              FetchResult as FetchResult, PushResult as PushResult,
                              SectionStatus as SectionStatus, Status as Status)
    from .errors import (ConfigError as ConfigError, ConflictError as ConflictError,
                         CredentialsError as CredentialsError, EosvcError as EosvcError,
                         IntegrityError as IntegrityError, ManifestError as ManifestError,
                         NotFoundError as NotFoundError, OperationError as OperationError,
                         TransferError as TransferError, UsageError as UsageError)
    from .manifest import Changes as Changes, Entry as Entry
    from .progress import ProgressEvent as ProgressEvent
    from .review import Report as Report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:  # AttributeError lets `from git_eosvc import cli` import the submodule
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

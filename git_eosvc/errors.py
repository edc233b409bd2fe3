"""One exception family: every expected failure carries a message, a hint and an exit code.

Exit codes (DESIGN.md §7): 0 success, 1 an operation failed (network, missing object,
conflict, integrity), 2 bad usage or bad configuration.
"""

from __future__ import annotations


class EosvcError(Exception):
    """An expected failure: printed as one or two lines, never as a traceback."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class OperationError(EosvcError):
    """An operation failed: network, missing object, conflict."""

    exit_code = 1


class TransferError(OperationError):
    """S3 refused or failed a transfer after bounded retries."""


class IntegrityError(OperationError):
    """Bytes do not match the sha256 they were asked for."""


class UsageError(EosvcError):
    """Bad usage: wrong arguments, hostile paths, wrong repo state for the command."""

    exit_code = 2


class NotFoundError(UsageError):
    """A path that neither the manifests (at that revision) nor the work tree hold."""


class ConfigError(UsageError):
    """Bad configuration: access.json, .eosvcconfig, the access lock."""


class ManifestError(ConfigError):
    """A malformed or hostile manifest (names file and line)."""


class CredentialsError(ConfigError):
    """Credentials are needed and not in the environment."""


class ConflictError(ManifestError):
    """A manifest still holds merge-conflict markers."""

    exit_code = 1

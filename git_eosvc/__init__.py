"""git-eosvc: large artifacts in S3, their sha256 in a committed manifest, git drives the sync."""

__version__ = "0.1.0"

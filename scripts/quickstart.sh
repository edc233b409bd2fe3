#!/usr/bin/env bash
# Set up .venv (git-eosvc and its test extras), then run the quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/python scripts/quickstart.py "$@"

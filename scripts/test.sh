#!/usr/bin/env bash
# Set up .venv (git-eosvc and its test extras), then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
exec .venv/bin/python -m pytest -q -n 2 "$@"

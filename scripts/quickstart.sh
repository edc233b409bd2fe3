#!/usr/bin/env bash
# Set up a virtualenv (.venv) with git-eosvc and its test extras, then run the quickstart.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
exec .venv/bin/python scripts/quickstart.py "$@"

#!/usr/bin/env bash
# Create .venv with git-eosvc (editable) and its test extras; skipped when pyproject.toml
# has not changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.git-eosvc-installed
want=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()).hexdigest(), sys.version_info[:2])')
if [ -x .venv/bin/python ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exec bash scripts/setup-eosvc-pins.sh  # EOSVC's own releases, for the import tests
fi
echo "setting up .venv (git-eosvc and its test extras; log: .venv/install.log) ..."
python3 -m venv .venv
# pip's and setuptools' chatter goes to the log; it is shown only if the install fails
if ! { .venv/bin/python -m pip install -q --upgrade pip &&
       .venv/bin/python -m pip install -q -e '.[test]'; } > .venv/install.log 2>&1; then
  cat .venv/install.log >&2
  echo "setup-venv: installing git-eosvc failed (see above)" >&2
  exit 1
fi
echo "$want" > "$stamp"
exec bash scripts/setup-eosvc-pins.sh

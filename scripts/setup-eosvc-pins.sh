#!/usr/bin/env bash
# The released EOSVC packages that tests/test_import_eosvc.py uploads with (the real code,
# against the loopback S3 server), each in its own venv under .venv/eosvc-pins/: they are
# two versions of one package, so they cannot be test extras of pyproject.toml. Run by
# scripts/setup-venv.sh; a venv already in place is kept (about 7 s each to create).
set -euo pipefail
cd "$(dirname "$0")/.."
for version in 1.3.0 0.1.2; do
  pin=.venv/eosvc-pins/$version
  [ -x "$pin/bin/eosvc" ] && continue
  echo "setting up $pin (eosvc==$version, for the import tests) ..."
  rm -rf "$pin"
  if ! { python3 -m venv --without-pip "$pin" &&
         .venv/bin/python -m pip --python "$pin/bin/python" install -q "eosvc==$version"; } \
       > .venv/eosvc-pins.log 2>&1; then
    cat .venv/eosvc-pins.log >&2
    rm -rf "$pin"
    echo "setup-eosvc-pins: installing eosvc==$version failed (see above)" >&2
    exit 1
  fi
done

#!/usr/bin/env bash
# Set up .venv (git-eosvc and its test extras), then run the whole test suite on moto's S3
# server, and the tests that talk to S3 (marker `s3`) again on rclone's `serve s3`: two
# S3 implementations, both started on 127.0.0.1 by the tests themselves.
# EOSVC_TEST_S3=moto|rclone|external runs on that one only (tests/conftest.py says how).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh
if [[ -n "${EOSVC_TEST_S3:-}" ]]; then
    exec .venv/bin/python -m pytest -q -n 2 "$@"
fi
echo "== the whole suite, on moto's S3 server"
EOSVC_TEST_S3=moto .venv/bin/python -m pytest -q -n 2 "$@"
echo "== the tests that talk to S3, on rclone's serve s3"
EOSVC_TEST_S3=rclone .venv/bin/python -m pytest -q -n 2 -m s3 "$@"

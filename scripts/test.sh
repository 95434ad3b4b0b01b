#!/usr/bin/env bash
# The test command: installs and starts what the tests need, then runs the whole Maven build with
# every unit, integration and end-to-end test. Run as root from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-env.sh
exec mvn -B -ntp verify "$@"

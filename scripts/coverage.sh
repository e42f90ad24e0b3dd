#!/usr/bin/env bash
# Coverage of lib/ across processes: vitest measures its test workers, and every process the
# tests start (the CLI through tsx, servers) writes raw V8 coverage that is merged in.
# Arguments go to vitest (a file or filter narrows the run). Not part of `npm test`: it runs the
# whole suite with coverage, 20+ minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
# The CLI's child processes run the TypeScript sources, so their coverage maps to lib/.
export FSTORE_CLI_SOURCES=1
rm -rf coverage
mkdir -p coverage/children-raw
status=0
npx vitest run --config vitest.coverage.config.ts "$@" || status=$?
npx tsx scripts/coverage/report-coverage.ts
if [ "$status" -ne 0 ]; then
  echo "tests failed (exit $status): the figures above cover the tests that ran" >&2
fi
exit "$status"

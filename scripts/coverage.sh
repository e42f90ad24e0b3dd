#!/usr/bin/env bash
# Coverage of lib/ across processes: vitest measures its test workers, and every process the
# tests start (the CLI through tsx, servers) writes raw V8 coverage that is merged in.
# Not part of `npm test`: the whole suite with coverage takes 20+ minutes on two cores, so it
# can be run in shards that are reported together:
#   scripts/coverage.sh [vitest args]            the whole run in coverage/, then the report
#   scripts/coverage.sh --shard=I/N [vitest args] one shard into coverage/shards/I-of-N/ only
#   scripts/coverage.sh --report                 merges every shard in coverage/shards/
# Other arguments go to vitest (a file or filter narrows the run).
set -euo pipefail
cd "$(dirname "$0")/.."
# The CLI's child processes run the TypeScript sources, so their coverage maps to lib/.
export FSTORE_CLI_SOURCES=1

shard=''
sharded=false
vitest_args=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --report) exec npx tsx scripts/coverage/report-shards.ts coverage/shards ;;
    --shard=*) sharded=true; shard="${1#--shard=}" ;;
    # A missing value is refused below, not taken for a whole run.
    --shard) sharded=true; shard="${2:-}"; [ "$#" -gt 1 ] && shift ;;
    *) vitest_args+=("$1") ;;
  esac
  shift
done

if [ "$sharded" = true ]; then
  if ! [[ "$shard" =~ ^([1-9][0-9]*)/([1-9][0-9]*)$ ]] || [ "${BASH_REMATCH[1]}" -gt "${BASH_REMATCH[2]}" ]; then
    echo "--shard must be I/N with 1 <= I <= N (got '$shard'), e.g. --shard=1/6" >&2
    exit 2
  fi
  out="coverage/shards/${BASH_REMATCH[1]}-of-${BASH_REMATCH[2]}"
  # Only this shard's folder is replaced: the other shards' results stay for the report.
  rm -rf "$out"
  mkdir -p "$out/children-raw"
  export FSTORE_CHILD_COVERAGE_DIR="$PWD/$out/children-raw"
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  status=0
  npx vitest run --config vitest.coverage.config.ts --shard="$shard" \
    --coverage.reportsDirectory="$out/in-process" "${vitest_args[@]}" || status=$?
  # Written last: a shard folder without it was stopped before vitest ended.
  printf '{"shard":"%s","exitCode":%d,"started":"%s","ended":"%s","commit":"%s"}\n' \
    "$shard" "$status" "$started" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" >"$out/shard-status.json"
  echo "shard $shard done (exit $status) in $out; report all shards: npm run test:coverage:report" >&2
  exit "$status"
fi

# A whole run replaces coverage/ except the shards.
mkdir -p coverage
find coverage -mindepth 1 -maxdepth 1 ! -name shards -exec rm -rf {} +
mkdir -p coverage/children-raw
status=0
npx vitest run --config vitest.coverage.config.ts "${vitest_args[@]}" || status=$?
npx tsx scripts/coverage/report-coverage.ts
if [ "$status" -ne 0 ]; then
  echo "tests failed (exit $status): the figures above cover the tests that ran" >&2
fi
exit "$status"

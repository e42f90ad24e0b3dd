#!/usr/bin/env bash
# Smoke test of fstore under other Node.js majors, fetched from the npm registry (no other
# download): `bash .ci/node-smoke.sh [major ...]` (default: 22 24). Run after `npm ci`; the
# repository's node_modules (installed by the Node that runs npm) is used as is, so this also
# checks that the native modules (DuckDB's N-API bindings, classic-level, esbuild) load under
# each version. Per version, with a fresh temp data dir:
#   1. native modules: DuckDB `select 1`, classic-level open/put/get, esbuild transform;
#      `fstore --version` runs from the CLI bundle, not the tsx fallback;
#   2. `fstore start --port 0`: validate, apply, demo data, ingest, materialize, serve;
#   3. one lookup over HTTP (POST /v1/features/churn_online), values checked;
#   4. `fstore training-set --service churn_v1` on the demo entities, rows counted;
#   5. SIGTERM: the server exits 0.
# Prints each check; exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(22 24)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

smoke() {
  local major=$1 started node tmp log url pid
  started=$(date +%s)
  # The `node` npm package's install script installs `node-<platform>-<arch>@<version>` (the
  # binary, from the npm registry) and links it as bin/node; npm caches it under ~/.npm/_npx.
  node=$(npm exec --yes --package="node@$major" -- node -p process.execPath) ||
    fail "could not fetch node@$major from the npm registry"
  [ -x "$node" ] || fail "node@$major: $node is not executable"
  echo "== node $("$node" --version) ($node)"
  [[ $("$node" --version) == "v$major."* ]] || fail "expected Node $major, got $("$node" --version)"

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/fstore-node$major-XXXXXX")
  log="$tmp/start.log"
  pid=""
  # shellcheck disable=SC2064
  trap "[ -n \"\${pid:-}\" ] && kill \"\$pid\" 2>/dev/null; rm -rf '$tmp'" RETURN

  echo "-- native modules"
  "$node" --input-type=module -e "
    import { DuckDBInstance } from '@duckdb/node-api';
    const db = await DuckDBInstance.create(':memory:');
    const reader = await (await db.connect()).runAndReadAll('select 42 as n');
    if (Number(reader.getRowObjects()[0].n) !== 42) throw new Error('DuckDB: select 42 gave ' + JSON.stringify(reader.getRowObjects()));
    console.log('   DuckDB ' + (await import('@duckdb/node-api')).version() + ' (N-API): ok');
  " || fail "node $major: DuckDB does not load"
  "$node" --input-type=module -e "
    import { ClassicLevel } from 'classic-level';
    const db = new ClassicLevel('$tmp/level', { valueEncoding: 'utf8' });
    await db.put('k', 'v');
    if ((await db.get('k')) !== 'v') throw new Error('classic-level: get after put');
    await db.close();
    console.log('   classic-level (N-API): ok');
  " || fail "node $major: classic-level does not load"
  "$node" -e "
    const out = require('esbuild').transformSync('let x: number = 1', { loader: 'ts' }).code;
    if (!out.includes('let x = 1')) throw new Error(out);
    console.log('   esbuild ' + require('esbuild').version + ': ok');
  " || fail "node $major: esbuild does not load"

  echo "-- the CLI runs from its bundle (built by npm ci)"
  local version_err
  version_err=$("$node" bin/fstore.mjs --version 2>&1 >/dev/null) || fail "node $major: fstore --version"
  [ -z "$version_err" ] || fail "node $major: fstore --version did not run from the bundle: $version_err"
  echo "   fstore --version: $("$node" bin/fstore.mjs --version), from node_modules/.cache/fstore-cli"

  echo "-- fstore start --port 0 (data dir $tmp/data)"
  "$node" bin/fstore.mjs --no-color --data-dir "$tmp/data" start --port 0 >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    url=$(sed -n 's/.*lookup API ready on \(http[^ ]*\).*/\1/p' "$log" | head -1)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "node $major: fstore start exited before serving"; }
    sleep 0.5
  done
  [ -n "$url" ] || { cat "$log" >&2; fail "node $major: fstore start not serving after 300 s"; }
  grep -E '✔|✖|Warning|Error' "$log" | sed 's/^/   | /'

  echo "-- lookup over HTTP: $url/v1/features/churn_online"
  "$node" --input-type=module -e "
    const res = await fetch('$url/v1/features/churn_online', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entities: [{ customer_id: 'C000001' }, { customer_id: 'C000002' }] }),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error('status ' + res.status + ': ' + text);
    const body = JSON.parse(text);
    const rows = body.results;
    if (!Array.isArray(rows) || rows.length !== 2) throw new Error('expected 2 results: ' + text.slice(0, 400));
    if (rows[0].entity?.customer_id !== 'C000001') throw new Error('C000001 missing: ' + text.slice(0, 400));
    const present = Object.values(rows[0].features ?? {}).filter((f) => f.status === 'PRESENT').length;
    if (present === 0) throw new Error('no PRESENT feature for C000001: ' + text.slice(0, 400));
    console.log('   200, ' + rows.length + ' results, ' + present + ' features PRESENT for C000001: ' + text.slice(0, 160) + (text.length > 160 ? ' ...' : ''));
  " || fail "node $major: lookup over HTTP"

  echo "-- fstore training-set --service churn_v1 (demo entities)"
  "$node" bin/fstore.mjs --no-color --data-dir "$tmp/data" training-set --service churn_v1 \
    --entities "$tmp/data/local/demo-data/entities.csv" --out "$tmp/churn_v1.parquet" 2>&1 |
    sed 's/^/   | /'
  [ "${PIPESTATUS[0]}" = 0 ] || fail "node $major: fstore training-set"
  "$node" --input-type=module -e "
    import { DuckDBInstance } from '@duckdb/node-api';
    const c = await (await DuckDBInstance.create(':memory:')).connect();
    const [{ rows, entities }] = (await c.runAndReadAll(
      \"select count(*) as rows, (select count(*) from read_csv('$tmp/data/local/demo-data/entities.csv')) as entities from read_parquet('$tmp/churn_v1.parquet')\",
    )).getRowObjects();
    if (Number(rows) === 0 || Number(rows) !== Number(entities)) throw new Error('training set has ' + rows + ' rows for ' + entities + ' entity rows');
    console.log('   ' + rows + ' rows, one per entity row');
  " || fail "node $major: training set rows"

  echo "-- SIGTERM"
  kill -TERM "$pid"
  local code=0
  wait "$pid" || code=$?
  pid=""
  [ "$code" = 0 ] || { tail -5 "$log" >&2; fail "node $major: server exited $code on SIGTERM (expected 0)"; }
  echo "   server exited 0"
  echo "== node $major: ok in $(($(date +%s) - started)) s"
}

total=$(date +%s)
for major in "${majors[@]}"; do smoke "$major"; done
echo "node smoke ok (${majors[*]}) in $(($(date +%s) - total)) s; repo $repo"

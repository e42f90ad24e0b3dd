/**
 * One timed running-totals build of bench:agg-ingest in its own process, so peak RSS belongs to
 * one build: `tsx bench/agg-ingest-run.ts <incremental|full> <dataDir>`. incremental extends the
 * totals found in the store (built without the last file); full builds from nothing.
 * Prints one JSON line: { seconds, kind, reason?, incrementRows?, peakRssMb }.
 */
import path from 'node:path';
import { openDuckdb } from '../lib/offline/duckdb-session.ts';
import { ensureRunningTotals } from '../lib/offline/running-totals.ts';
import { duckdbDialect } from '../lib/sql/duckdb-dialect.ts';
import { benchView } from './agg-ingest-view.ts';

const [mode, dir] = process.argv.slice(2);
if ((mode !== 'incremental' && mode !== 'full') || !dir)
  throw new Error('usage: agg-ingest-run.ts <incremental|full> <dataDir>');

const offline = path.join(dir, 'offline');
const session = await openDuckdb();
await session.connection.run(`SET memory_limit = '${process.env.BENCH_MEMORY_LIMIT ?? '4GB'}'`);
await session.connection.run(`SET temp_directory = '${path.join(dir, 'tmp')}'`);
const started = performance.now();
const totals = await ensureRunningTotals(
  session.connection,
  offline,
  duckdbDialect(offline),
  benchView(),
  undefined,
  { incremental: mode === 'incremental' },
);
const seconds = (performance.now() - started) / 1000;
session.close();
if (!totals?.build) throw new Error(`nothing was built under ${offline}`);
const { build } = totals;
process.stdout.write(
  `${JSON.stringify({
    seconds,
    kind: build.kind,
    ...(build.kind === 'full' ? { reason: build.reason } : { incrementRows: build.incrementRows }),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  })}\n`,
);

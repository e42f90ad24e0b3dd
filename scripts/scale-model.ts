/**
 * npm run scale:model: the throughput and cost model of docs/scale.md, for the entity counts
 * given (default 1M, 10M, 100M, 1B): a full and an incremental materialization run (wall time,
 * list-price dollars) on a new on-demand table and on one pre-warmed to the table quota, and the
 * price of 1M lookups. Every assumption is an option; `--json` prints one JSON document.
 */
import { Command, InvalidArgumentError } from 'commander';
import { newOnDemandTable, usEast1Prices } from '../lib/scale/aws-prices.ts';
import { estimateLookups } from '../lib/scale/lookup-model.ts';
import { estimateRun, type RunEstimate } from '../lib/scale/materialization-model.ts';
import {
  defaultLookupSetup,
  defaultRunSetup,
  defaultWorkload,
} from '../lib/scale/model-defaults.ts';

function positive(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0)
      throw new InvalidArgumentError(`${name} must be a number > 0, got "${text}"`);
    return value;
  };
}

function share(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new InvalidArgumentError(`--changed-share must be between 0 and 1, got "${text}"`);
  return value;
}

function entityCounts(text: string): number[] {
  return text.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isSafeInteger(value) || value < 1)
      throw new InvalidArgumentError(`--entities takes whole numbers >= 1, got "${part}"`);
    return value;
  });
}

const program = new Command('scale-model')
  .option('--entities <list>', 'entity counts, comma-separated', entityCounts, [1e6, 1e7, 1e8, 1e9])
  .option(
    '--views <n>',
    'online views, one item per entity each',
    positive('--views'),
    defaultWorkload.views,
  )
  .option(
    '--item-bytes <n>',
    'average online item size',
    positive('--item-bytes'),
    defaultWorkload.itemBytes,
  )
  .option(
    '--source-rows-per-entity <n>',
    'offline rows a full run scans per entity',
    positive('--source-rows-per-entity'),
    defaultWorkload.sourceRowsPerEntity,
  )
  .option(
    '--bytes-per-source-row <n>',
    'Parquet bytes of the columns read, per row',
    positive('--bytes-per-source-row'),
    defaultWorkload.bytesPerSourceRow,
  )
  .option(
    '--changed-share <x>',
    'share of entities an incremental run writes',
    share,
    defaultWorkload.changedShare,
  )
  .option(
    '--writer-rows-per-second <n>',
    'rows one writer puts a second',
    positive('--writer-rows-per-second'),
    defaultRunSetup.writerRowsPerSecond,
  )
  .option(
    '--max-concurrency <n>',
    'writers at once',
    positive('--max-concurrency'),
    defaultRunSetup.maxConcurrency,
  )
  .option(
    '--athena-mb-per-second <n>',
    'Athena scan speed assumed',
    positive('--athena-mb-per-second'),
    defaultRunSetup.athenaBytesPerSecond / 1024 ** 2,
  )
  .option(
    '--table-quota <n>',
    'write units a second the table quota allows',
    positive('--table-quota'),
    newOnDemandTable.tableQuotaWriteUnits,
  )
  .option(
    '--warm-write-units <n>',
    'only this warm throughput (default: a new table and one warmed to the quota)',
    positive('--warm-write-units'),
  )
  .option('--json', 'one JSON document on stdout');

program.parse();
const options = program.opts<{
  entities: number[];
  views: number;
  itemBytes: number;
  sourceRowsPerEntity: number;
  bytesPerSourceRow: number;
  changedShare: number;
  writerRowsPerSecond: number;
  maxConcurrency: number;
  athenaMbPerSecond: number;
  tableQuota: number;
  warmWriteUnits?: number;
  json?: boolean;
}>();

const setup = {
  ...defaultRunSetup,
  writerRowsPerSecond: options.writerRowsPerSecond,
  maxConcurrency: Math.floor(options.maxConcurrency),
  athenaBytesPerSecond: options.athenaMbPerSecond * 1024 ** 2,
};
const warmths = options.warmWriteUnits
  ? [options.warmWriteUnits]
  : [newOnDemandTable.warmWriteUnits, options.tableQuota];
const lookupSetup = {
  ...defaultLookupSetup,
  itemsPerLookup: options.views,
  itemBytes: options.itemBytes,
};
const perMillionLookups = estimateLookups(1e6, lookupSetup, usEast1Prices);

const scenarios = warmths.map((warmWriteUnits) => {
  const table = { ...newOnDemandTable, warmWriteUnits, tableQuotaWriteUnits: options.tableQuota };
  return {
    warmWriteUnits,
    rows: options.entities.map((entities) => {
      const workload = { ...defaultWorkload, ...options, entities };
      return {
        entities,
        full: estimateRun('full', workload, setup, table, usEast1Prices),
        incremental: estimateRun('incremental', workload, setup, table, usEast1Prices),
      };
    }),
  };
});

if (options.json) {
  console.log(
    JSON.stringify({ prices: usEast1Prices, setup, scenarios, perMillionLookups }, null, 2),
  );
} else {
  for (const scenario of scenarios) {
    console.log(
      `\nOnline table warm for ${scenario.warmWriteUnits.toLocaleString('en-US')} write units/s (quota ${options.tableQuota.toLocaleString('en-US')}):`,
    );
    console.log(
      'entities        full run: wall     $   shards writers throttled | incremental: wall     $',
    );
    for (const row of scenario.rows) {
      console.log(
        `${row.entities.toLocaleString('en-US').padStart(13)}  ${wall(row.full).padStart(15)} ${dollars(row.full).padStart(7)} ${String(row.full.shards).padStart(6)} ${String(row.full.writers).padStart(7)} ${duration(row.full.throttledSeconds).padStart(9)} | ${wall(row.incremental).padStart(17)} ${dollars(row.incremental).padStart(7)}`,
      );
    }
    for (const row of scenario.rows)
      for (const limit of row.full.limitsExceeded)
        console.log(`  ${row.entities.toLocaleString('en-US')} entities: ${limit}`);
  }
  console.log(
    `\n1M lookups (${lookupSetup.itemsPerLookup} item(s) each): $${perMillionLookups.total.toFixed(2)} (HTTP API $${perMillionLookups.apiGateway.toFixed(2)}, Lambda $${perMillionLookups.lambda.toFixed(2)}, DynamoDB $${perMillionLookups.dynamodb.toFixed(2)})`,
  );
}

function wall(run: RunEstimate): string {
  return duration(run.seconds.total);
}

function dollars(run: RunEstimate): string {
  return `$${run.dollars.total < 10 ? run.dollars.total.toFixed(2) : Math.round(run.dollars.total).toLocaleString('en-US')}`;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

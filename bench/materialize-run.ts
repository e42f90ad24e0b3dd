/**
 * One pass of bench:materialize in its own process (so its peak RSS is its own):
 * `ours` runs fstore's materializer end to end (DuckDB query, constraints, codec, conditional
 * puts, checkpoints); `baseline` sends the same conditional PutItem calls for the same number
 * of rows at the same concurrency, items built by a bare loop (no query, no codec).
 * Prints one JSON line: { rows, seconds, peakRssMb }. `ours` takes a shard count (default 1).
 * `incremental` (on a copy of the store): a full run, then an ingest of `ingestRows` rows, then
 * the next scheduled run; prints { fullSeconds, seconds, rows, puts, rowsRead, ingested, peakRssMb }.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { materializeLocal } from '../lib/local/materialize-local.ts';
import { ensureLocalTable, localDynamoClient } from '../lib/online/online-table.ts';
import { putCommand } from '../lib/online/online-writer.ts';
import {
  benchConcurrency,
  benchEnv,
  benchRegistry,
  ingestBenchRows,
  materializeAt,
} from './materialize-setup.ts';

const [mode, endpoint, dataDir, rowsText, ingestRowsText, shardsText] = process.argv.slice(2);
const rows = Number(rowsText);
const client = localDynamoClient(endpoint as string);
const table = `fstore-bench-${mode}`;
await ensureLocalTable(client, table);
const registry = benchRegistry();
const view = registry.featureViews[0];
if (!view) throw new Error('no view');

if (mode === 'incremental') {
  const materialize = async (at: number, counted = client) => {
    const started = performance.now();
    const [result] = await materializeLocal({
      registry,
      dataDir: dataDir as string,
      env: benchEnv,
      client: counted,
      table,
      concurrency: benchConcurrency,
      now: () => at,
    });
    return { result, seconds: (performance.now() - started) / 1000 };
  };
  const full = await materialize(materializeAt);
  if (full.result?.counts.written !== rows)
    throw new Error(`the full run wrote ${full.result?.counts.written} of ${rows} rows`);
  const ingested = await ingestBenchRows(dataDir as string, rows, Number(ingestRowsText));
  let puts = 0;
  const counting = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'PutItemCommand') puts += 1;
        return target.send(command as never);
      };
    },
  });
  const next = await materialize(materializeAt + 3_600_000, counting);
  if (next.result?.scope?.kind !== 'incremental')
    throw new Error(
      `the run after the ingest was not incremental: ${JSON.stringify(next.result?.scope)}`,
    );
  client.destroy();
  process.stdout.write(
    `${JSON.stringify({
      fullSeconds: full.seconds,
      seconds: next.seconds,
      rows: next.result.counts.written,
      puts,
      rowsRead: next.result.counts.rowsRead,
      ingested: ingested.rows,
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
  process.exit(0);
}

const started = performance.now();
let written = 0;
if (mode === 'ours') {
  const [result] = await materializeLocal({
    registry,
    dataDir: dataDir as string,
    env: benchEnv,
    client,
    table,
    concurrency: benchConcurrency,
    shards: Number(shardsText ?? 1),
    now: () => materializeAt,
  });
  written = result?.counts.written ?? 0;
} else {
  const plans = ['basic', 'plus', 'pro'];
  let next = 0;
  // The very condition fstore's writer sends for this view (no created-time column).
  const sample = putCommand(
    table,
    view,
    { values: { customer_id: 'C0', score: 1, plan: 'basic', spend: 1 }, eventTs: 0, seq: 0 },
    materializeAt,
  ).input;
  const condition = {
    ConditionExpression: sample.ConditionExpression,
    ExpressionAttributeNames: sample.ExpressionAttributeNames,
  };
  const worker = async () => {
    while (next < rows) {
      const i = next++;
      const eventTs = String(1_769_731_200_000_000 + i * 1000);
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            pk: { S: `${view.onlineStore.keyPrefix}#customer_id=C${String(i).padStart(7, '0')}` },
            f: {
              M: {
                score: { N: String(i % 1000) },
                plan: { S: plans[i % 3] as string },
                spend: { N: String((i % 100_000) / 100) },
              },
            },
            event_ts: { N: eventTs },
            fstore_seq: { N: String(i) },
            materialized_at: { N: String(materializeAt) },
            expires_at: { N: String(1_769_731_200 + 365 * 86_400) },
          },
          ...condition,
          ExpressionAttributeValues: { ':e': { N: eventTs }, ':s': { N: String(i) } },
        }),
      );
      written += 1;
    }
  };
  await Promise.all(Array.from({ length: benchConcurrency }, worker));
}
const seconds = (performance.now() - started) / 1000;
client.destroy();
process.stdout.write(
  `${JSON.stringify({ rows: written, seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);

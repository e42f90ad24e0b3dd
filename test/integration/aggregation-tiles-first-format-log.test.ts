import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import { pushLogDir } from '../../lib/push/push-log.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { minute, second, t0 } from '../helpers/tile-payment-rows.ts';

let dynamo: LocalDynamo;
const hour = 60n * minute;
const day = 24n * hour;

/** A row of `customer` at `event` (created at `event + 1`) worth `amount`. */
function tied(customer: string, event: bigint, amount: number) {
  return paymentRow(formatMicros(event), {
    customer_id: customer,
    amount,
    status: `s${amount}`,
    created_ts: formatMicros(event + 1n),
  });
}

describe('a push log of the first name format (stamp to the second, no push id) waiting at upgrade (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('is ingested, tile bases keep running, and lookups equal the training set, `last` ties included', async () => {
    const env = await tileEnvironment(dynamo);
    const logs = pushLogDir(env.fixture.dataDir, 'local', 'payments');
    /** A log as the first release wrote it (before tiles existed): rows as JSON lines. */
    const firstFormatLog = async (name: string, rows: Record<string, unknown>[]) => {
      await mkdir(logs, { recursive: true });
      await writeFile(
        path.join(logs, name),
        rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
      );
    };
    const checkpoint = async (event: bigint, winners: Record<string, number>) => {
      const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
      const firstInstant = event - (event % 1000n) + 1000n;
      for (const after of [0n, 40n * second, 6n * minute, 3n * hour, 2n * day])
        for (const cached of [false, true]) {
          const at = firstInstant + after;
          lookups.push(...env.lookupRecords(at, await env.lookupAt(at, cached)));
        }
      for (const [customer, amount] of Object.entries(winners))
        for (const o of lookups.filter((l) => l.at === firstInstant && l.customer === customer))
          expect(o.values.amount_last_10m, `${customer}`).toBe(amount);
      return (await env.mismatches(lookups)).slice(0, 10);
    };

    // Round 1: one first-format log waiting alone (compaction ingests it by itself). K1: a batch
    // row ingested before it, tied with its row (its row wins); K2: its row, then a batch row
    // tied with it ingested after (the batch row wins); then a push tied with K1 (it wins).
    const e1 = t0 - 20n * day + hour + 123_457n;
    await env.fixture.ingest('payments', [tied('K1', e1, 1.5)]);
    expect((await env.materialize(e1 + minute))[0]?.status).toBe('succeeded');
    await firstFormatLog('20261201T050000-abcdef123456.jsonl', [
      tied('K1', e1, 2.5),
      tied('K2', e1, 3.5),
    ]);
    expect((await env.materialize(e1 + 2n * minute))[0]?.status).toBe('succeeded');
    await env.fixture.ingest('payments', [tied('K2', e1, 4.5)]);
    expect((await env.materialize(e1 + 3n * minute))[0]?.status).toBe('succeeded');
    expect(await checkpoint(e1, { K1: 2.5, K2: 4.5 })).toEqual([]);
    await env.push(e1 + 4n * minute, [tied('K1', e1, 5.5)]);
    expect(await checkpoint(e1, { K1: 5.5, K2: 4.5 })).toEqual([]);

    // Round 2: a first-format log and a push waiting together (ingested as one batch, the log
    // first by its name): K3's pushed row wins the tie with the log's; K1's log row wins the tie
    // with a batch row ingested before it.
    const e2 = t0 - 10n * day + 30n * second;
    await env.fixture.ingest('payments', [tied('K1', e2, 6.5)]);
    await firstFormatLog('20261201T050001-0123456789ab.jsonl', [
      tied('K3', e2, 7.5),
      tied('K1', e2, 8.5),
    ]);
    await env.push(e2 + minute, [tied('K3', e2, 9.5)]);
    expect((await env.materialize(e2 + 2n * minute))[0]?.status).toBe('succeeded');
    expect(await checkpoint(e2, { K1: 8.5, K3: 9.5 })).toEqual([]);

    // Round 3: a first-format log an earlier release already ingested alone, its record marking
    // the rows tiled for every view version, with the key that release refused in pushLogs:
    // the rows are the base's (K2's wins the tie with a batch row ingested before it).
    const e3 = t0 - 5n * day + 17n * second;
    await env.fixture.ingest('payments', [tied('K2', e3, 10.5)]);
    const earlier = path.join(logs, '20261201T050002-fedcba987654.jsonl');
    await firstFormatLog(path.basename(earlier), [tied('K2', e3, 11.5), tied('K3', e3, 12.5)]);
    await ingestFile({
      registry: env.fixture.registry,
      dataDir: env.fixture.dataDir,
      env: 'local',
      source: 'payments',
      file: earlier,
      pushTiledRows: 'all',
      pushLogs: [[0, '20261201T050002-fedcba987654']],
      allowDuplicate: true,
      absentColumnsAsNull: true,
    });
    await rm(earlier);
    expect((await env.materialize(e3 + minute))[0]?.status).toBe('succeeded');
    expect(await checkpoint(e3, { K2: 11.5, K3: 12.5 })).toEqual([]);

    // The commit records leave the first-format logs' keys out (a release before this one
    // refused them): the log ingested alone has none, the batch only the push's, after the log.
    const records = await env.records();
    const alone = records.find((r) => r.file.endsWith('20261201T050000-abcdef123456.jsonl'));
    expect(alone).toBeDefined();
    expect(alone?.pushLogs).toBeUndefined();
    const batch = records.filter((r) => path.basename(r.file).startsWith('batch-'));
    expect(batch.map((r) => r.pushLogs?.map(([offset]) => offset))).toEqual([[2]]);
  }, 600_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatMicros } from '../../lib/epoch-micros.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { paymentRow } from '../helpers/push-registry.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { minute, second, t0 } from '../helpers/tile-payment-rows.ts';

let dynamo: LocalDynamo;
const hour = 60n * minute;
const day = 24n * hour;

/** A row of `customer` at `event` (and created time `created`, null for none) worth `amount`. */
function tied(customer: string, event: bigint, created: bigint | null, amount: number) {
  return paymentRow(formatMicros(event), {
    customer_id: customer,
    amount,
    status: `s${amount}`,
    created_ts: created === null ? null : formatMicros(created),
  });
}

describe('`last` on a full tie (same event and created time) between pushed and batch rows, online as offline (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('serves the row ingested last, as the training set: later pushes, batch rows ingested before or after a push log, offline-only pushes', async () => {
    const env = await tileEnvironment(dynamo);
    /**
     * Lookups at instants after `event` (the raw edge minute, whole minutes, hours and days),
     * uncached and through one cache; the training set (every waiting log ingested first)
     * must equal them bit for bit, and `winners` name the amount `last` serves per customer.
     */
    const checkpoint = async (event: bigint, winners: Record<string, number>) => {
      const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
      const firstInstant = event - (event % 1000n) + 1000n;
      for (const after of [0n, 40n * second, 6n * minute, 3n * hour, 2n * day])
        for (const cached of [false, true]) {
          const at = firstInstant + after;
          lookups.push(...env.lookupRecords(at, await env.lookupAt(at, cached)));
        }
      const first = lookups.filter((o) => o.at === firstInstant);
      for (const [customer, amount] of Object.entries(winners))
        for (const o of first.filter((l) => l.customer === customer)) {
          expect(o.values.amount_last_10m, `${customer} at ${formatMicros(o.at)}`).toBe(amount);
          expect(o.values.status_last_1d).toBe(`s${amount}`);
        }
      return (await env.mismatches(lookups)).slice(0, 10);
    };

    // Round 1. K1: a batch row, then a pushed row tied with it: the push log is ingested after
    // the batch, so the push wins. K2: two pushes tied (no created time): the later wins. K3: a
    // push ingested by a run, then a batch row tied with it: the batch row wins.
    const e1 = t0 - 20n * day + hour + 123_457n;
    await env.fixture.ingest('payments', [tied('K1', e1, e1 + 3n, 1.5)]);
    await env.push(e1 + minute, [tied('K1', e1, e1 + 3n, 2.5), tied('K3', e1, e1 + 1n, 3.5)]);
    await env.push(e1 + minute, [tied('K2', e1, null, 4.5)]);
    await env.push(e1 + minute, [tied('K2', e1, null, 5.5)]);
    expect((await env.materialize(e1 + 2n * minute))[0]?.status).toBe('succeeded');
    await env.fixture.ingest('payments', [tied('K3', e1, e1 + 1n, 6.5)]);
    expect((await env.materialize(e1 + 3n * minute))[0]?.status).toBe('succeeded');
    expect(await checkpoint(e1, { K1: 2.5, K2: 5.5, K3: 6.5 })).toEqual([]);

    // Round 2. K1: a batch row in the base, then a push tied with it still waiting in its log.
    // K2: a push, a run, a batch row tied with it and a run (the batch row wins), then a third
    // tied row pushed after them (it wins).
    const e2 = t0 - 15n * day + 2n * hour + 7n * minute + 999_999n;
    await env.fixture.ingest('payments', [tied('K1', e2, e2, 7.5)]);
    await env.push(e2 + minute, [tied('K2', e2, e2 + 2n, 8.5)]);
    expect((await env.materialize(e2 + 2n * minute))[0]?.status).toBe('succeeded');
    await env.fixture.ingest('payments', [tied('K2', e2, e2 + 2n, 9.5)]);
    expect((await env.materialize(e2 + 3n * minute))[0]?.status).toBe('succeeded');
    await env.push(e2 + 4n * minute, [tied('K1', e2, e2, 10.5)]);
    expect(await checkpoint(e2, { K1: 10.5, K2: 9.5 })).toEqual([]);
    await env.push(e2 + 5n * minute, [tied('K2', e2, e2 + 2n, 11.5)]);
    expect(await checkpoint(e2, { K1: 10.5, K2: 11.5 })).toEqual([]);

    // Round 3: rows pushed "to": "offline" are the base's. K3: one pushed offline, then a push
    // to both stores tied with it (the later wins); K1: a push to both stores, then one pushed
    // offline tied with it, ingested in one batch of logs (the offline one wins).
    const e3 = t0 - 10n * day + 30n * second;
    await env.push(e3 + minute, [tied('K3', e3, e3, 12.5)], 'offline');
    await env.push(e3 + minute, [tied('K3', e3, e3, 13.5), tied('K1', e3, null, 14.5)]);
    await env.push(e3 + minute, [tied('K1', e3, null, 15.5)], 'offline');
    expect((await env.materialize(e3 + 2n * minute))[0]?.status).toBe('succeeded');
    expect(await checkpoint(e3, { K1: 15.5, K3: 13.5 })).toEqual([]);
  }, 600_000);

  it('orders a keyed push run again after its log was written but not its tiles by its first log, the one compaction ingests', async () => {
    const env = await tileEnvironment(dynamo);
    const e = t0 - 5n * day + 17n * second + 5n;
    const first = tied('K2', e, e + 1n, 1.25);
    const identity = { pushId: 'c'.repeat(32), idempotencyKey: 'payment-77' };
    // The first run writes its log, then every minute item write fails (the process dying there).
    const failing = new Proxy(env.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input?: { Key?: { pk?: { S?: string } } } }) => {
          if (command.input?.Key?.pk?.S?.includes('|raw#'))
            throw new Error('died before its tiles');
          return target.send(command as never);
        };
      },
    });
    await expect(
      env.push(e + minute, [first], 'online_and_offline', { identity, client: failing }),
    ).rejects.toThrow(/died before its tiles/);
    // Another push tied with it, then the keyed retry: offline the first log, then this one.
    await env.push(e + minute, [tied('K2', e, e + 1n, 2.25)]);
    await env.push(e + 2n * minute, [first], 'online_and_offline', { identity });
    const at = e - (e % 1000n) + 1000n;
    const lookups = [];
    for (const after of [0n, 6n * minute, 3n * hour])
      for (const cached of [false, true])
        lookups.push(...env.lookupRecords(at + after, await env.lookupAt(at + after, cached)));
    expect(lookups[1]?.values.amount_last_10m).toBe(2.25);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
  }, 120_000);
});

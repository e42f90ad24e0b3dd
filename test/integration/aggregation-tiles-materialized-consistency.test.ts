import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import type { IngestRecord } from '../../lib/offline/ingest-manifest.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { minute, rowsBetween, second, t0 } from '../helpers/tile-payment-rows.ts';

let dynamo: LocalDynamo;

describe('scheduled materialization writes the tiles of a tile-fed view from the offline store (issue 20)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers lookups bit for bit as the training set at random instants over batch-ingested and pushed rows, each counted once', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(2020);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 35n * 1440n * minute;
    for (let round = 0; round < 10; round++) {
      const gap =
        [30n * second, 7n * minute, 3n * 60n * minute, 2n * 1440n * minute][round % 4] ?? minute;
      const at = after + gap + BigInt(prng.int(1, 999_999));
      // Batch rows reach the tiles only through materialization; the first pushes are ingested
      // by it (their logs) and must not count twice; the later ones wait in their logs.
      await env.fixture.ingest('payments', rowsBetween(prng, after, at, prng.int(2, 8), taken));
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 4), taken));
      const [run] = await env.materialize(at);
      expect(run?.status).toBe('succeeded');
      await env.push(at, rowsBetween(prng, after, at, prng.int(0, 3), taken));
      const lastLookup = at + gap;
      const instants = Array.from(
        { length: 4 },
        () => at + BigInt(Math.floor(prng.next() * Number(lastLookup - at))),
      ).map((t) => t - (t % 1000n));
      // Window edges: an instant 10 minutes, 1 day or 30 days after a row, when one falls here.
      for (const w of [600n, 86_400n, 30n * 86_400n])
        for (const key of taken) {
          const edge = BigInt(key.split('|')[1] as string) + w * second;
          if (edge >= at && edge <= lastLookup && edge % 1000n === 0n) instants.push(edge);
          else if (edge >= at && edge <= lastLookup) instants.push(edge - (edge % 1000n) + 1000n);
        }
      for (const instant of instants.filter((t) => t >= at && t <= lastLookup).slice(0, 12)) {
        for (const cached of [false, true]) {
          const values = await env.lookupAt(instant, cached);
          lookups.push(...env.lookupRecords(instant, values));
        }
      }
      after = lastLookup;
    }
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    expect(lookups.length).toBeGreaterThan(150);
    const filled = lookups.filter((o) => (o.values.amount_count_30d as number) > 0).length;
    expect(filled).toBeGreaterThan(lookups.length / 2);
  }, 600_000);

  it('counts rows pushed "to": "offline" in the base, once, among batch rows and pushes to both stores: lookups equal the training set bit for bit', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(2021);
    const taken = new Set<string>();
    const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
    let after = t0 - 3n * 1440n * minute;
    for (let round = 0; round < 6; round++) {
      const gap = [40n * second, 9n * minute, 5n * 60n * minute][round % 3] ?? minute;
      const at = after + gap + BigInt(prng.int(1, 999_999));
      // Offline-only pushes on both sides of pushes to both stores, in one batch of logs and
      // alone, and batch rows: the run ingests every waiting log before it writes the base.
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken), 'offline');
      await env.fixture.ingest('payments', rowsBetween(prng, after, at, prng.int(1, 4), taken));
      await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken));
      if (round % 2 === 0)
        await env.push(at, rowsBetween(prng, after, at, prng.int(1, 3), taken), 'offline');
      const [run] = await env.materialize(at);
      expect(run?.status).toBe('succeeded');
      await env.push(at, rowsBetween(prng, after, at, prng.int(0, 2), taken));
      const lastLookup = at + gap;
      const instants = Array.from(
        { length: 5 },
        () => at + BigInt(Math.floor(prng.next() * Number(lastLookup - at))),
      ).map((t) => t - (t % 1000n));
      for (const instant of instants)
        for (const cached of [false, true])
          lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
      after = lastLookup;
    }
    // Batches of logs held rows of both kinds: their records name the rows tiled for `spend`.
    const spend = env.fixture.registry.featureViews.find((v) => v.name === 'spend');
    const tiledCount = (r: IngestRecord) =>
      (r.pushTiledRowsByView?.[spend?.onlineStore.keyPrefix ?? ''] ?? []).reduce(
        (n, [start, end]) => n + end - start,
        0,
      );
    const mixed = (await env.records()).filter(
      (r) => r.pushTiledRows && tiledCount(r) > 0 && tiledCount(r) < r.rows,
    );
    expect(mixed.length).toBeGreaterThan(0);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    const filled = lookups.filter((o) => (o.values.amount_count_1d as number) > 0).length;
    expect(filled).toBeGreaterThan(lookups.length / 2);
  }, 600_000);

  it('changes nothing when the same run is repeated, and a run at an older offline sequence never replaces a newer base', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(7);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    const olderRecords = await env.records();
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at - 2n * 1440n * minute, at, 12, taken),
    );
    expect((await env.materialize(t0))[0]?.status).toBe('succeeded');
    const written = await env.tileItems();
    expect(written.size).toBeGreaterThan(10);

    const again = await env.writeBases(await env.records());
    expect(again).toMatchObject({ entities: 3, itemsWritten: 0 });
    expect(again?.itemsAlreadyNewer).toBeGreaterThan(10);
    expect(await env.tileItems()).toEqual(written);

    const older = await env.writeBases(olderRecords);
    expect(older?.itemsWritten).toBe(0);
    expect(await env.tileItems()).toEqual(written);
    const values = await env.lookupAt(t0, false);
    expect(await env.mismatches(env.lookupRecords(t0, values))).toEqual([]);
    expect(values.every((v) => (v.amount_count_1d as number) > 0)).toBe(true);
  }, 120_000);

  it('completes a run that died between its tile writes and the write token: the rerun renews the token, so cached lookups are right again', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(11);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
    // The first lookup through a cache only sees the token; the second caches the items.
    await env.lookupAt(t0, true);
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * minute, at, 9, taken));
    await expect(
      env.materialize(at, {
        tileBaseBeforeToken: () => {
          throw new Error('killed before renewing the write token');
        },
      }),
    ).rejects.toThrow(/killed before renewing/);
    // The items hold the base, the token is the old one: a cache still answers what it held.
    const uncached = await env.lookupAt(t0, false);
    expect(uncached).not.toEqual(before);
    expect(await env.lookupAt(t0, true)).toEqual(before);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const cached = await env.lookupAt(t0, true);
    expect(cached).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, cached))).toEqual([]);
  }, 120_000);

  it('counts a batch ingest committed while the run takes its lease, which the run covers, in the tiles', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(17);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.fixture.ingest('payments', rowsBetween(prng, at - 30n * minute, at, 6, taken));
    const late = rowsBetween(prng, at - 30n * minute, at, 6, taken);
    // The run's first write is the lease on its state item: an ingest commits just before.
    let ingested = false;
    const client = new Proxy(env.client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: unknown) => {
          const key = command instanceof UpdateItemCommand ? command.input.Key?.pk?.S : undefined;
          if (!ingested && key?.startsWith('~fstore#materialization#')) {
            ingested = true;
            await env.fixture.ingest('payments', late);
          }
          return target.send(command as UpdateItemCommand);
        };
      },
    });
    expect((await env.materialize(at, { client }))[0]?.status).toBe('succeeded');
    expect(ingested).toBe(true);
    // The run wrote the late rows' entities (it covers that ingest): their tiles hold them too.
    const values = await env.lookupAt(t0, false);
    expect(await env.mismatches(env.lookupRecords(t0, values))).toEqual([]);
  }, 120_000);

  it("shows a run's tiles through a warm cache as soon as the run returns", async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(13);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 30n * minute, at, 6, taken));
    await env.lookupAt(t0, true);
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 30n * minute, at, 9, taken));
    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const after = await env.lookupAt(t0, true);
    const counted = (values: Record<string, unknown>[]) =>
      values.reduce((n, v) => n + (v.amount_count_1d as number), 0);
    expect(counted(after)).toBeGreaterThan(counted(before));
    expect(after).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, after))).toEqual([]);
  }, 120_000);

  it('completes a run killed (SIGKILL) between its tile writes and the write token: the rerun takes over its lease and renews the token', async () => {
    const env = await tileEnvironment(dynamo);
    const prng = new Prng(17);
    const taken = new Set<string>();
    const at = t0 - 5n * minute;
    await env.push(at, rowsBetween(prng, at - 20n * minute, at, 6, taken));
    // The first lookup through a cache only sees the token; the second caches the items.
    await env.lookupAt(t0, true);
    const before = await env.lookupAt(t0, true);
    await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * minute, at, 9, taken));
    const killed = await env.materializeInChild(at, 'materialize:tiles-before-token');
    expect(killed.signal, killed.out).toBe('SIGKILL');
    expect(await env.lookupAt(t0, false)).not.toEqual(before);
    expect(await env.lookupAt(t0, true)).toEqual(before);

    expect((await env.materialize(at))[0]?.status).toBe('succeeded');
    const cached = await env.lookupAt(t0, true);
    expect(cached).toEqual(await env.lookupAt(t0, false));
    expect(await env.mismatches(env.lookupRecords(t0, cached))).toEqual([]);
  }, 120_000);
});

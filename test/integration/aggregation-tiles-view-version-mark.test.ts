import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { customers, minute, rowsBetween, t0 } from '../helpers/tile-payment-rows.ts';
import { type TileDefinitionOptions, tileDefinitions } from '../helpers/tile-registry.ts';

let dynamo: LocalDynamo;

const registryOf = (options: TileDefinitionOptions) =>
  compileRegistry(tileDefinitions(options).map((definition) => ({ definition })));

type Env = Awaited<ReturnType<typeof tileEnvironment>>;

/** Lookups of every customer at instants in the hour after `at`, with and without cache. */
async function lookupsAfter(env: Env, prng: Prng, at: bigint) {
  const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
  for (let i = 0; i < 4; i++) {
    const instant = at + BigInt(prng.int(0, 3_600_000)) * 1000n;
    for (const cached of [false, true])
      lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
  }
  return lookups;
}

/** The 1-day count over every customer in the first lookup (uncached). */
const dayCount = (lookups: Awaited<ReturnType<typeof lookupsAfter>>) =>
  lookups
    .slice(0, customers.length)
    .reduce((n, o) => n + Number(o.values.amount_count_1d as number), 0);

/**
 * The tiled mark of a pushed row names the view versions whose tiles its push wrote (ADR 0020,
 * "Pushed rows in the base"): a view version whose tiles never held the row counts it in its
 * base, once.
 */
describe('rows pushed to the tiles of one view version are in the base of every other (issue 20, local)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('counts rows pushed to the previous version of a view in the base of its new version (a window added)', async () => {
    const env = await tileEnvironment(dynamo, { weekWindow: true });
    const previous = registryOf({});
    const prefix = (r: typeof previous) =>
      r.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix;
    expect(prefix(previous)).not.toBe(prefix(env.fixture.registry));
    const prng = new Prng(5050);
    const taken = new Set<string>();
    const at = t0 - 10n * minute;
    await env.push(
      at - 5n * minute,
      rowsBetween(prng, at - 60n * minute, at - 5n * minute, 3, taken),
      'online_and_offline',
      { registry: previous },
    );
    expect((await env.materialize(at - 4n * minute, { registry: previous }))[0]?.status).toBe(
      'succeeded',
    );
    // The push's ingest names the tiles it wrote: the previous version's, not the new one's.
    const [pushed] = (await env.records()).filter((r) => r.pushTiledRows !== undefined);
    expect(pushed?.pushTiledRowsByView).toEqual({ [prefix(previous) as string]: [[0, 3]] });

    const [run] = await env.materialize(at);
    expect(run?.status).toBe('succeeded');
    expect(run?.scope?.kind).toBe('full');
    const lookups = await lookupsAfter(env, prng, at);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    expect(dayCount(lookups)).toBe(3);
  }, 300_000);

  it('counts rows pushed while another view of the source was tile-fed in the base of a view that gains onlineTiles', async () => {
    const env = await tileEnvironment(dynamo, { twin: true });
    const before = registryOf({ twin: true, onlineTiles: false });
    const prng = new Prng(5051);
    const taken = new Set<string>();
    const at = t0 - 10n * minute;
    await env.push(
      at - 5n * minute,
      rowsBetween(prng, at - 60n * minute, at - 5n * minute, 3, taken),
      'online_and_offline',
      { registry: before },
    );
    expect((await env.materialize(at - 4n * minute, { registry: before }))[0]?.status).toBe(
      'succeeded',
    );
    const twin = before.featureViews.find((v) => v.name === 'spend_twin')?.onlineStore.keyPrefix;
    const [pushed] = (await env.records()).filter((r) => r.pushTiledRows !== undefined);
    expect(pushed?.pushTiledRowsByView).toEqual({ [twin as string]: [[0, 3]] });

    const [run] = await env.materialize(at);
    expect(run?.scope).toEqual({ kind: 'full', reason: 'the tiles have no base yet' });
    const lookups = await lookupsAfter(env, prng, at);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    expect(dayCount(lookups)).toBe(3);
  }, 300_000);
});

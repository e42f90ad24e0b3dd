import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../lib/demo/prng.ts';
import { type LocalDynamo, startDynalite } from '../../lib/local/dynalite-server.ts';
import { MaterializationStateStore } from '../../lib/materialize/materialization-state.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { tileEnvironment } from '../helpers/tile-materialization-environment.ts';
import { customers, minute, rowsBetween, t0 } from '../helpers/tile-payment-rows.ts';
import { tileDefinitions } from '../helpers/tile-registry.ts';

let dynamo: LocalDynamo;

// Without days_since_last, whose aging would make every run read every entity in its window.
const variant = { daysSinceLast: false };

/** `spend` as it was before it gained `onlineTiles`. */
const untiled = () =>
  compileRegistry(
    tileDefinitions({ ...variant, onlineTiles: false }).map((definition) => ({ definition })),
  );

type Env = Awaited<ReturnType<typeof tileEnvironment>>;

/**
 * Runs of the untiled `spend` over rows of every customer, then rows of K1 only: the next run's
 * incremental query would change K1 alone.
 */
async function untiledHistory(env: Env, prng: Prng, taken: Set<string>, at: bigint) {
  const plain = untiled();
  await env.fixture.ingest('payments', rowsBetween(prng, at - 20n * 1440n * minute, at, 18, taken));
  await env.push(at - 3n * minute, rowsBetween(prng, at - 1440n * minute, at, 4, taken), 'offline');
  expect((await env.materialize(at - 2n * minute, { registry: plain }))[0]?.status).toBe(
    'succeeded',
  );
  for (const c of customers) expect([...taken].some((k) => k.startsWith(`${c}|`))).toBe(true);
  const k1 = rowsBetween(prng, at - 60n * minute, at, 12, taken).filter(
    (row) => row.customer_id === 'K1',
  );
  expect(k1.length).toBeGreaterThan(0);
  await env.fixture.ingest('payments', k1);
}

/** Lookups of every customer at random instants in the hour after `at`, with and without cache. */
async function lookupsAfter(env: Env, prng: Prng, at: bigint) {
  const lookups: { at: bigint; customer: string; values: Record<string, unknown> }[] = [];
  for (let i = 0; i < 6; i++) {
    const instant = at + BigInt(prng.int(0, 3_600_000)) * 1000n;
    for (const cached of [false, true])
      lookups.push(...env.lookupRecords(instant, await env.lookupAt(instant, cached)));
  }
  return lookups;
}

const tileState = (env: Env) =>
  new MaterializationStateStore(
    env.client,
    env.table,
    env.fixture.registry.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix ?? '',
  ).read();

/** A client counting the UpdateItems sent to each customer's tile items. */
function countingTileWrites(client: DynamoDBClient) {
  const writes = new Map<string, number>();
  const counting = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: unknown) => {
        const key = command instanceof UpdateItemCommand ? command.input.Key?.pk?.S : undefined;
        const customer = key && /\|(raw|tiles)#/.test(key) ? /K\d/.exec(key)?.[0] : undefined;
        if (customer) writes.set(customer, (writes.get(customer) ?? 0) + 1);
        return target.send(command as UpdateItemCommand);
      };
    },
  });
  return { client: counting, writes };
}

describe('a view that gains onlineTiles gets the base of every entity on its next run (issue 20, local)', () => {
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.close());

  it('answers lookups bit for bit as the training set after one run, for the entities the run did not change too', async () => {
    const env = await tileEnvironment(dynamo, variant);
    const prng = new Prng(4040);
    const taken = new Set<string>();
    const at = t0 - 10n * minute;
    await untiledHistory(env, prng, taken, at);
    // Gaining onlineTiles keeps the view's version: the same items and state.
    const prefix = (r: typeof env.fixture.registry) =>
      r.featureViews.find((v) => v.name === 'spend')?.onlineStore.keyPrefix;
    expect(prefix(untiled())).toBe(prefix(env.fixture.registry));
    expect((await tileState(env)).tileBases).toBeUndefined();

    const [run] = await env.materialize(at);
    expect(run?.status).toBe('succeeded');
    expect(run?.scope).toEqual({ kind: 'full', reason: 'the tiles have no base yet' });
    expect(run?.counts.rowsRead).toBe(customers.length);
    expect((await tileState(env)).tileBases).toBe(true);

    const lookups = await lookupsAfter(env, prng, at);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
    for (const c of ['K2', 'K3'])
      expect(
        lookups.some((o) => o.customer === c && (o.values.amount_count_30d as number) > 0),
      ).toBe(true);
  }, 300_000);

  it('is completed by the rerun after a SIGKILL midway through the backfill, and marks the view only then', async () => {
    const env = await tileEnvironment(dynamo, variant);
    const prng = new Prng(4041);
    const taken = new Set<string>();
    const at = t0 - 10n * minute;
    await untiledHistory(env, prng, taken, at);

    // One entity per chunk: killed after the first chunk's checkpoint, K2 and K3 have no base.
    const killed = await env.materializeInChild(at, 'materialize:after-checkpoint', 1);
    expect(killed.signal, killed.out).toBe('SIGKILL');
    const stopped = await tileState(env);
    expect(stopped.tileBases).toBeUndefined();
    expect(stopped.checkpoint?.afterKey).toEqual(['K1']);

    const [rerun] = await env.materialize(at);
    expect(rerun?.status).toBe('succeeded');
    expect(rerun?.resumed).toBe(true);
    expect((await tileState(env)).tileBases).toBe(true);
    const lookups = await lookupsAfter(env, prng, at);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
  }, 300_000);

  it('does not backfill again on the next run, and does once more after runs without tiles', async () => {
    const env = await tileEnvironment(dynamo, variant);
    const prng = new Prng(4042);
    const taken = new Set<string>();
    const at = t0 - 10n * minute;
    await untiledHistory(env, prng, taken, at);
    expect((await env.materialize(at))[0]?.scope?.kind).toBe('full');

    const k1 = rowsBetween(prng, at, at + 5n * minute, 9, taken).filter(
      (row) => row.customer_id === 'K1',
    );
    await env.fixture.ingest('payments', k1);
    const second = countingTileWrites(env.client);
    const [run] = await env.materialize(at + 6n * minute, { client: second.client });
    expect(run?.scope?.kind).toBe('incremental');
    expect(run?.counts.rowsRead).toBe(1);
    expect(second.writes.get('K1')).toBeGreaterThan(0);
    expect([second.writes.get('K2') ?? 0, second.writes.get('K3') ?? 0]).toEqual([0, 0]);

    // onlineTiles removed for a run, rows of K2 meanwhile, onlineTiles back: backfilled again.
    const later = at + 20n * minute;
    await env.fixture.ingest(
      'payments',
      rowsBetween(prng, at + 6n * minute, later, 9, taken).filter((r) => r.customer_id === 'K2'),
    );
    expect((await env.materialize(later, { registry: untiled() }))[0]?.scope?.kind).toBe(
      'incremental',
    );
    expect((await tileState(env)).tileBases).toBeUndefined();
    const [again] = await env.materialize(later + minute);
    expect(again?.scope).toEqual({ kind: 'full', reason: 'the tiles have no base yet' });
    const lookups = await lookupsAfter(env, prng, later + minute);
    expect((await env.mismatches(lookups)).slice(0, 10)).toEqual([]);
  }, 300_000);
});

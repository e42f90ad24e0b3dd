import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { Prng } from '../../lib/demo/prng.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const source = (name: string) =>
  defineSource({
    name,
    schema: { customer_id: 'string', amount: 'int64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
  });
const views = ['orders', 'refunds', 'visits'].map((name, i) =>
  defineFeatureView({
    name: `${name}_view`,
    entities: [customer],
    source: source(name),
    features: { amount: 'int64' },
    ...(i === 2 ? {} : { ttl: `${i + 1}d` }),
  }),
);

const start = Date.UTC(2026, 2, 1);
const hour = 3_600_000;
const at = (ms: number) => new Date(ms).toISOString();

describe('ASOF chain of several views', () => {
  it('gives each view the rows it gives alone, entity columns and row order kept', async () => {
    const prng = new Prng(7, 16);
    const customers = ['C1', 'C2', 'C3', 'C4'];
    const fixture = await offlineFixture(views);
    for (const name of ['orders', 'refunds', 'visits'])
      await fixture.ingest(
        name,
        Array.from({ length: 120 }, () => ({
          customer_id: prng.pick(customers),
          amount: prng.int(0, 1_000_000),
          event_ts: at(start + prng.int(0, 5 * 24) * hour),
        })),
      );
    // Random times (not in time order), unknown and NULL keys, labels of several types.
    const entities = Array.from({ length: 200 }, (_, i) => ({
      customer_id: prng.chance(0.1) ? null : prng.pick([...customers, 'C9']),
      event_timestamp: at(start + prng.int(-12, 6 * 24) * hour),
      label: prng.chance(0.2) ? null : `L${i}`,
      weight: i / 4,
    }));
    const features = views.map((v) => `${v.name}:amount`);
    const together = await fixture.trainingSet(entities, {
      request: { features },
      fullFeatureNames: true,
      strategy: 'asof',
    });

    const alone = await Promise.all(
      features.map((feature) =>
        fixture.trainingSet(entities, {
          request: { features: [feature] },
          fullFeatureNames: true,
          strategy: 'asof',
        }),
      ),
    );
    const expected = entities.map((_, row) =>
      Object.assign({}, ...alone.map((run) => run.records?.[row])),
    );
    expect(together.records).toEqual(expected);
    expect(together.records?.map((r) => r.label)).toEqual(entities.map((e) => e.label));
    expect(together.matchRates.map((m) => m.matched)).toEqual(
      alone.map((run) => run.matchRates[0]?.matched),
    );
  });
});

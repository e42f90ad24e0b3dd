import { describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { compileRegistry } from '../../lib/registry/index.ts';
import { offlineRetentions } from '../../lib/stacks/offline-retentions.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const source = (name: string, retention?: string) =>
  defineSource({
    name,
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
    ...(retention ? { retention } : {}),
  });
const orders = source('orders', '365d');
const clicks = source('clicks');
const registry = compileRegistry(
  [
    customer,
    orders,
    clicks,
    defineFeatureView({
      name: 'last_click',
      entities: [customer],
      source: clicks,
      features: { amount: 'float64' },
      ttl: '30d',
      online: true,
      schedule: 'rate(1 hour)',
    }),
  ].map((definition) => ({ definition })),
);

describe('offlineRetentions (what the scheduled retention deletes)', () => {
  it("takes each source's own retention, and leaves out sources without one by default", () => {
    expect(offlineRetentions(registry, resolveStageConfig('dev'))).toEqual({
      orders: 365 * 86_400,
    });
  });

  it("gives the stage's offline.retention to sources that declare none", () => {
    const stage = resolveStageConfig('prod', { offline: { retention: '90d' } });
    expect(offlineRetentions(registry, stage)).toEqual({
      orders: 365 * 86_400,
      clicks: 90 * 86_400,
    });
  });

  it("refuses at synth a stage default shorter than a view's ttl, naming the view", () => {
    const stage = resolveStageConfig('dev', { offline: { retention: '7d' } });
    expect(() => offlineRetentions(registry, stage)).toThrow(
      `stage config "dev": view "last_click" ttl: ttl "30d" is longer than the stage's offline.retention "7d"`,
    );
  });
});

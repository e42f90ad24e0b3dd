import { describe, expect, it } from 'vitest';
import {
  defineAggregationView,
  defineFeatureView,
  defineSource,
  type SourceInput,
} from '../../../lib/definitions/index.ts';
import { retentionConflicts } from '../../../lib/definitions/retention.ts';
import { customer, expectRejected } from './fixtures.ts';

const source = (extra: Partial<SourceInput>) =>
  defineSource({
    name: 'orders',
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
    ...extra,
  });

describe('defineSource retention', () => {
  it('keeps a retention and its seconds', () => {
    const s = source({ retention: '365d' });
    expect(s.retention).toBe('365d');
    expect(s.retentionSeconds).toBe(365 * 86_400);
  });

  it('means keep forever when absent', () => {
    expect(Object.keys(source({}))).not.toContain('retention');
  });

  it.each(['0d', '-1d', '1y', '30', '', '1.5d'])(
    'rejects the retention "%s" that is not a positive duration, naming the source and the field',
    (text) => {
      expectRejected(() => source({ retention: text }), {
        definition: 'source "orders"',
        field: 'retention',
        message: `${JSON.stringify(text)} is not a duration`,
        hint: 'leave retention out to keep rows forever',
      });
    },
  );
});

describe('retention against the online TTL', () => {
  const retained = source({ retention: '90d' });
  const passthrough = (extra: { ttl?: string; online?: boolean }) => () =>
    defineFeatureView({
      name: 'spend',
      entities: [customer],
      source: retained,
      features: { amount: 'float64' },
      ...(extra.online ? { schedule: 'rate(1 hour)' } : {}),
      ...extra,
    });

  it('accepts an online view whose ttl is at most the retention', () => {
    expect(passthrough({ ttl: '90d', online: true })().ttlSeconds).toBe(90 * 86_400);
    expect(passthrough({ ttl: '12w', online: true })().ttl).toBe('12w');
  });

  it('refuses an online view whose ttl is longer than its source retention', () => {
    expectRejected(passthrough({ ttl: '91d', online: true }), {
      definition: 'feature view "spend"',
      field: 'ttl',
      message: 'ttl "91d" is longer than source "orders" retention "90d"',
      hint: 'lower ttl to at most 90d',
    });
  });

  it('refuses an online view without ttl on a source with a retention (it would serve forever)', () => {
    expectRejected(passthrough({ online: true }), {
      definition: 'feature view "spend"',
      field: 'ttl',
      message: 'an online view without ttl serves a value forever',
      hint: 'declare ttl: "90d" or shorter',
    });
  });

  it('accepts an offline-only view with any ttl (training sets read what is stored)', () => {
    expect(passthrough({ ttl: '400d' })().online).toBe(false);
    expect(passthrough({})().ttl).toBeUndefined();
  });

  it('refuses an aggregation window longer than the retention, online or not', () => {
    expectRejected(
      () =>
        defineAggregationView({
          name: 'spend_windows',
          entities: [customer],
          source: retained,
          aggregations: { amount: { functions: ['sum'], windows: ['30d', '180d'] } },
        }),
      {
        definition: 'feature view "spend_windows"',
        field: 'aggregations.amount_sum_180d',
        message: 'window "180d" is longer than source "orders" retention "90d"',
        hint: 'use windows of at most 90d',
      },
    );
  });

  it('checks a view against an environment default retention the same way', () => {
    const view = passthrough({ ttl: '30d', online: true })();
    expect(retentionConflicts(view, 30 * 86_400, 'the environment default "30d"')).toEqual([]);
    expect(retentionConflicts(view, 7 * 86_400, 'the environment default "7d"')).toEqual([
      expect.objectContaining({ field: 'ttl', message: expect.stringContaining('"7d"') }),
    ]);
    expect(retentionConflicts(view, undefined, 'none')).toEqual([]);
  });
});

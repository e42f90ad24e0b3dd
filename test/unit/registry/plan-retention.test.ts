import { describe, expect, it } from 'vitest';
import { defineSource } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { planRegistryChanges } from '../../../lib/registry/plan.ts';

const registry = (retention?: string) =>
  compileRegistry([
    {
      definition: defineSource({
        name: 'orders',
        schema: { customer_id: 'string', event_ts: 'timestamp' },
        timestampField: 'event_ts',
        ...(retention ? { retention } : {}),
      }),
    },
  ]);
const retentionChange = (before?: string, after?: string) =>
  planRegistryChanges(registry(before), registry(after))
    .changes.find((c) => c.name === 'orders')
    ?.fields.find((f) => f.field === 'retention');

describe('fstore plan of a source retention', () => {
  it('keeps the retention in the compiled registry', () => {
    expect(registry('90d').sources[0]).toMatchObject({
      retention: '90d',
      retentionSeconds: 90 * 86_400,
    });
  });

  it('says a new or shorter retention deletes rows at the next run', () => {
    expect(retentionChange(undefined, '365d')).toMatchObject({
      action: 'add',
      to: '365d',
      level: 'safe',
      reason: expect.stringContaining('deletes rows older than 365d'),
    });
    expect(retentionChange('365d', '90d')).toMatchObject({
      action: 'change',
      reason: expect.stringContaining('deletes rows older than 90d'),
    });
  });

  it('says a longer or removed retention brings nothing back', () => {
    expect(retentionChange('90d', '365d')?.reason).toContain('rows already deleted stay deleted');
    expect(retentionChange('90d', undefined)).toMatchObject({ action: 'remove' });
  });
});

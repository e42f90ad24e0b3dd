import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { encodeEntityKey, partitionKey } from '../../../lib/online/entity-key.ts';
import {
  lookupFeatures,
  maxExpressionBytes,
  projectionFor,
} from '../../../lib/online/online-lookup.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

const dynamo = mockClient(DynamoDBClient);
const table = 'fstore-dev-online';
const now = () => Date.parse('2026-03-02T00:00:00Z');
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});

/** One online view of `count` float64 features named f_0 … f_<count-1>. */
function wideView(count: number) {
  const names = Array.from({ length: count }, (_, i) => `f_${i}`);
  const features = Object.fromEntries(names.map((n) => [n, 'float64' as const]));
  const source = defineSource({
    name: 'wide',
    schema: { customer_id: 'string', event_ts: 'timestamp', ...features },
    timestampField: 'event_ts',
  });
  const registry = compileRegistry([
    {
      definition: defineFeatureView({
        name: 'wide',
        entities: [customer],
        source,
        features,
        online: true,
        schedule: 'rate(1 hour)',
      }),
    },
  ]);
  const view = registry.featureViews[0];
  if (!view) throw new Error('view missing');
  return { registry, view, names };
}

/** The placeholders an expression uses are exactly the names it is given (DynamoDB's rule). */
function placeholders(expression: string): string[] {
  return [...new Set(expression.match(/#[A-Za-z0-9_]+/g) ?? [])].sort();
}

describe('online lookup projection and the 4 KB expression limit', () => {
  beforeEach(() => dynamo.reset());

  it('projects each feature while the expression fits in 4 KB (419 features: 4,087 bytes)', () => {
    const { view } = wideView(419);
    const projection = projectionFor([view]);
    const expression = projection.ProjectionExpression ?? '';
    expect(expression.length).toBe(4087);
    expect(expression).toContain('#f.#f418');
    expect(placeholders(expression)).toEqual(
      Object.keys(projection.ExpressionAttributeNames ?? {}).sort(),
    );
  });

  it('projects the features map whole past 4 KB (420 and 1,000 features), using only the names it gives', () => {
    for (const count of [420, 1000]) {
      const projection = projectionFor([wideView(count).view]);
      const expression = projection.ProjectionExpression ?? '';
      expect(Buffer.byteLength(expression)).toBeLessThanOrEqual(maxExpressionBytes);
      expect(expression).toBe('#pk, #e, #f');
      expect(projection.ExpressionAttributeNames).toEqual({
        '#pk': 'pk',
        '#e': 'event_ts',
        '#f': 'f',
      });
    }
  });

  it('returns the same features for a 500-feature view as for a narrow one', async () => {
    const { registry, view, names } = wideView(500);
    const pk = partitionKey(
      view.onlineStore.keyPrefix,
      encodeEntityKey(view.joinKeys, { customer_id: 'C1' }),
    );
    dynamo.on(BatchGetItemCommand).resolves({
      Responses: {
        [table]: [
          {
            pk: { S: pk },
            event_ts: { N: '1772323200000000' },
            f: { M: Object.fromEntries(names.map((n, i) => [n, { N: String(i) }])) },
          },
        ],
      },
    });
    const [result] = await lookupFeatures(
      new DynamoDBClient({}),
      table,
      registry,
      {
        views: [
          {
            view: 'wide',
            features: [
              { feature: 'f_0', outputName: 'first' },
              { feature: 'f_499', outputName: 'last' },
            ],
          },
        ],
        entities: [{ customer_id: 'C1' }],
      },
      { now },
    );
    expect(result?.first).toMatchObject({ value: 0, status: 'PRESENT' });
    expect(result?.last).toMatchObject({ value: 499, status: 'PRESENT' });
    const sent = dynamo.commandCalls(BatchGetItemCommand)[0]?.args[0].input.RequestItems?.[table];
    expect((sent?.ProjectionExpression ?? '').length).toBeLessThanOrEqual(maxExpressionBytes);
  });
});

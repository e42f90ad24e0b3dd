import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handlePush } from '../../../lib/push/handle-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import {
  pushRegistryProjection,
  type RuntimeRegistry,
} from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const dynamo = mockClient(DynamoDBClient);
const at = new Date(Date.now() - 3_600_000).toISOString();
const base = pushRegistryProjection(pushRegistry());

beforeEach(() => {
  dynamo.reset();
  dynamo.on(PutItemCommand).resolves({});
});

/** `last_payment` gains a derived feature (`amount * 100`). */
function withDerivedView(): RuntimeRegistry {
  return {
    ...base,
    featureViews: base.featureViews.map((v) =>
      v.name === 'last_payment'
        ? {
            ...v,
            features: [...v.features, { ...v.features[0], name: 'cents', expr: 'amount * 100' }],
          }
        : v,
    ),
  } as RuntimeRegistry;
}

/** `payments` declares a row filter. */
function withFilteredSource(): RuntimeRegistry {
  return {
    ...base,
    sources: base.sources.map((s) =>
      s.name === 'payments' ? { ...s, filter: "status <> 'refunded'" } : s,
    ),
  } as RuntimeRegistry;
}

async function push(registry: RuntimeRegistry, to: string) {
  const answer = await handlePush(
    {
      method: 'POST',
      path: '/v1/push/payments',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ to, rows: [paymentRow(at)] }),
    },
    {
      registry,
      limits: defaultPushLimits,
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      table: 'fstore-dev-online',
    },
  );
  return { status: answer.statusCode, body: JSON.parse(answer.body) };
}

const tableItemsFor = (view: string) =>
  dynamo
    .commandCalls(PutItemCommand)
    .filter((c) => JSON.stringify(c.args[0].input.Item).includes(view));

describe('pushes into sources that expressions or filters read', () => {
  it('leave a view with derived features to materialization, say so, and still write the plain views', async () => {
    const { status, body } = await push(withDerivedView(), 'online');
    expect(status).toBe(200);
    expect(body.online.notUpdated).toContainEqual({
      view: 'last_payment',
      reason: expect.stringContaining('derived features (expr)'),
    });
    expect(body.online.views.map((v: { view: string }) => v.view)).toEqual(['account_flag']);
    expect(tableItemsFor('last_payment')).toHaveLength(0);
    expect(tableItemsFor('account_flag')).toHaveLength(1);
  });

  it('write the same views as before when no view is derived', async () => {
    const { status, body } = await push(base, 'online');
    expect(status).toBe(200);
    expect(body.online.views.map((v: { view: string }) => v.view).sort()).toEqual([
      'account_flag',
      'last_payment',
    ]);
  });

  it('refuse an online push into a source with a row filter, naming the filter and the fix, and write nothing', async () => {
    const { status, body } = await push(withFilteredSource(), 'online');
    expect(status).toBe(400);
    expect(body.error.code).toBe('SOURCE_FILTERED');
    expect(body.error.message).toContain('row filter');
    expect(body.error.message).toContain('"to": "offline"');
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});

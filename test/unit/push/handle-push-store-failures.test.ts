import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DamagedTileItemError } from '../../../lib/online/aggregation-tiles/damaged-tile-item.ts';
import { handlePush } from '../../../lib/push/handle-push.ts';
import { IdempotencyStoreError, type PushIdempotency } from '../../../lib/push/push-idempotency.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const dynamo = mockClient(DynamoDBClient);
const registry = pushRegistryProjection(pushRegistry());
const at = new Date(Date.now() - 3_600_000).toISOString();

function request(key?: string) {
  return {
    method: 'POST',
    path: '/v1/push/payments',
    headers: {
      'content-type': 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify({ to: 'online', rows: [paymentRow(at)] }),
    requestId: 'req-1',
  };
}

function deps(idempotency?: PushIdempotency) {
  return {
    registry,
    limits: defaultPushLimits,
    client: new DynamoDBClient({ region: 'eu-west-1' }),
    table: 'fstore-dev-online',
    ...(idempotency ? { idempotency } : {}),
  };
}

beforeEach(() => dynamo.reset());
afterEach(() => vi.restoreAllMocks());

describe('handlePush’s 503 answers name the store that failed', () => {
  it('says the Idempotency-Key store failed when the key records fail, not the online store', async () => {
    const failing = {
      run: async () => {
        throw new IdempotencyStoreError('records table throttled');
      },
    } as unknown as PushIdempotency;
    const answer = await handlePush(request('key-1'), deps(failing));
    expect(answer.statusCode).toBe(503);
    const { error } = JSON.parse(answer.body);
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('the Idempotency-Key store');
    expect(error.message).not.toContain('online store');
    expect(error.details).toEqual({ requestId: 'req-1' });
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('says the online store failed when its writes keep being throttled', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no backoff sleeps
    dynamo
      .on(PutItemCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow', $metadata: {} }));
    const answer = await handlePush(request(), deps());
    expect(answer.statusCode).toBe(503);
    const { error } = JSON.parse(answer.body);
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('the online store failed during the push');
    expect(error.message).not.toContain('Idempotency-Key');
  });

  it('answers a damaged tile item as a 500 naming it, without Retry-After (a retry meets the same item)', async () => {
    const damaged = {
      run: async () => {
        throw new DamagedTileItemError(
          'the rows of minute item tile#payments#C1#m#29000000 are damaged: not a list',
        );
      },
    } as unknown as PushIdempotency;
    const answer = await handlePush(request('key-2'), deps(damaged));
    expect(answer.statusCode).toBe(500);
    expect(answer.headers?.['retry-after']).toBeUndefined();
    const { error } = JSON.parse(answer.body);
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toContain('the online store holds a damaged item');
    expect(error.message).toContain('tile#payments#C1#m#29000000');
    expect(error.details).toEqual({ requestId: 'req-1' });
  });
});

import {
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { MaterializationStateStore } from '../../../lib/materialize/materialization-state.ts';

// How the state is read, beyond what dynalite can show (it has no eventually consistent reads):
// from a Stryker run of materialization-state.ts whose ConsistentRead and lease-decoding
// mutants survived the dynalite tests.

const dynamo = mockClient(DynamoDBClient);
afterEach(() => dynamo.reset());

function storeReturning(item: Record<string, { S: string } | { N: string }> | undefined) {
  dynamo.on(GetItemCommand).resolves({ Item: item });
  return new MaterializationStateStore(new DynamoDBClient({}), 'online', 'profile#v1', () => 0);
}

describe('reading the materialization state', () => {
  it('asks for a strongly consistent read (a lease or checkpoint just written must be seen)', async () => {
    await storeReturning(undefined).read();
    const [call] = dynamo.commandCalls(GetItemCommand);
    expect(call?.args[0].input).toMatchObject({ TableName: 'online', ConsistentRead: true });
  });

  it('sees a lease only when the item has both its owner and its expiry', async () => {
    const expiry = { lease_expires_at: { N: '1000' } };
    const owner = { lease_owner: { S: 'run-1' } };
    expect((await storeReturning({ ...owner, ...expiry }).read()).lease).toEqual({
      owner: 'run-1',
      expiresAt: 1000,
    });
    expect(await storeReturning(owner).read()).toEqual({});
    expect(await storeReturning(expiry).read()).toEqual({});
  });

  it('passes on a failed lease write that is not a held lease, even when the state reads well', async () => {
    const throttled = new ProvisionedThroughputExceededException({
      message: 'throttled',
      $metadata: {},
    });
    dynamo.on(UpdateItemCommand).rejects(throttled);
    await expect(storeReturning(undefined).acquire('run-1', 1000)).rejects.toBe(throttled);
  });
});

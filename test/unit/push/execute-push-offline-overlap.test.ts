import { DynamoDBClient, type PutItemInput } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { executePush } from '../../../lib/push/execute-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const registry = pushRegistryProjection(pushRegistry());
const at = new Date(Date.now() - 3_600_000).toISOString();

/** What happened, in order: 'log in place', 'put', 'folder synced', 'answered'. */
function recordingStore() {
  const events: string[] = [];
  let syncFolder = () => {};
  const folderSynced = new Promise<void>((resolve) => {
    syncFolder = () => {
      events.push('folder synced');
      resolve();
    };
  });
  const store = {
    registry,
    online: {
      client: new DynamoDBClient({ region: 'eu-west-1' }),
      putItem: async (_input: PutItemInput) => {
        events.push('put');
      },
      table: 'fstore-dev-online',
    },
    offline: async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push('log in place');
      return { durable: folderSynced };
    },
  };
  return { events, store, syncFolder };
}

const push = (store: ReturnType<typeof recordingStore>['store']) =>
  executePush(store, defaultPushLimits, 'payments', {
    rows: [paymentRow(at)],
    to: 'online_and_offline',
  });

describe('executePush to both stores', () => {
  it('sends no put before the push log is in place under its name', async () => {
    const { events, store, syncFolder } = recordingStore();
    const answered = push(store);
    await new Promise((resolve) => setTimeout(resolve, 20));
    syncFolder();
    await answered;
    expect(events.indexOf('log in place')).toBeLessThan(events.indexOf('put'));
  });

  it('sends the online puts while the log folder is being synced, and answers only after both', async () => {
    const { events, store, syncFolder } = recordingStore();
    const answered = push(store).then((answer) => {
      events.push('answered');
      return answer;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Two online views read payments: one put each.
    expect(events).toEqual(['log in place', 'put', 'put']);
    syncFolder();
    const answer = await answered;
    expect(events).toEqual(['log in place', 'put', 'put', 'folder synced', 'answered']);
    expect(answer).toMatchObject({ rows: 1, online: { written: 2 }, offline: { rows: 1 } });
  });
});

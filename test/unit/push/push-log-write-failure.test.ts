import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handlePush } from '../../../lib/push/handle-push.ts';
import { defaultPushLimits } from '../../../lib/push/push-limits.ts';
import { placePushLog } from '../../../lib/push/push-log.ts';
import { pushRegistryProjection } from '../../../lib/registry/runtime-projection.ts';
import { paymentRow, pushRegistry } from '../../helpers/push-registry.ts';

const dynamo = mockClient(DynamoDBClient);
const registry = pushRegistryProjection(pushRegistry());
const at = new Date(Date.now() - 3_600_000).toISOString();

beforeEach(() => dynamo.reset());

/** A data directory that cannot hold a push log: its path runs through a regular file. */
async function unwritableDataDir(): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), 'fstore-push-log-fail-'));
  const file = path.join(parent, 'not-a-directory');
  await writeFile(file, '');
  return path.join(file, 'data');
}

describe('a push whose local log cannot be written', () => {
  it('answers 503 naming the log, the source and the file system error, and sends no online write', async () => {
    const dataDir = await unwritableDataDir();
    dynamo.on(PutItemCommand).resolves({});
    const answer = await handlePush(
      {
        method: 'POST',
        path: '/v1/push/payments',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: 'online_and_offline', rows: [paymentRow(at)] }),
        requestId: 'req-9',
      },
      {
        registry,
        limits: defaultPushLimits,
        client: new DynamoDBClient({ region: 'eu-west-1' }),
        table: 'fstore-dev-online',
        offline: (source, rows, push) => placePushLog(dataDir, 'dev', source, rows, push.pushId),
      },
    );
    expect(answer.statusCode).toBe(503);
    const { error } = JSON.parse(answer.body);
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toMatch(/push log of source payments could not be written .*\(ENOTDIR\)/);
    expect(error.message).toContain('nothing was written');
    expect(answer.headers?.['retry-after']).toBe('1');
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { runFstore, writeDefs } from '../helpers/run-fstore.ts';

const importedArn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders-from-checkout';
const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const defs = `import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const customer = defineEntity({ name: 'customer', joinKeys: [{ name: 'customer_id', type: 'string' }] });
const schema = { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' };
const clicks = defineSource({ name: 'clicks', schema, timestampField: 'event_ts', stream: { kinesis: { create: true, shards: 1 } } });
const orders = defineSource({ name: 'orders', schema, timestampField: 'event_ts', stream: { kinesis: { streamArn: '${importedArn}', kmsKeyArn: '${keyArn}' } } });
const visits = defineSource({ name: 'visits', schema, timestampField: 'event_ts' });
export const views = [clicks, orders, visits].map((source) => defineFeatureView({ name: 'last_' + source.name, entities: [customer], source, features: { amount: 'float64' } }));
`;

let defsDir: string;
beforeAll(async () => {
  defsDir = await writeDefs({ 'defs.ts': defs });
});
const iamPolicy = (...args: string[]) =>
  runFstore([
    '--defs',
    defsDir,
    '--env',
    'prod',
    'iam-policy',
    '--for',
    'stream-producer',
    '--account',
    '111122223333',
    '--region',
    'eu-west-1',
    ...args,
  ]);

describe('fstore iam-policy --for stream-producer', () => {
  it("prints Kinesis writes on a created stream's derived ARN and an imported one's, with GenerateDataKey on the imported stream's key", async () => {
    const result = await iamPolicy('--json');
    expect(result.code, result.stderr).toBe(0);
    const { policy } = JSON.parse(result.stdout);
    expect(policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: ['arn:aws:kinesis:eu-west-1:111122223333:stream/fstore-prod-clicks', importedArn],
      },
      { Effect: 'Allow', Action: ['kms:GenerateDataKey'], Resource: [keyArn] },
    ]);
  });

  it('narrows to one source with --source', async () => {
    const result = await iamPolicy('--source', 'clicks');
    expect(result.code, result.stderr).toBe(0);
    const policy = JSON.parse(result.stdout);
    expect(policy.Statement).toHaveLength(1);
    expect(policy.Statement[0].Resource).toEqual([
      'arn:aws:kinesis:eu-west-1:111122223333:stream/fstore-prod-clicks',
    ]);
  });

  it('refuses a source without a stream, naming the fix', async () => {
    const result = await iamPolicy('--source', 'visits');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('source "visits" has no stream');
    expect(result.stderr).toContain('stream: { kinesis: { create: true } }');
  });
});

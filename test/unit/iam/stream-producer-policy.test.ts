import { describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { streamProducerStatements } from '../../../lib/iam/stream-producer-policy.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';

const scope = { partition: 'aws', region: 'eu-west-1', account: '111122223333' };
const importedArn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders-from-checkout';
const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const source = (name: string, stream?: Parameters<typeof defineSource>[0]['stream']) =>
  defineSource({
    name,
    schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
    timestampField: 'event_ts',
    ...(stream ? { stream } : {}),
  });
const view = (name: string, from: ReturnType<typeof source>) => ({
  definition: defineFeatureView({
    name,
    entities: [customer],
    source: from,
    features: { amount: 'float64' },
  }),
});
const registry = compileRegistry([
  view('last_click', source('clicks', { kinesis: { create: true, shards: 1 } })),
  view('last_order', source('orders', { kinesis: { streamArn: importedArn, kmsKeyArn: keyArn } })),
  view(
    'last_like',
    source('likes', {
      kinesis: { streamArn: importedArn.replace('orders-from-checkout', 'likes') },
    }),
  ),
  view('last_visit', source('visits')),
]);

describe('the stream producer policy', () => {
  it('grants writing records to a created stream named by the environment, with no KMS grant (alias/aws/kinesis)', () => {
    expect(streamProducerStatements(registry, 'prod', scope, ['clicks'])).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: ['arn:aws:kinesis:eu-west-1:111122223333:stream/fstore-prod-clicks'],
      },
    ]);
  });

  it('grants an imported stream by its own ARN, and kms:GenerateDataKey on its customer-managed key only', () => {
    expect(streamProducerStatements(registry, 'prod', scope, ['orders'])).toEqual([
      {
        Effect: 'Allow',
        Action: ['kinesis:DescribeStreamSummary', 'kinesis:PutRecord', 'kinesis:PutRecords'],
        Resource: [importedArn],
      },
      { Effect: 'Allow', Action: ['kms:GenerateDataKey'], Resource: [keyArn] },
    ]);
  });

  it('grants every source with a stream when none is named, and no key for a stream without one', () => {
    const [kinesis, kms, ...rest] = streamProducerStatements(registry, 'dev', scope);
    expect(kinesis?.Resource).toEqual([
      'arn:aws:kinesis:eu-west-1:111122223333:stream/fstore-dev-clicks',
      'arn:aws:kinesis:eu-west-1:123456789012:stream/likes',
      importedArn,
    ]);
    expect(kms?.Resource).toEqual([keyArn]);
    expect(rest).toEqual([]);
  });

  it('refuses a source without a stream, naming how to declare one', () => {
    expect(() => streamProducerStatements(registry, 'dev', scope, ['visits'])).toThrow(
      expect.objectContaining({
        message: 'source "visits" has no stream',
        hint: expect.stringContaining('declare stream: { kinesis: { create: true } }'),
      }),
    );
  });

  it('refuses a registry where no source has a stream', () => {
    const none = compileRegistry([view('last_visit', source('visits'))]);
    expect(() => streamProducerStatements(none, 'dev', scope)).toThrow(
      /no source declares a stream/,
    );
  });
});

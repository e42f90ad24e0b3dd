import { describe, expect, it } from 'vitest';
import { defineSource, type SourceInput } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import { parseRegistryText } from '../../../lib/registry/parse-registry.ts';
import { issueAt, issuesOf } from '../../helpers/definition-issues.ts';

const base: SourceInput = {
  name: 'clicks',
  schema: { user_id: 'string', clicks: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
};
const arn = 'arn:aws:kinesis:eu-west-1:123456789012:stream/clicks-prod';
const withKinesis = (kinesis: unknown) =>
  defineSource({ ...base, stream: { kinesis } as SourceInput['stream'] });

describe('defineSource stream', () => {
  it('creates one provisioned shard kept a day when only create: true is given', () => {
    expect(withKinesis({ create: true }).stream).toEqual({
      kinesis: { create: true, shards: 1, retentionHours: 24 },
    });
  });

  it('accepts provisioned shards, on-demand capacity and a retention up to a year', () => {
    expect(withKinesis({ create: true, shards: 4, retentionHours: 168 }).stream).toEqual({
      kinesis: { create: true, shards: 4, retentionHours: 168 },
    });
    expect(withKinesis({ create: true, shards: 'on-demand', retentionHours: 8760 }).stream).toEqual(
      { kinesis: { create: true, shards: 'on-demand', retentionHours: 8760 } },
    );
  });

  it('accepts an existing stream by its ARN, in any partition', () => {
    expect(withKinesis({ streamArn: arn }).stream).toEqual({ kinesis: { streamArn: arn } });
    const china = 'arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s.1_a-b';
    expect(withKinesis({ streamArn: china }).stream).toEqual({ kinesis: { streamArn: china } });
  });

  it('accepts the customer-managed KMS key an existing stream is encrypted with', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(withKinesis({ streamArn: arn, kmsKeyArn: key }).stream).toEqual({
      kinesis: { streamArn: arn, kmsKeyArn: key },
    });
    const multiRegion =
      'arn:aws:kms:eu-west-1:210987654321:key/mrk-1234abcd12ab34cd56ef1234567890ab';
    expect(withKinesis({ streamArn: arn, kmsKeyArn: multiRegion }).stream).toEqual({
      kinesis: { streamArn: arn, kmsKeyArn: multiRegion },
    });
  });

  it.each([
    'arn:aws:kms:eu-west-1:123456789012:alias/orders',
    'arn:aws:kinesis:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    '1234abcd-12ab-34cd-56ef-1234567890ab',
    'arn:aws:kms:eu-west-1:123456789012:key/',
  ])('rejects %s as a KMS key ARN', (bad) => {
    expect(
      issueAt(() => withKinesis({ streamArn: arn, kmsKeyArn: bad }), 'stream.kinesis.kmsKeyArn'),
    ).toMatchObject({ message: `"${bad}" is not the ARN of a KMS key` });
  });

  it('rejects a KMS key in another region than the stream, or with a stream fstore creates', () => {
    const elsewhere = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(
      issueAt(
        () => withKinesis({ streamArn: arn, kmsKeyArn: elsewhere }),
        'stream.kinesis.kmsKeyArn',
      ).message,
    ).toContain('is in us-east-1, the stream in eu-west-1');
    expect(
      issueAt(
        () =>
          withKinesis({
            create: true,
            kmsKeyArn: elsewhere.replace('us-east-1', 'eu-west-1'),
          }),
        'stream.kinesis.kmsKeyArn',
      ).message,
    ).toContain('applies to the existing stream of streamArn');
  });

  it('leaves stream out of a source that declares none', () => {
    expect('stream' in defineSource(base)).toBe(false);
  });

  it('rejects both create and streamArn, naming the field', () => {
    expect(
      issueAt(() => withKinesis({ create: true, streamArn: arn }), 'stream.kinesis.create'),
    ).toMatchObject({
      definition: 'source "clicks"',
      message: expect.stringContaining('is given with streamArn'),
      hint: expect.stringContaining('not both'),
    });
  });

  it.each([
    'arn:aws:kinesis:eu-west-1:123456789012:deliverystream/clicks',
    'arn:aws:sqs:eu-west-1:123456789012:clicks',
    'arn:aws:kinesis:eu-west-1:1234:stream/clicks',
    'clicks-prod',
    'arn:aws:kinesis:eu-west-1:123456789012:stream/',
  ])('rejects %s as a stream ARN', (bad) => {
    expect(
      issueAt(() => withKinesis({ streamArn: bad }), 'stream.kinesis.streamArn'),
    ).toMatchObject({ message: `"${bad}" is not the ARN of a Kinesis data stream` });
  });

  it.each([0, -1, 1.5, 501, Number.NaN])('rejects %s shards', (shards) => {
    expect(
      issueAt(() => withKinesis({ create: true, shards }), 'stream.kinesis.shards').message,
    ).toBe(`${shards} is not a whole number from 1 to 500`);
  });

  it('rejects a shard count given as other text than on-demand', () => {
    expect(
      issueAt(() => withKinesis({ create: true, shards: 'auto' }), 'stream.kinesis.shards').message,
    ).toBe('must be a whole number of shards or \'on-demand\', got "auto"');
  });

  it.each([23, 8761, 36.5])('rejects a retention of %s hours', (retentionHours) => {
    expect(
      issueAt(() => withKinesis({ create: true, retentionHours }), 'stream.kinesis.retentionHours')
        .message,
    ).toContain('from 24 to 8760');
  });

  it('rejects shards and retention on an existing stream, each by name', () => {
    const issues = issuesOf(() => withKinesis({ streamArn: arn, shards: 2, retentionHours: 48 }));
    expect(issues.map((i) => i.field)).toEqual([
      'stream.kinesis.shards',
      'stream.kinesis.retentionHours',
    ]);
  });

  it('rejects a stream that names none, or create: false without an ARN', () => {
    expect(issueAt(() => withKinesis({}), 'stream.kinesis').message).toBe(
      'names no stream: neither create: true nor streamArn',
    );
    expect(issueAt(() => withKinesis({ create: false }), 'stream.kinesis.create').message).toBe(
      'is false and no streamArn is given, so there is no stream',
    );
  });

  it('rejects an unknown stream kind or field', () => {
    expect(
      issuesOf(() =>
        defineSource({ ...base, stream: { kafka: {} } as unknown as SourceInput['stream'] }),
      ).map((i) => i.field),
    ).toContain('stream');
    expect(issuesOf(() => withKinesis({ create: true, shard: 2 })).map((i) => i.message)).toEqual([
      expect.stringContaining('shard'),
    ]);
  });

  it('is carried into the compiled registry, which reads back with it', () => {
    const registry = compileRegistry([{ definition: withKinesis({ create: true, shards: 2 }) }]);
    expect(registry.sources[0]?.stream).toEqual({
      kinesis: { create: true, shards: 2, retentionHours: 24 },
    });
    expect(parseRegistryText(JSON.stringify(registry), 'test').sources[0]?.stream).toEqual(
      registry.sources[0]?.stream,
    );
    expect(compileRegistry([{ definition: defineSource(base) }]).version).not.toBe(
      registry.version,
    );
  });

  it('carries an existing stream’s KMS key into the compiled registry, which reads back with it', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const registry = compileRegistry([
      { definition: withKinesis({ streamArn: arn, kmsKeyArn: key }) },
    ]);
    expect(parseRegistryText(JSON.stringify(registry), 'test').sources[0]?.stream).toEqual({
      kinesis: { streamArn: arn, kmsKeyArn: key },
    });
  });

  it('is refused together with a row filter (stream records go online unfiltered), and each alone is accepted', () => {
    const filter = 'clicks > 0';
    const issue = issueAt(
      () => defineSource({ ...base, filter, stream: { kinesis: { create: true } } }),
      'filter',
    );
    expect(issue.message).toContain('a source with a stream cannot declare a row filter');
    expect(defineSource({ ...base, filter }).filter).toBe(filter);
    expect(withKinesis({ create: true }).stream).toBeDefined();
  });
});

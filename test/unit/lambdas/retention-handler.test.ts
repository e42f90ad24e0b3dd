import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { readRetentionConfig } from '../../../lambdas/retention/config.ts';
import { createRetentionHandler, type RetentionRun } from '../../../lambdas/retention/handler.ts';
import { s3SnapshotsPrefix } from '../../../lib/offline/s3-snapshots.ts';

const s3 = mockClient(S3Client);
const old = (source: string, n: number) =>
  `offline/${source}/dt=2026-01-0${n}/20260101t000000-0000000${n}-0.parquet`;

function handlerWith(
  retentions: Record<string, number>,
  prefixes: Record<string, string> = Object.fromEntries(
    Object.keys(retentions).map((source) => [source, `offline/${source}/`]),
  ),
) {
  const metrics = new Metrics({ namespace: 'fstore-test', serviceName: 'retention' });
  const added = vi.spyOn(metrics, 'addMetric');
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const logger = new Logger({ serviceName: 'retention', logLevel: 'SILENT' });
  const handler = createRetentionHandler({
    s3: new S3Client({ region: 'us-east-1' }),
    config: readRetentionConfig({
      OFFLINE_BUCKET: 'offline-bucket',
      RETENTIONS: JSON.stringify(retentions),
      OFFLINE_PREFIXES: JSON.stringify(prefixes),
    }),
    metrics,
    logger,
    now: () => new Date('2026-03-20T12:00:00Z'),
  });
  const context = {
    awsRequestId: 'r1',
    functionName: 'fstore-dev-retention',
  } as unknown as Parameters<typeof handler>[1];
  const metric = (name: string) => added.mock.calls.find((c) => c[0] === name)?.[2];
  return { invoke: (event: unknown) => handler(event, context), metric };
}

describe('retention function', () => {
  beforeEach(() => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({ ETag: '"lock"' });
    s3.on(DeleteObjectCommand).resolves({});
    s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => ({
      Contents: [1, 2]
        .map((n) => old(input.Prefix?.split('/')[1] ?? '', n))
        .map((Key) => ({ Key, Size: 10 })),
      IsTruncated: false,
    }));
    s3.on(DeleteObjectsCommand).resolves({});
  });

  it("applies every source's retention on the schedule's {} and counts what it freed", async () => {
    const { invoke, metric } = handlerWith({ orders: 30 * 86_400, clicks: 10 * 86_400 });
    const runs = (await invoke({})) as readonly RetentionRun[];
    expect(runs.map((r) => [r.source, r.status])).toEqual([
      ['orders', 'done'],
      ['clicks', 'done'],
    ]);
    expect(metric('RetentionObjectsDeleted')).toBe(4);
    expect(metric('RetentionBytesFreed')).toBe(40);
    expect(metric('RetentionFailures')).toBe(0);
    expect(metric('SourcesRetained')).toBe(2);
  });

  it('runs the other sources when one fails, then fails the invocation naming it (the alarm sees it)', async () => {
    s3.on(DeleteObjectsCommand, {
      Delete: { Objects: [{ Key: old('orders', 1) }, { Key: old('orders', 2) }], Quiet: true },
    }).resolves({
      Errors: [{ Key: old('orders', 1), Code: 'AccessDenied', Message: 'denied' }],
    });
    const { invoke, metric } = handlerWith({ orders: 30 * 86_400, clicks: 10 * 86_400 });
    await expect(invoke({})).rejects.toThrow(
      /retention failed for "orders" \(S3 kept 1 of 2 objects/,
    );
    expect(metric('RetentionFailures')).toBe(1);
    expect(metric('RetentionObjectsDeleted')).toBe(2);
    // Only the sources done count for the not-run alarm.
    expect(metric('SourcesRetained')).toBe(1);
  });

  it('refuses to delete a source an S3 snapshot pins, naming it, and retains the others', async () => {
    const snapshots = ['a_other', 'v1_baseline'].map((name) => `${s3SnapshotsPrefix}${name}.json`);
    s3.on(ListObjectsV2Command, { Prefix: s3SnapshotsPrefix })
      .resolvesOnce({
        Contents: [{ Key: snapshots[0] }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolves({ Contents: [{ Key: snapshots[1] }], IsTruncated: false });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const name = input.Key.slice(s3SnapshotsPrefix.length, -'.json'.length);
      const sources =
        name === 'v1_baseline'
          ? { orders: { maxSeq: 40, ingestIds: ['x'] } }
          : { orders: { maxSeq: 0, ingestIds: [] } };
      return {
        Body: {
          transformToString: async () =>
            JSON.stringify({ name, createdAt: '2026-03-01T00:00:00Z', sources }),
        },
      };
    });
    const { invoke, metric } = handlerWith({ orders: 30 * 86_400, clicks: 10 * 86_400 });
    await expect(invoke({})).rejects.toThrow(
      /retention failed for "orders" \(retention of "orders" would delete rows that snapshots pin \("v1_baseline"\)/,
    );
    const deleted = s3
      .commandCalls(DeleteObjectsCommand)
      .flatMap((c) => c.args[0].input.Delete?.Objects?.map((o) => o.Key) ?? []);
    expect(deleted).toEqual([old('clicks', 1), old('clicks', 2)]);
    expect(metric('SourcesRetained')).toBe(1);
  });

  it('deletes nothing when the snapshots cannot be read (throttled)', async () => {
    s3.on(ListObjectsV2Command, { Prefix: s3SnapshotsPrefix }).rejects(
      Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown' }),
    );
    const { invoke, metric } = handlerWith({ orders: 30 * 86_400 });
    await expect(invoke({})).rejects.toThrow(
      /"orders" \(listing s3:\/\/offline-bucket\/_fstore\/snapshots\/ failed: SlowDown/,
    );
    expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
    expect(metric('RetentionFailures')).toBe(1);
  });

  it("lists and deletes under the registry's prefix of each source", async () => {
    const { invoke } = handlerWith({ orders: 30 * 86_400 }, { orders: 'tables/orders-v2/' });
    await invoke({});
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual([
      s3SnapshotsPrefix,
      'tables/orders-v2/dt=',
    ]);
  });

  it('refuses a configuration without the prefix of a source it retains, naming it', () => {
    expect(() =>
      readRetentionConfig({
        OFFLINE_BUCKET: 'bucket',
        RETENTIONS: '{"orders": 60, "clicks": 60}',
        OFFLINE_PREFIXES: '{"orders": "offline/orders/"}',
      }),
    ).toThrow('retention configuration: OFFLINE_PREFIXES: no prefix for source "clicks"');
  });

  it('refuses an event other than {} before any work', async () => {
    const { invoke } = handlerWith({ orders: 30 * 86_400 });
    await expect(invoke({ source: 'orders' })).rejects.toThrow('the schedule sends {}');
    expect(s3.commandCalls(ListObjectsV2Command)).toHaveLength(0);
  });

  it('refuses a configuration that is not source → seconds, naming the variable', () => {
    expect(() =>
      readRetentionConfig({
        OFFLINE_BUCKET: 'bucket',
        RETENTIONS: '{"orders": "30d"}',
        OFFLINE_PREFIXES: '{"orders": "offline/orders/"}',
      }),
    ).toThrow(/retention configuration: RETENTIONS: .*not "\{\\"orders\\": \\"30d\\"\}"/);
  });
});

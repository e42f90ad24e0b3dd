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
import {
  createRetentionHandler,
  type RetentionDependencies,
  type RetentionRun,
} from '../../../lambdas/retention/handler.ts';
import { ingestRecordsPrefix } from '../../../lib/offline/ingest-records.ts';
import type { rewriteS3Objects, S3RewriteResult } from '../../../lib/offline/s3-rewrite-objects.ts';
import { s3SnapshotsPrefix } from '../../../lib/offline/s3-snapshots.ts';

const s3 = mockClient(S3Client);
const old = (source: string, n: number) =>
  `offline/${source}/dt=2026-01-0${n}/20260101t000000-0000000${n}-0.parquet`;

function handlerWith(
  retentions: Record<string, number>,
  prefixes: Record<string, string> = Object.fromEntries(
    Object.keys(retentions).map((source) => [source, `offline/${source}/`]),
  ),
  boundary?: { readonly rewrite: RetentionDependencies['rewrite'] },
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
      ...(boundary
        ? {
            TIMESTAMP_FIELDS: JSON.stringify(
              Object.fromEntries(Object.keys(retentions).map((s) => [s, 'event_ts'])),
            ),
            AWS_REGION: 'us-east-1',
          }
        : {}),
    }),
    ...(boundary?.rewrite ? { rewrite: boundary.rewrite } : {}),
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

  it('keeps the objects of a source an S3 snapshot pins, naming it, deletes the rest and retains the others', async () => {
    const snapshots = ['a_other', 'v1_baseline'].map((name) => `${s3SnapshotsPrefix}${name}.json`);
    s3.on(ListObjectsV2Command, { Prefix: s3SnapshotsPrefix })
      .resolvesOnce({
        Contents: [{ Key: snapshots[0] }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolves({ Contents: [{ Key: snapshots[1] }], IsTruncated: false });
    // orders' two old objects: ingest seqs 1-10 (pinned by v1_baseline, through 40) and 41-50.
    const records = [1, 2].map((n) => ({
      key: `offline/_ingests/orders/${'a'.repeat(64)}/20260101t000000-0000000${n}.json`,
      body: JSON.stringify({
        ingestId: `20260101t000000-0000000${n}`,
        source: 'orders',
        rows: 10,
        firstSeq: n === 1 ? 1 : 41,
        files: [old('orders', n)],
      }),
    }));
    s3.on(ListObjectsV2Command, { Prefix: 'offline/_ingests/orders/' }).resolves({
      Contents: records.map((r) => ({ Key: r.key })),
      IsTruncated: false,
    });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => {
      const record = records.find((r) => r.key === input.Key);
      if (record) return { Body: { transformToString: async () => record.body } };
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
    const runs = (await invoke({})) as readonly RetentionRun[];
    expect(runs[0]).toMatchObject({
      source: 'orders',
      status: 'done',
      objectsDeleted: 1,
      objectsKept: 1,
      keptFor: ['v1_baseline'],
    });
    const deleted = s3
      .commandCalls(DeleteObjectsCommand)
      .flatMap((c) => c.args[0].input.Delete?.Objects?.map((o) => o.Key) ?? []);
    expect(deleted).toEqual([old('orders', 2), old('clicks', 1), old('clicks', 2)]);
    expect(metric('SourcesRetained')).toBe(2);
    expect(metric('RetentionObjectsKeptForSnapshots')).toBe(1);
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

  it("lists and deletes under the registry's prefix of each source (its commit records first)", async () => {
    const { invoke } = handlerWith({ orders: 30 * 86_400 }, { orders: 'tables/orders-v2/' });
    await invoke({});
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input.Prefix)).toEqual([
      s3SnapshotsPrefix,
      `${ingestRecordsPrefix}orders/`,
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

  describe('the boundary day (rows older than the retention in the partition that straddles it)', () => {
    // now 2026-03-20T12:00Z, 30 days: the boundary is 2026-02-18T12:00Z, inside dt=2026-02-18.
    const atBoundary = 'offline/orders/dt=2026-02-18/20260218t000000-0000000a-0.parquet';
    const recordKey = `offline/_ingests/orders/${'a'.repeat(64)}/20260218t000000-0000000a.json`;
    const done: S3RewriteResult = {
      rowsRemoved: 3,
      objectsRewritten: 1,
      objectsRewrittenInPlace: 0,
      objectsDeleted: 1,
      versionsDeleted: 1,
    };
    beforeEach(() => {
      s3.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
        const prefix = input.Prefix ?? '';
        const keys = prefix.startsWith('offline/_ingests/orders/')
          ? [recordKey]
          : prefix.startsWith('offline/orders/')
            ? [old('orders', 1), atBoundary]
            : [];
        return { Contents: keys.map((Key) => ({ Key, Size: 10 })), IsTruncated: false };
      });
      s3.on(GetObjectCommand, { Key: recordKey }).resolves({
        Body: {
          transformToString: async () =>
            JSON.stringify({
              ingestId: '20260218t000000-0000000a',
              source: 'orders',
              rows: 5,
              firstSeq: 1,
              files: [atBoundary],
            }),
        } as never,
      });
    });

    it("writes the boundary day's committed objects again without the older rows, under the run's lock, and counts them", async () => {
      const rewrite = vi.fn(async () => done);
      const { invoke, metric } = handlerWith({ orders: 30 * 86_400 }, undefined, { rewrite });
      const runs = (await invoke({})) as readonly RetentionRun[];
      expect(rewrite).toHaveBeenCalledTimes(1);
      const [asked] = rewrite.mock.calls[0] as unknown as [Parameters<typeof rewriteS3Objects>[0]];
      expect(asked.rewrites).toEqual([
        {
          key: atBoundary,
          keep: `("event_ts" < TIMESTAMP '2026-02-18 12:00:00.000000') IS NOT TRUE`,
        },
      ]);
      expect(asked.reason).toBe('retention');
      expect(asked.region).toBe('us-east-1');
      expect(runs[0]).toMatchObject({ status: 'done', boundaryRowsDeleted: 3 });
      expect(metric('RetentionBoundaryRowsDeleted')).toBe(3);
    });

    it('fails the source when the rewrite fails (RetentionFailures, the invocation fails for the alarm)', async () => {
      const rewrite = vi.fn(async (): Promise<S3RewriteResult> => {
        throw new Error('DuckDB ran out of /tmp');
      });
      const { invoke, metric } = handlerWith({ orders: 30 * 86_400 }, undefined, { rewrite });
      await expect(invoke({})).rejects.toThrow(/"orders" \(DuckDB ran out of \/tmp\)/);
      expect(metric('RetentionFailures')).toBe(1);
      expect(metric('SourcesRetained')).toBe(0);
    });

    it('refuses a configuration without the event-time column of a source it retains, naming it', () => {
      expect(() =>
        readRetentionConfig({
          OFFLINE_BUCKET: 'bucket',
          RETENTIONS: '{"orders": 60, "clicks": 60}',
          OFFLINE_PREFIXES: '{"orders": "offline/orders/", "clicks": "offline/clicks/"}',
          TIMESTAMP_FIELDS: '{"orders": "event_ts"}',
          AWS_REGION: 'us-east-1',
        }),
      ).toThrow(
        'retention configuration: TIMESTAMP_FIELDS: no event-time column for source "clicks"',
      );
    });
  });
});

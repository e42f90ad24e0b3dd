import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { readPushCompactionConfig } from '../../lambdas/push-compaction/config.ts';
import {
  createPushCompactionHandler,
  PushCompactionFailedError,
} from '../../lambdas/push-compaction/handler.ts';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { compactionLockKey } from '../../lib/offline/s3-compact-record.ts';
import { acquireS3Lock } from '../../lib/offline/s3-lock.ts';
import { pushRegistryProjection } from '../../lib/registry/runtime-projection.ts';
import { pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';
import { stagePushObject } from '../helpers/staged-push-objects.ts';

// The projection the image compiles in, not the whole registry: it must be enough for ingest.
const registry = pushRegistryProjection(pushRegistry());
let bucket: MemoryBucket;
let s3: S3Client;
let duckdb: DuckdbSession;
let scratch: string;
beforeAll(async () => {
  bucket = await startMemoryBucket('offline-bucket');
  s3 = memoryBucketClient(bucket);
  duckdb = await openDuckdb();
  scratch = await makeTempDir('push-compaction-handler');
});
afterAll(async () => {
  duckdb.close();
  await bucket.close();
});
beforeEach(() => {
  bucket.objects.clear();
  bucket.modified.clear();
  bucket.beforeRequest = undefined;
});

const stage = (source: 'payments' | 'audit', name: string, amount?: number) =>
  stagePushObject({ bucket, duckdb: duckdb.connection, scratch }, source, name, [
    { pushId: `p-${name}`, customer: 'C1', ...(amount !== undefined ? { amount } : {}) },
  ]);

function handlerWith(remainingMs = 800_000, env: Record<string, string> = {}) {
  const metrics = new Metrics({ namespace: 'fstore-test', serviceName: 'push-compaction' });
  const added = vi.spyOn(metrics, 'addMetric');
  const published = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const logger = new Logger({ serviceName: 'push-compaction', logLevel: 'SILENT' });
  const warned = vi.spyOn(logger, 'warn');
  const handler = createPushCompactionHandler({
    registry,
    s3,
    config: readPushCompactionConfig({
      OFFLINE_BUCKET: bucket.name,
      AWS_REGION: 'eu-west-1',
      WORK_DIR: scratch,
      ...env,
    }),
    metrics,
    logger,
    now: () => new Date('2026-03-01T02:00:00Z'),
  });
  const context = {
    awsRequestId: 'req-1',
    functionName: 'fstore-dev-push-compaction',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Parameters<typeof handler>[1];
  const metric = (name: string) => added.mock.calls.find((c) => c[0] === name)?.[2];
  return { invoke: (event: unknown) => handler(event, context), metric, published, warned };
}

describe('push-compaction function', () => {
  it("compacts every source on the schedule's {} and reports rows, nothing left, age 0 and no delivery errors", async () => {
    await stage('payments', 'a');
    await stage('audit', 'b');
    const { invoke, metric, published } = handlerWith();
    const summary = await invoke({});
    expect(summary).toMatchObject({ stagedObjectsLeft: 0, oldestStagedAgeSeconds: 0 });
    expect(metric('PushRowsCompacted')).toBe(2);
    expect(metric('CompactionFailures')).toBe(0);
    expect(metric('OldestStagedPushAge')).toBe(0);
    expect(metric('PushErrorObjects')).toBe(0);
    expect(published).toHaveBeenCalled();
  });

  it('ends quietly when another run holds a source, saying so in its metric', async () => {
    await stage('payments', 'a');
    const held = await acquireS3Lock({
      s3,
      bucket: bucket.name,
      key: compactionLockKey('payments'),
      purpose: 'an overlapping run',
      leaseMs: 600_000,
    });
    try {
      const { invoke, metric } = handlerWith();
      const summary = await invoke({});
      expect(summary.sources).toContainEqual({ source: 'payments', status: 'busy' });
      expect(metric('SourcesBusy')).toBe(1);
      expect(metric('CompactionFailures')).toBe(0);
      expect(metric('StagedPushObjects')).toBe(1);
    } finally {
      await held.release();
    }
  });

  it("stops setting a source's objects aside at MAX_SET_ASIDE per run, naming the source in its summary and a warning; the rest stay staged", async () => {
    await stage('payments', 'bad1', 20_000);
    await stage('payments', 'bad2', 20_000);
    const { invoke, metric, warned } = handlerWith(800_000, { MAX_SET_ASIDE: '1' });
    const summary = await invoke({});
    expect(summary).toMatchObject({ setAsideCapReached: ['payments'], stagedObjectsLeft: 1 });
    expect(metric('PushErrorObjects')).toBe(1);
    expect(warned).toHaveBeenCalledWith(
      expect.stringMatching(/set aside as many staged objects as a run may/),
      expect.objectContaining({ source: 'payments', setAside: 1, maxSetAside: 1 }),
    );
  });

  it('sets a staged object the ingest refuses aside and counts it among the push error objects; the run succeeds and the other source runs', async () => {
    await stage('payments', 'bad', 20_000);
    await stage('audit', 'ok');
    const { invoke, metric } = handlerWith();
    const summary = await invoke({});
    expect(summary.sources).toContainEqual({ source: 'payments', status: 'done' });
    expect(metric('CompactionFailures')).toBe(0);
    expect(metric('PushRowsCompacted')).toBe(1);
    expect(metric('PushErrorObjects')).toBe(1);
    expect(metric('StagedPushObjects')).toBe(0);
    expect(
      [...bucket.objects.keys()].some((k) => k.startsWith('offline/_push/payments/_refused/')),
    ).toBe(true);
  });

  it('fails the invocation naming a source that failed, after the other source ran, with its failure and the staged age published', async () => {
    await stage('payments', 'a');
    await stage('audit', 'ok');
    // The payments ingest's commit record cannot be written: not a refusal, the source fails.
    bucket.beforeRequest = (method, key) =>
      method === 'PUT' && key.startsWith('offline/_ingests/payments/') && !key.includes('_lock')
        ? { status: 403, code: 'AccessDenied' }
        : undefined;
    const { invoke, metric, published } = handlerWith();
    const failure = invoke({});
    await expect(failure).rejects.toThrow(PushCompactionFailedError);
    await expect(failure).rejects.toThrow(/"payments" failed/);
    expect(metric('CompactionFailures')).toBe(1);
    expect(metric('PushRowsCompacted')).toBe(1);
    // Set directly, the object counts as written at 2026-03-01T00:00Z: two hours before "now".
    expect(metric('OldestStagedPushAge')).toBe(7200);
    expect(published).toHaveBeenCalled();
  });

  it('leaves every source for the next run when the invocation starts with too little time', async () => {
    await stage('payments', 'a');
    const { invoke, metric } = handlerWith(30_000);
    const summary = await invoke({});
    expect(summary.sources.map((s) => s.status)).toEqual(['skipped', 'skipped']);
    expect(metric('SourcesLeftForNextRun')).toBe(2);
    expect(metric('StagedPushObjects')).toBe(1);
  });

  it('refuses any event but {} before touching the bucket', async () => {
    await stage('payments', 'a');
    const before = [...bucket.objects.keys()];
    const { invoke } = handlerWith();
    await expect(invoke({ view: 'x' })).rejects.toThrow(/invalid push-compaction event .*view/);
    expect([...bucket.objects.keys()]).toEqual(before);
  });
});

describe('push-compaction configuration', () => {
  it('names a missing bucket', () => {
    expect(() => readPushCompactionConfig({ AWS_REGION: 'eu-west-1' })).toThrow(
      /push-compaction configuration: OFFLINE_BUCKET/,
    );
  });

  it('refuses a reserve too short to end a run cleanly', () => {
    expect(() =>
      readPushCompactionConfig({ OFFLINE_BUCKET: 'b-1', AWS_REGION: 'x', RESERVE_MS: '100' }),
    ).toThrow(/RESERVE_MS/);
  });
});

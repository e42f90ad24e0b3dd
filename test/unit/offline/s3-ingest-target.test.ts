import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../../lib/definitions/index.ts';
import { ingestFile } from '../../../lib/offline/ingest.ts';
import { ingestIdOfObjectPath } from '../../../lib/offline/ingest-records.ts';
import { CommitOutcomeUnknownError } from '../../../lib/offline/ingest-target.ts';
import { S3IngestTarget } from '../../../lib/offline/s3-ingest-target.ts';
import { offlineFixture } from '../../helpers/offline-fixture.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'float64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const view = defineFeatureView({
  name: 'order_view',
  entities: [customer],
  source: orders,
  features: { amount: 'float64' },
});
const rows = [
  { customer_id: 'C1', amount: 1.5, event_ts: '2026-03-01T10:00:00Z' },
  { customer_id: 'C2', amount: 2.5, event_ts: '2026-03-02T10:00:00Z' },
];

const s3 = mockClient(S3Client);
/** The part of an S3 response body the target reads. */
const body = (text: string) => ({ transformToString: async () => text });

describe('ingest into S3 (aws-sdk-client-mock)', () => {
  beforeEach(() => s3.reset());

  it('uploads one object per day partition under offline/<source>/, named by the ingest, and then commits with one record naming them', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    const fixture = await offlineFixture([view]);
    const target = new S3IngestTarget(
      new S3Client({ region: 'us-east-1' }),
      'fstore-dev-offline',
      () => 1_700_000_000_000,
    );
    const result = await ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'dev',
      source: 'orders',
      file: await fixture.writeJsonl(rows),
      target,
    });
    const keys = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key);
    expect(
      keys
        .slice(0, -1)
        .every((k) => /^offline\/orders\/dt=2026-03-0[12]\/.+\.parquet$/.test(k ?? '')),
    ).toBe(true);
    expect(new Set(keys.slice(0, -1).map((k) => k?.split('/')[2]))).toEqual(
      new Set(['dt=2026-03-01', 'dt=2026-03-02']),
    );
    expect(
      keys.slice(0, -1).every((k) => k?.split('/')[3]?.startsWith(`${result.ingestId}-`)),
    ).toBe(true);
    expect(keys.at(-1)).toBe(`offline/_ingests/orders/${result.sha256}/${result.ingestId}.json`);
    const record = JSON.parse(String(s3.commandCalls(PutObjectCommand).at(-1)?.args[0].input.Body));
    expect(record).toMatchObject({
      source: 'orders',
      rows: 2,
      firstSeq: 1_700_000_000_000 * 1_048_576,
    });
    expect(record.files).toEqual(keys.slice(0, -1));
    expect(
      result.files.every((f) => f.startsWith('s3://fstore-dev-offline/offline/orders/dt=')),
    ).toBe(true);
  });

  it('writes the record as one JSON line whose ingestId and source the fstore_ingests table reads, and whose objects carry that ingest id', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    const fixture = await offlineFixture([view]);
    const target = new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b');
    const result = await ingestFile({
      registry: fixture.registry,
      dataDir: fixture.dataDir,
      env: 'dev',
      source: 'orders',
      file: await fixture.writeJsonl(rows),
      target,
    });
    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    const text = String(puts.at(-1)?.Body);
    // The JSON SerDe reads one object per line: exactly one line, ending the object.
    expect(text.split('\n')).toEqual([expect.stringMatching(/^\{.*\}$/), '']);
    const record = JSON.parse(text);
    expect(record).toMatchObject({ ingestId: result.ingestId, source: 'orders' });
    // The Athena filter keeps an object when the id in its path has a record.
    const objects = puts.slice(0, -1).map((p) => p.Key ?? '');
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.map((k) => ingestIdOfObjectPath(`s3://b/${k}`))).toEqual(
      objects.map(() => record.ingestId),
    );
  });

  it('refuses content already recorded in the bucket (a record written before the commit rule too) and uploads nothing', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: 'offline/_ingests/orders/<sha256>.json' }],
    });
    s3.on(GetObjectCommand, { Key: 'offline/_ingests/orders/<sha256>.json' }).resolves({
      Body: body(
        JSON.stringify({ ingestId: 'x', source: 'orders', rows: 2, at: '2026-03-03T00:00:00Z' }),
      ) as never,
    });
    const fixture = await offlineFixture([view]);
    const target = new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b');
    await expect(
      ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'dev',
        source: 'orders',
        file: await fixture.writeJsonl(rows),
        target,
      }),
    ).rejects.toThrow('was already ingested into "orders" at 2026-03-03T00:00:00Z');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('writes no ingest record when an upload fails', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    s3.on(PutObjectCommand).rejectsOnce(new Error('SlowDown')).resolves({});
    const fixture = await offlineFixture([view]);
    const target = new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b');
    await expect(
      ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'dev',
        source: 'orders',
        file: await fixture.writeJsonl(rows),
        target,
      }),
    ).rejects.toThrow('SlowDown');
    expect(
      s3
        .commandCalls(PutObjectCommand)
        .map((c) => c.args[0].input.Key)
        .filter((k) => k?.includes('_ingests')),
    ).toEqual([]);
  });

  it('does not upload a file that fails validation', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    const fixture = await offlineFixture([view]);
    const target = new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b');
    await expect(
      ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'dev',
        source: 'orders',
        file: await fixture.writeJsonl([{ ...rows[0], amount: 'lots' }]),
        target,
      }),
    ).rejects.toThrow('row 1, column amount');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  describe('a failure at each step of the S3 ingest', () => {
    /** An S3 error answer with its HTTP status, as the SDK raises it. */
    const s3Error = (name: string, httpStatusCode: number, message: string) =>
      new S3ServiceException({ name, $fault: 'server', $metadata: { httpStatusCode }, message });
    /**
     * An S3 bucket in memory: PutObject fails on the call numbered `failAt` (1-based), with S3
     * refusing it (403), or, with `failure`, raising that error after storing the object or
     * (`landsLater`) before storing it, the object then landing when the test calls `land()`.
     */
    function fakeBucket(
      failAt?: number,
      failure?: { error: Error; stored: 'before-error' | 'landsLater' },
    ) {
      const objects = new Map<string, string>();
      const late: [string, string][] = [];
      let puts = 0;
      s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: unknown }) => {
        puts += 1;
        const text = typeof input.Body === 'string' ? input.Body : '<parquet>';
        if (puts !== failAt) {
          objects.set(input.Key, text);
          return {};
        }
        if (!failure) throw s3Error('AccessDenied', 403, `AccessDenied on PutObject ${puts}`);
        if (failure.stored === 'before-error') objects.set(input.Key, text);
        else late.push([input.Key, text]);
        throw failure.error;
      });
      s3.on(DeleteObjectsCommand).callsFake((input: { Delete: { Objects: { Key: string }[] } }) => {
        for (const { Key } of input.Delete.Objects) objects.delete(Key);
        return {};
      });
      s3.on(ListObjectsV2Command).callsFake((input: { Prefix: string }) => ({
        Contents: [...objects.keys()]
          .filter((k) => k.startsWith(input.Prefix))
          .map((Key) => ({ Key })),
      }));
      s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
        const text = objects.get(input.Key);
        if (text === undefined) throw new NoSuchKey({ message: 'no', $metadata: {} });
        return { Body: body(text) };
      });
      const land = () => {
        for (const [key, text] of late.splice(0)) objects.set(key, text);
      };
      return Object.assign(objects, { land });
    }
    const dataKeys = (objects: Map<string, string>) =>
      [...objects.keys()].filter((k) => k.startsWith('offline/orders/'));
    const recordKeys = (objects: Map<string, string>) =>
      [...objects.keys()].filter((k) => k.startsWith('offline/_ingests/'));

    it.each([
      ['the first data upload', 1],
      ['the second data upload (one object already uploaded)', 2],
      ['the commit (the record PutObject, every object uploaded)', 3],
    ])(
      'S3 refusing %s leaves no record and no data object, and a retry commits cleanly',
      async (_step, failAt) => {
        const objects = fakeBucket(failAt);
        const fixture = await offlineFixture([view]);
        const file = await fixture.writeJsonl(rows);
        const ingest = () =>
          ingestFile({
            registry: fixture.registry,
            dataDir: fixture.dataDir,
            env: 'dev',
            source: 'orders',
            file,
            target: new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b'),
          });
        await expect(ingest()).rejects.toThrow(`AccessDenied on PutObject ${failAt}`);
        expect(s3.commandCalls(PutObjectCommand)).toHaveLength(failAt);
        expect(recordKeys(objects)).toEqual([]);
        expect(dataKeys(objects)).toEqual([]);

        const retried = await ingest();
        expect(recordKeys(objects)).toEqual([
          `offline/_ingests/orders/${retried.sha256}/${retried.ingestId}.json`,
        ]);
        const record = JSON.parse(objects.get(recordKeys(objects)[0] ?? '') ?? '{}');
        expect(record).toMatchObject({ ingestId: retried.ingestId, rows: 2 });
        expect([...record.files].sort()).toEqual(dataKeys(objects).sort());
        expect(dataKeys(objects)).toHaveLength(2);
        expect(dataKeys(objects).every((k) => k.includes(`/${retried.ingestId}-`))).toBe(true);
        await expect(ingest()).rejects.toThrow('was already ingested into "orders"');
      },
    );

    it('keeps the objects when the record PutObject timed out but stored the record: the ingest is committed', async () => {
      const objects = fakeBucket(3, {
        error: Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }),
        stored: 'before-error',
      });
      const fixture = await offlineFixture([view]);
      const result = await ingestFile({
        registry: fixture.registry,
        dataDir: fixture.dataDir,
        env: 'dev',
        source: 'orders',
        file: await fixture.writeJsonl(rows),
        target: new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b'),
      });
      expect(recordKeys(objects)).toHaveLength(1);
      expect(dataKeys(objects)).toHaveLength(2);
      expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
      expect(result.rows).toBe(2);
    });

    it.each([
      ['a client timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
      ['a connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })],
      ['S3 500 InternalError', s3Error('InternalError', 500, 'We encountered an internal error')],
      ['S3 408 RequestTimeout', s3Error('RequestTimeout', 408, 'Your socket connection timed out')],
    ])(
      'after %s on the record PutObject keeps every uploaded object, so a record landing later reads all rows',
      async (_failure, error) => {
        const objects = fakeBucket(3, { error, stored: 'landsLater' });
        const fixture = await offlineFixture([view]);
        const file = await fixture.writeJsonl(rows);
        const ingest = () =>
          ingestFile({
            registry: fixture.registry,
            dataDir: fixture.dataDir,
            env: 'dev',
            source: 'orders',
            file,
            target: new S3IngestTarget(new S3Client({ region: 'us-east-1' }), 'b'),
          });
        const failed = (await ingest().then(
          () => new Error('the ingest succeeded'),
          (e: unknown) => e as Error,
        )) as Error;
        expect(failed).toBeInstanceOf(CommitOutcomeUnknownError);
        expect(failed.message).toMatch(
          /may or may not have been written .*Run the same ingest again/,
        );
        expect(s3.commandCalls(DeleteObjectsCommand)).toHaveLength(0);
        expect(dataKeys(objects)).toHaveLength(2);

        objects.land();
        const record = JSON.parse(objects.get(recordKeys(objects)[0] ?? '') ?? '{}');
        expect([...record.files].sort()).toEqual(dataKeys(objects).sort());
        await expect(ingest()).rejects.toThrow('was already ingested into "orders"');
      },
    );
  });
});

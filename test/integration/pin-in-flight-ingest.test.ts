import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineEntity, defineFeatureView, defineSource } from '../../lib/definitions/index.ts';
import { pinnedAthenaSources } from '../../lib/offline/athena-pinned-sources.ts';
import { openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { ingestFile } from '../../lib/offline/ingest.ts';
import type { IngestRecord } from '../../lib/offline/ingest-target.ts';
import { readS3CommittedSources, s3CommittedSeqs } from '../../lib/offline/s3-committed-ingests.ts';
import { S3IngestTarget } from '../../lib/offline/s3-ingest-target.ts';
import { createS3Snapshot } from '../../lib/offline/s3-snapshots.ts';
import { seqPinCondition } from '../../lib/offline/seq-pins.ts';
import { readThroughAthenaRelation } from '../helpers/athena-relation-on-duckdb.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';
import {
  type MemoryBucket,
  memoryBucketClient,
  startMemoryBucket,
} from '../helpers/s3-memory-bucket.ts';

const customer = defineEntity({
  name: 'customer',
  joinKeys: [{ name: 'customer_id', type: 'string' }],
});
const orders = defineSource({
  name: 'orders',
  schema: { customer_id: 'string', amount: 'int64', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});
const view = defineFeatureView({
  name: 'order_view',
  entities: [customer],
  source: orders,
  features: { amount: 'int64' },
});

/** An S3 ingest target whose commit waits for `release`: an ingest stopped before its commit. */
class HeldCommitTarget extends S3IngestTarget {
  reached!: Promise<void>;
  release!: () => void;
  private signalReached!: () => void;
  private readonly gate: Promise<void>;
  constructor(...args: ConstructorParameters<typeof S3IngestTarget>) {
    super(...args);
    this.reached = new Promise((resolve) => {
      this.signalReached = resolve;
    });
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }
  override async commit(entry: Omit<IngestRecord, 'files'>, files: readonly string[]) {
    this.signalReached();
    await this.gate;
    return super.commit(entry, files);
  }
}

let bucket: MemoryBucket;
beforeAll(async () => {
  bucket = await startMemoryBucket('fstore-pins');
});
afterAll(async () => {
  await bucket.close();
});

describe('a pin made while an S3 ingest holds a lower sequence number than a committed one', () => {
  it('reads the same rows as of a snapshot before and after that ingest commits', async () => {
    const s3 = memoryBucketClient(bucket);
    const fixture = await offlineFixture([view]);
    const scratch = await makeTempDir('pin-in-flight');
    const ingest = (target: S3IngestTarget, amount: number) =>
      fixture
        .writeJsonl([{ customer_id: 'C1', amount, event_ts: '2026-03-01T10:00:00Z' }])
        .then((file) =>
          ingestFile({
            registry: fixture.registry,
            dataDir: fixture.dataDir,
            env: 'dev',
            source: 'orders',
            file,
            target,
          }),
        );
    // The early ingest takes its clock number first, then stops before its commit.
    const early = new HeldCommitTarget(s3, bucket.name, () => 1_800_000_000_000);
    const earlyRun = ingest(early, 1);
    await early.reached;
    await ingest(new S3IngestTarget(s3, bucket.name, () => 1_800_000_001_000), 2);

    const store = { s3, bucket: bucket.name, env: 'dev' };
    const committed = async (sources: readonly string[]) =>
      s3CommittedSeqs(await readS3CommittedSources(s3, bucket.name, sources));
    const snapshot = await createS3Snapshot(
      store,
      { name: 'during', sources: ['orders'] },
      committed,
    );
    const readAsOfSnapshot = async () => {
      const { pins } = await pinnedAthenaSources({
        s3,
        bucket: bucket.name,
        sources: ['orders'],
        given: { pinned: snapshot.sources, what: 'snapshot "during"' },
      });
      const session = await openDuckdb();
      try {
        const rows = await readThroughAthenaRelation(session.connection, {
          objects: bucket.objects,
          bucket: bucket.name,
          source: 'orders',
          scratch,
          where: seqPinCondition(pins, 'orders') ?? 'true',
        });
        return rows.map((r) => ({ amount: Number(r.amount), seq: String(r.fstore_seq) }));
      } finally {
        session.close();
      }
    };
    const before = await readAsOfSnapshot();
    expect(before.map((r) => r.amount)).toEqual([2]);

    early.release();
    await earlyRun;
    expect(await readAsOfSnapshot()).toEqual(before);
  });
});

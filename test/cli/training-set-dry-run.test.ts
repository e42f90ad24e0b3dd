import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinitions } from '../../lib/registry/index.ts';
import { offlineFixture } from '../helpers/offline-fixture.ts';
import { makeTempDir, repoRoot, runFstore, spawnFstore } from '../helpers/run-fstore.ts';
import { type S3ListingStub, startS3ListingStub } from '../helpers/s3-listing-stub.ts';

const mib = 1024 ** 2;
const object = (source: string, dt: string, n = 0) =>
  `offline/${source}/dt=${dt}/20260101t000000-0a1b2c3d-${n}.parquet`;

let s3: S3ListingStub;
let awsEnv: Record<string, string>;
let entities: string;

beforeAll(async () => {
  // churn_online for rows 2026-03-06..2026-03-11 reads orders from 2025-12-06 (90 d TTL).
  const offline = {
    [object('orders', '2025-12-05')]: 999,
    [object('orders', '2025-12-06', 0)]: 3 * mib,
    [object('orders', '2025-12-06', 1)]: 2 * mib,
    [object('orders', '2026-03-11')]: 6 * mib,
    [object('orders', '2026-03-12')]: 999,
    [object('customer_profiles', '2026-03-01')]: mib,
    'offline/_ingests/orders/abc/20260101t000000-0a1b2c3d.json': 500,
  };
  s3 = await startS3ListingStub(
    { 'offline-bucket': offline, 'busy-bucket': offline, 'throttled-bucket': offline },
    { hanging: ['slow-bucket'], throttled: { 'busy-bucket': 2, 'throttled-bucket': Infinity } },
  );
  awsEnv = {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  const dir = await makeTempDir('dry-run');
  entities = path.join(dir, 'entities.csv');
  await writeFile(
    entities,
    'customer_id,event_timestamp,churned\nC1,2026-03-06T00:00:00Z,0\nC2,2026-03-11T00:00:00Z,1\n',
  );
});
afterAll(() => s3.close());

/** `fstore --env dev training-set --dry-run` of churn_online for the entity file, on `bucket`. */
const awsDryRun = (bucket: string, ...extra: string[]) => [
  '--env',
  'dev',
  'training-set',
  '--service',
  'churn_online',
  '--entities',
  entities,
  '--bucket',
  bucket,
  '--dry-run',
  ...extra,
];

describe('fstore training-set --dry-run on an AWS environment (loopback S3)', () => {
  it('prints the partitions and bytes it would scan and Athena’s price as JSON, running no query', async () => {
    const result = await runFstore(awsDryRun('offline-bucket', '--json'), { env: awsEnv });
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output).toMatchObject({
      dryRun: true,
      engine: 'athena',
      service: 'churn_online',
      entityRows: 2,
      entityTimeRange: { min: '2026-03-06T00:00:00.000000Z', max: '2026-03-11T00:00:00.000000Z' },
      estimate: { isEstimate: true, pricing: '$5 per TB scanned, 10 MB minimum per query' },
    });
    const orders = output.sources.find((s: { source: string }) => s.source === 'orders');
    expect(orders).toEqual({
      source: 'orders',
      fromDay: '2025-12-06',
      toDay: '2026-03-11',
      reads: 1,
      partitions: [
        { dt: '2025-12-06', objects: 2, bytes: 5 * mib },
        { dt: '2026-03-11', objects: 1, bytes: 6 * mib },
      ],
      objects: 3,
      bytes: 11 * mib,
      recordBytes: 500,
    });
    const profiles = output.sources.find(
      (s: { source: string }) => s.source === 'customer_profiles',
    );
    expect(profiles).toMatchObject({ fromDay: '2026-02-04', objects: 1, bytes: mib });
    // 12 MiB of sources, 500 B of records, the request's Parquet read 7 times: billed as 13 MiB.
    expect(output.bytes).toBe(12 * mib + 500 + 7 * output.requestBytes);
    expect(output.requestBytes).toBeGreaterThan(0);
    expect(output.estimate.billedBytes).toBe(13 * mib);
    expect(output.estimate.usd).toBeCloseTo((13 * 5) / 1024 ** 2, 12);
    // Pages of 2 keys: orders listed from its first day in range, with continuation tokens.
    const ordersListings = s3.listings.filter((l) => l.prefix === 'offline/orders/');
    expect(ordersListings[0]).toMatchObject({ startAfter: 'offline/orders/dt=2025-12-06' });
    expect(ordersListings.length).toBeGreaterThan(1);
    expect(ordersListings.slice(1).every((l) => l.continuationToken !== undefined)).toBe(true);
  });

  it('says in text that the figures are an estimate, with the price and the bytes', async () => {
    const result = await runFstore(awsDryRun('offline-bucket'), { env: awsEnv });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('nothing uploaded, no query run');
    expect(result.stdout).toContain(
      'orders partitions: 2025-12-06 (5.0 MiB), 2026-03-11 (6.0 MiB)',
    );
    expect(result.stdout).toMatch(/Estimated scan: 12\.0 MiB/);
    expect(result.stdout).toContain(
      'Estimated cost: about $0.000062 ($5 per TB scanned, 10 MB minimum per query; an estimate',
    );
  });

  it('names the bucket, prefix and IAM action when listing is denied', async () => {
    const result = await runFstore(awsDryRun('locked'), { env: awsEnv });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(
      'access denied listing s3://locked/offline/customer_profiles/ (to estimate what the training set would scan)',
    );
    expect(result.stderr).toContain(
      's3:ListBucket on arn:aws:s3:::locked for the prefix offline/customer_profiles/',
    );
  });

  it('rides out S3 throttling with the SDK’s retries and then gives the whole estimate', async () => {
    const busy = await runFstore(awsDryRun('busy-bucket', '--json'), { env: awsEnv });
    expect(busy.stderr).not.toMatch(/error|throttl/i);
    expect(busy.code).toBe(0);
    const calm = await runFstore(awsDryRun('offline-bucket', '--json'), { env: awsEnv });
    const { bytes, sources } = JSON.parse(busy.stdout);
    expect({ bytes, sources }).toEqual({
      bytes: JSON.parse(calm.stdout).bytes,
      sources: JSON.parse(calm.stdout).sources,
    });
    // Two SlowDown answers, then the same listing again.
    const first = s3.listings.filter((l) => l.bucket === 'busy-bucket').slice(0, 3);
    expect(first.map((l) => l.prefix)).toEqual(Array(3).fill('offline/customer_profiles/'));
  });

  it('names the prefix and the throttling when S3 keeps slowing it down, exits non-zero and prints no total', async () => {
    const text = await runFstore(awsDryRun('throttled-bucket'), { env: awsEnv });
    expect(text.code).not.toBe(0);
    expect(text.stderr).toContain(
      'S3 kept throttling the listing of s3://throttled-bucket/offline/customer_profiles/ (SlowDown, HTTP 503) after 3 attempts: no estimate',
    );
    expect(text.stderr).toContain('try again in a minute');
    expect(text.stdout).not.toMatch(/Estimated|partitions:|orders/);
    // The SDK's three attempts at the first listing, and nothing after it.
    expect(s3.listings.filter((l) => l.bucket === 'throttled-bucket')).toHaveLength(3);

    const json = await runFstore(awsDryRun('throttled-bucket', '--json'), { env: awsEnv });
    expect(json.code).not.toBe(0);
    const document = JSON.parse(json.stdout);
    expect(Object.keys(document)).toEqual(['error']);
    expect(document.error.message).toContain('s3://throttled-bucket/offline/customer_profiles/');
  });

  it('removes its staged copy of the entity rows when stopped by SIGTERM mid-listing', async () => {
    const tmp = await makeTempDir('dry-run-tmp');
    const running = spawnFstore(awsDryRun('slow-bucket'), { env: { ...awsEnv, TMPDIR: tmp } });
    const started = Date.now();
    while (!s3.listings.some((l) => l.bucket === 'slow-bucket')) {
      if (Date.now() - started > 90_000) throw new Error(`no listing: ${running.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const staged = async () => (await readdir(tmp)).filter((n) => n.startsWith('fstore-dry-run-'));
    expect(await staged()).toHaveLength(1);
    running.kill('SIGTERM');
    expect(await running.exited).toBe(143);
    expect(await staged()).toEqual([]);
  });

  it('still needs --out without --dry-run', async () => {
    const result = await runFstore(
      ['--env', 'dev', 'training-set', '--service', 'churn_online', '--entities', entities],
      { env: { ...awsEnv, FSTORE_OFFLINE_BUCKET: 'offline-bucket' } },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('pass --out <file> for the result (.parquet or .csv)');
  });
});

describe('fstore training-set --dry-run locally', () => {
  it('refuses an entity file without rows or with a bad timestamp, naming the file or the row', async () => {
    const dir = await makeTempDir('dry-run-bad');
    const empty = path.join(dir, 'empty.csv');
    await writeFile(empty, 'customer_id,event_timestamp\n');
    const bad = path.join(dir, 'bad.csv');
    await writeFile(bad, 'customer_id,event_timestamp\nC1,2026-03-06T00:00:00Z\nC2,yesterday\n');
    const dryRun = (file: string) =>
      runFstore([
        '--data-dir',
        dir,
        'training-set',
        '--features',
        'last_order:*',
        '--entities',
        file,
        '--dry-run',
      ]);
    const none = await dryRun(empty);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('entity file empty.csv has no rows (only a header)');
    const wrong = await dryRun(bad);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain(
      'row 2, column event_timestamp: "yesterday" is not a valid timestamp',
    );
    expect(wrong.stdout).toBe('');
  });

  it('lists exactly the files the training set then reads, with their sizes and total, and writes nothing', async () => {
    const fixture = await offlineFixture(
      (await loadDefinitions(path.join(repoRoot, 'feature-defs'))).map((d) => d.definition),
    );
    const order = (id: string, at: string) => ({
      order_id: id,
      customer_id: 'C1',
      amount: 5,
      category: 'books',
      event_ts: at,
      created_ts: at,
    });
    const profile = (at: string) => ({
      customer_id: 'C2',
      age: 40,
      plan: 'basic',
      region: 'eu',
      monthly_charges: 10,
      tenure_months: 3,
      event_ts: at,
      created_ts: at,
    });
    // Rows at 2026-03-06 and 2026-09-01: last_order (90 d) reaches 2025-12-06..2026-03-06 and
    // 2026-06-03..2026-09-01, customer_profile (30 d) 2026-02-04..03-06 and 2026-08-02..09-01.
    await fixture.ingest('orders', [
      order('O1', '2025-12-05T12:00:00Z'),
      order('O2', '2025-12-06T00:00:00Z'),
      order('O3', '2026-04-15T00:00:00Z'),
      order('O4', '2026-08-01T00:00:00Z'),
    ]);
    // The newest ingest reaches no row's window, but its first file is read for its columns.
    await fixture.ingest('orders', [order('O5', '2026-10-01T00:00:00Z')]);
    await fixture.ingest('customer_profiles', [
      profile('2026-02-20T00:00:00Z'),
      profile('2026-05-01T00:00:00Z'),
      profile('2026-08-20T00:00:00Z'),
    ]);
    const entityFile = path.join(fixture.dataDir, 'entities.csv');
    await writeFile(
      entityFile,
      'customer_id,event_timestamp\nC1,2026-03-06T00:00:00Z\nC2,2026-09-01T00:00:00Z\n',
    );
    const request = [
      '--data-dir',
      fixture.dataDir,
      'training-set',
      '--features',
      'last_order:*',
      'customer_profile:*',
      '--entities',
      entityFile,
    ];
    const before = await readdir(fixture.dataDir, { recursive: true });
    const dry = await runFstore([...request, '--dry-run', '--json']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(await readdir(fixture.dataDir, { recursive: true })).toEqual(before);
    const estimate = JSON.parse(dry.stdout);
    type Listed = { path: string; dt: string; bytes: number };
    const listed: Listed[] = estimate.sources.flatMap((s: { files: Listed[] }) => s.files);
    const daysOf = (source: string) =>
      estimate.sources
        .find((s: { source: string }) => s.source === source)
        .files.map((f: Listed) => f.dt);
    expect(daysOf('orders')).toEqual(['2025-12-06', '2026-08-01', '2026-10-01']);
    expect(daysOf('customer_profiles')).toEqual(['2026-02-20', '2026-08-20']);
    expect(estimate.sources.find((s: { source: string }) => s.source === 'orders').days).toEqual([
      { from: '2025-12-06', to: '2026-03-06' },
      { from: '2026-06-03', to: '2026-09-01' },
    ]);
    for (const file of listed) expect(file.bytes).toBe((await stat(file.path)).size);
    expect(estimate.files).toBe(5);
    expect(estimate.bytes).toBe(listed.reduce((total, f) => total + f.bytes, 0));
    expect(estimate.keyValues).toEqual({ customer_id: 2 });

    const out = path.join(fixture.dataDir, 'training.parquet');
    const real = await runFstore([...request, '--out', out, '--show-sql', '--json']);
    expect(real.code).toBe(0);
    const read = [...JSON.parse(real.stdout).sql.matchAll(/'([^']+\.parquet)'/g)].map((m) => m[1]);
    // The run opens only listed files: the latest-row search (lib/offline/latest-row-days.ts)
    // reads the windows' files, and the join reads the rows it kept, naming only each source's
    // newest ingest's first file, for its columns.
    expect(listed.map((f) => f.path)).toEqual(expect.arrayContaining(read));
    expect(JSON.parse(real.stdout).sql).toContain('fstore_found_');
    expect(read.map((file) => /dt=([\d-]+)/.exec(file)?.[1])).toEqual(['2026-10-01', '2026-02-20']);

    const text = await runFstore([...request, '--dry-run']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('2025-12-06..2026-03-06, 2026-06-03..2026-09-01');
    expect(text.stdout).toMatch(/Opens: 5 files, [\d.]+ KiB: the files the training set opens/);
    expect(text.stdout).toContain("only the rows of the request's keys (2 customer_id)");
  });
});

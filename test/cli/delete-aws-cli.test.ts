import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveStageConfig } from '../../lib/config/stages.ts';
import { queryRows } from '../../lib/offline/duckdb-session.ts';
import { s3SnapshotKey } from '../../lib/offline/s3-snapshots.ts';
import { newSnapshot } from '../../lib/offline/snapshot-format.ts';
import { serializeRegistry } from '../../lib/registry/compile.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../lib/registry/index.ts';
import { stackName } from '../../lib/stacks/stack-name.ts';
import { readThroughAthenaRelation } from '../helpers/athena-relation-on-duckdb.ts';
import { repoRoot, runFstore } from '../helpers/run-fstore.ts';
import {
  ordersDataKey,
  threeIngestIds,
  useS3CompactionFixture,
} from '../helpers/s3-compaction-fixture.ts';

const fixture = useS3CompactionFixture('delete-aws-cli');
const secret = 'k'.repeat(64);
const quarantined = 'quarantine/customer_stats/run-1/1-part-00001.jsonl';

/**
 * One loopback endpoint for the AWS services `fstore delete --env dev` calls besides S3:
 * CloudFormation (Query protocol: the stack's outputs), Secrets Manager (the audit key), Athena
 * (answered by DuckDB over the loopback bucket's objects of `orders`; other tables are empty) and
 * DynamoDB (Scan and DeleteItem over `items`; UpdateItem of materialization state items, taking
 * or giving back a view's lease, recorded in `leases` and always granted).
 */
let server: ReturnType<typeof createServer>;
let endpoint = '';
const items = new Set<string>();
/** `<state key> <update expression>` of each UpdateItem (the views' materialization leases). */
const leases: string[] = [];
const answers = new Map<string, Record<string, unknown>[]>();

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function answer(target: string, input: Record<string, unknown>): Promise<unknown> {
  switch (target) {
    case 'secretsmanager.GetSecretValue':
      return { ARN: String(input.SecretId), SecretString: secret };
    case 'AmazonAthena.StartQueryExecution': {
      const sql = String(input.QueryString);
      const id = `q${answers.size + 1}`;
      if (!sql.includes('"fstore_dev"."orders"')) answers.set(id, []);
      else {
        await readThroughAthenaRelation(fixture.duckdb.connection, {
          objects: fixture.bucket.objects,
          bucket: fixture.bucket.name,
          source: 'orders',
          scratch: fixture.scratch,
        });
        answers.set(id, await queryRows(fixture.duckdb.connection, sql));
      }
      return { QueryExecutionId: id };
    }
    case 'AmazonAthena.GetQueryExecution':
      return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
    case 'AmazonAthena.GetQueryResults': {
      const rows = answers.get(String(input.QueryExecutionId)) ?? [];
      const names = ['object', 'rows'];
      return {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: names.map((Name) => ({ Name, Type: 'varchar' })) },
          Rows: [
            { Data: names.map((VarCharValue) => ({ VarCharValue })) },
            ...rows.map((row) => ({ Data: names.map((n) => ({ VarCharValue: String(row[n]) })) })),
          ],
        },
      };
    }
    case 'DynamoDB_20120810.Scan':
      return { Items: [...items].map((pk) => ({ pk: { S: pk } })), Count: items.size };
    case 'DynamoDB_20120810.UpdateItem': {
      const pk = String((input.Key as { pk: { S: string } }).pk.S);
      leases.push(`${pk} ${String(input.UpdateExpression)}`);
      return { Attributes: { pk: { S: pk } } };
    }
    case 'DynamoDB_20120810.DeleteItem': {
      const pk = String((input.Key as { pk: { S: string } }).pk.S);
      return items.delete(pk) ? { Attributes: { pk: { S: pk } } } : {};
    }
    default:
      return undefined;
  }
}

function describeStacks(): string {
  const name = stackName(resolveStageConfig('dev'));
  const outputs = {
    OfflineBucketName: fixture.bucket.name,
    // The loopback bucket stands for the artifacts bucket too (registry/deployed.json).
    ArtifactsBucketName: fixture.bucket.name,
    AuditKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:audit',
  };
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:eu-west-1:111122223333:stack/${name}/1</StackId><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${Object.entries(
    outputs,
  )
    .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
    .join('')}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`;
}

beforeAll(async () => {
  server = createServer((request, response) => {
    void (async () => {
      const text = await bodyOf(request);
      const target = String(request.headers['x-amz-target'] ?? '');
      if (!target && text.includes('Action=DescribeStacks')) {
        response.setHeader('content-type', 'text/xml');
        response.end(describeStacks());
        return;
      }
      const output = await answer(target, text ? JSON.parse(text) : {});
      response.setHeader(
        'content-type',
        target.startsWith('DynamoDB') ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      );
      if (output === undefined) {
        response.statusCode = 400;
        response.end(JSON.stringify({ __type: 'UnknownOperationException', message: target }));
        return;
      }
      response.end(JSON.stringify(output));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The registry the CLI compiles from the repository's feature-defs, recorded as deployed. */
let local: Registry;
beforeAll(async () => {
  local = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));
});

beforeEach(async () => {
  fixture.bucket.objects.clear();
  await fixture.commitThreeIngests();
  fixture.bucket.objects.set('registry/deployed.json', Buffer.from(serializeRegistry(local)));
  fixture.bucket.objects.set(
    quarantined,
    Buffer.from(`${JSON.stringify({ row: { customer_id: 'C1' } })}\n`),
  );
  items.clear();
  leases.length = 0;
  for (const pk of ['customer_stats#v1#customer_id=C1', 'customer_stats#v1#customer_id=C2'])
    items.add(pk);
});

/** A snapshot pinning everything the three ingests committed (so C1's rows). */
const pinAllIngests = (name: string) =>
  fixture.bucket.objects.set(
    s3SnapshotKey(name),
    Buffer.from(
      JSON.stringify(
        newSnapshot(
          { name, sources: ['orders'] },
          new Map([['orders', { maxSeq: 23n, ingestIds: [...threeIngestIds] }]]),
        ),
      ),
    ),
  );

const deleteOnAws = (...extra: string[]) =>
  runFstore(['--env', 'dev', 'delete', '--entity', 'customer_id=C1', '--yes', ...extra], {
    env: {
      ...fixture.bucket.env,
      AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
      AWS_ENDPOINT_URL_ATHENA: endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    },
  });

describe('fstore delete --env dev, the real CLI against loopback AWS endpoints', () => {
  it('reads the stack and the audit key, deletes the rows, quarantined rows and items, and audits in the bucket', async () => {
    pinAllIngests('march');
    const result = await deleteOnAws('--json');
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      bucket: fixture.bucket.name,
      dryRun: false,
      keyHash: 'hmac-sha256',
      quarantine: [{ file: 'customer_stats/run-1/1-part-00001.jsonl', rows: 1 }],
      online: [{ view: 'customer_stats', items: 1 }],
      snapshotsAffected: ['march'],
    });
    expect(out.offline.find((o: { source: string }) => o.source === 'orders')).toMatchObject({
      rows: 3,
      files: 3,
    });
    expect(out.auditObject).toMatch(/^s3:\/\/offline-bucket\/_fstore\/audit\/deletes\//);
    expect((await fixture.readable()).map((r) => r.customer_id)).not.toContain('C1');
    expect(fixture.bucket.objects.has(ordersDataKey('2026-03-01', threeIngestIds[0]))).toBe(false);
    expect(fixture.bucket.objects.has(quarantined)).toBe(false);
    expect([...items]).toEqual(['customer_stats#v1#customer_id=C2']);
    expect(result.stdout).not.toContain('"C1"');
    // Each online view of an affected source held while its items went, then given back.
    const taken = leases.filter((l) => l.includes(' SET '));
    expect(taken.length).toBeGreaterThan(0);
    expect(taken.every((l) => l.startsWith('~fstore#materialization#'))).toBe(true);
    expect(leases.filter((l) => l.endsWith('REMOVE #o, #x'))).toHaveLength(taken.length);
  }, 120_000);

  it('--dry-run prints what would go, naming the snapshots holding the rows, and changes nothing', async () => {
    pinAllIngests('march');
    const before = new Map(fixture.bucket.objects);
    const result = await deleteOnAws('--dry-run');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('offline orders: would delete 3 rows');
    expect(result.stdout).toContain('quarantine: would delete 1 row\n');
    expect(result.stdout).toMatch(/^online \w+: would delete \d+ items?$/m);
    expect(result.stdout).toContain(
      'snapshots holding these rows (training sets read as of them no longer reproduce exactly): march\n',
    );
    expect(result.stdout).toContain('Dry run: nothing was changed');
    expect(new Map(fixture.bucket.objects)).toEqual(before);
    expect(items.size).toBe(2);
  }, 120_000);

  it('refuses, naming both versions, when the environment runs another registry than the local definitions', async () => {
    fixture.bucket.objects.set(
      'registry/deployed.json',
      Buffer.from(serializeRegistry({ ...local, version: 'other' })),
    );
    const before = new Map(fixture.bucket.objects);
    const result = await deleteOnAws();
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `environment "dev" runs registry other (s3://offline-bucket/registry/deployed.json), the local definitions compile to ${local.version}; nothing was changed`,
    );
    expect(new Map(fixture.bucket.objects)).toEqual(before);
    expect(items.size).toBe(2);
  }, 120_000);
});

import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { TrinoSQL } from 'dt-sql-parser';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  objectsHoldingKeys,
  renderObjectsHoldingKeys,
  splitByCommitted,
} from '../../../lib/erasure/athena-objects-holding-keys.ts';
import type { ErasureKey } from '../../../lib/erasure/erasure-keys.ts';
import { AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';

const trino = new TrinoSQL();
const orders = {
  name: 'orders',
  schema: [
    { name: 'customer_id', type: 'string' as const },
    { name: 'store_id', type: 'int64' as const },
    { name: 'event_ts', type: 'timestamp' as const },
  ],
};
const keys: ErasureKey[] = [
  { key: 'customer_id', type: 'string', value: "O'Hara" },
  { key: 'store_id', type: 'int64', value: '9223372036854775807' },
  { key: 'bank_id', type: 'int32', value: '7' },
];

const athena = mockClient(AthenaClient);
const runner = new AthenaQueryRunner({
  athena: new AthenaClient({ region: 'eu-west-1' }),
  workgroup: 'fstore-dev',
  database: 'fstore_dev',
  sleep: async () => {},
});
/** Athena's answer page; a NULL `min_seq` comes as a cell without VarCharValue. */
const page = (
  rows: [string, string, string | undefined][],
  header: boolean,
  NextToken?: string,
) => ({
  ResultSet: {
    ResultSetMetadata: {
      ColumnInfo: [
        { Name: 'object', Type: 'varchar' },
        { Name: 'rows', Type: 'bigint' },
        { Name: 'min_seq', Type: 'bigint' },
      ],
    },
    Rows: [
      ...(header
        ? [
            {
              Data: [
                { VarCharValue: 'object' },
                { VarCharValue: 'rows' },
                { VarCharValue: 'min_seq' },
              ],
            },
          ]
        : []),
      ...rows.map(([object, n, minSeq]) => ({
        Data: [
          { VarCharValue: object },
          { VarCharValue: n },
          minSeq === undefined ? {} : { VarCharValue: minSeq },
        ],
      })),
    ],
  },
  ...(NextToken ? { NextToken } : {}),
});

describe('finding the S3 objects that hold an entity with Athena "$path" (AWS deletion, first step)', () => {
  beforeEach(() => {
    athena.reset();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
  });

  it('renders Trino SQL over the source table itself, with the keys the source has, quoted', () => {
    const sql = renderObjectsHoldingKeys('fstore_dev', orders, keys);
    expect(sql).toBe(
      `SELECT "$path" AS "object", count(*) AS "rows", min("fstore_seq") AS "min_seq" FROM "fstore_dev"."orders" WHERE "customer_id" IN ('O''Hara') OR "store_id" IN (9223372036854775807) GROUP BY "$path" ORDER BY "$path"`,
    );
    expect(trino.validate(sql ?? '').map((e) => e.message)).toEqual([]);
    expect(
      renderObjectsHoldingKeys('fstore_dev', orders, [
        { key: 'bank_id', type: 'int32', value: '7' },
      ]),
    ).toBeUndefined();
  });

  it('matches a key stored under its mapped name, as text when the column has another type (Trino SQL, as locally)', () => {
    const visits = {
      name: 'visits',
      schema: [
        { name: 'visitor', type: 'int64' as const },
        { name: 'event_ts', type: 'timestamp' as const },
      ],
      fieldMapping: { customer_id: 'visitor' },
    };
    const sql = renderObjectsHoldingKeys('fstore_dev', visits, keys);
    expect(sql).toContain(`WHERE CAST("visitor" AS VARCHAR) IN ('O''Hara') GROUP BY`);
    expect(trino.validate(sql ?? '').map((e) => e.message)).toEqual([]);
  });

  it('reads every page of the answer and gives object keys without the bucket, with the smallest fstore_seq of the rows when the object has one', async () => {
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce(
        page(
          [
            [
              's3://bucket/offline/orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet',
              '2',
              '1844674407370955161',
            ],
          ],
          true,
          'next',
        ),
      )
      .resolvesOnce(
        page(
          [
            [
              's3://bucket/offline/orders/dt=2026-03-02/20260302t000000-bbbbbbbb-0.parquet',
              '1',
              undefined,
            ],
          ],
          false,
        ),
      );
    const found = await objectsHoldingKeys(runner, 'fstore_dev', orders, keys);
    expect(found).toEqual([
      {
        key: 'offline/orders/dt=2026-03-01/20260301t000000-aaaaaaaa-0.parquet',
        rows: 2,
        minSeq: 1844674407370955161n,
      },
      { key: 'offline/orders/dt=2026-03-02/20260302t000000-bbbbbbbb-0.parquet', rows: 1 },
    ]);
    const started = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(started?.QueryString).toContain('"$path"');
    expect(started?.WorkGroup).toBe('fstore-dev');
    expect(athena.commandCalls(GetQueryResultsCommand)[1]?.args[0].input.NextToken).toBe('next');
  });

  it('sends no query when the source has none of the keys', async () => {
    expect(
      await objectsHoldingKeys(runner, 'fstore_dev', orders, [
        { key: 'bank_id', type: 'int32', value: '7' },
      ]),
    ).toEqual([]);
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });

  it('rewrites committed objects, removes replaced ones, and rewrites in place those no record names (an ingest may commit them)', () => {
    const found = [
      { key: 'a.parquet', rows: 1 },
      { key: 'b.parquet', rows: 3 },
      { key: 'c.parquet', rows: 2 },
    ];
    expect(splitByCommitted(found, new Set(['b.parquet']), new Set(['c.parquet']))).toEqual({
      rewrite: [{ key: 'b.parquet', rows: 3 }],
      remove: [{ key: 'c.parquet', rows: 2 }],
      rewriteInPlace: [{ key: 'a.parquet', rows: 1 }],
    });
  });
});

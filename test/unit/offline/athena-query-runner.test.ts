import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryError, AthenaQueryRunner } from '../../../lib/offline/athena-query-runner.ts';

const athena = mockClient(AthenaClient);
const state = (State: QueryExecutionState, extra: Record<string, unknown> = {}) => ({
  QueryExecution: {
    QueryExecutionId: 'q1',
    Status: { State, ...extra },
    Statistics: { DataScannedInBytes: 2048, EngineExecutionTimeInMillis: 900 },
    ResultConfiguration: { OutputLocation: 's3://b/athena-results/q1.csv' },
  },
});

function runner(extra: Partial<ConstructorParameters<typeof AthenaQueryRunner>[0]> = {}) {
  const delays: number[] = [];
  let clock = 0;
  const instance = new AthenaQueryRunner({
    athena: new AthenaClient({}),
    workgroup: 'fstore-dev',
    database: 'fstore_dev',
    sleep: async (ms) => {
      delays.push(ms);
      clock += ms;
    },
    now: () => clock,
    random: () => 0.5,
    ...extra,
  });
  return { instance, delays };
}

describe('AthenaQueryRunner (aws-sdk-client-mock)', () => {
  beforeEach(() => athena.reset());

  it('starts the query in the workgroup and polls with growing, capped delays until it succeeds', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce(state('QUEUED'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolvesOnce(state('RUNNING'))
      .resolves(state('SUCCEEDED'));
    const { instance, delays } = runner({ pollMaxMs: 1000 });
    const result = await instance.run('SELECT 1', { parameters: ["'r1'"] });
    expect(result).toEqual({
      queryExecutionId: 'q1',
      dataScannedBytes: 2048,
      engineExecutionMs: 900,
      outputLocation: 's3://b/athena-results/q1.csv',
    });
    expect(delays).toEqual([200, 400, 800, 1000, 1000]);
    const input = athena.commandCalls(StartQueryExecutionCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      WorkGroup: 'fstore-dev',
      QueryExecutionContext: { Database: 'fstore_dev' },
      ExecutionParameters: ["'r1'"],
    });
  });

  it("surfaces Athena's failure reason and error type", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves(
      state('FAILED', {
        StateChangeReason: 'COLUMN_NOT_FOUND: line 3:8',
        AthenaError: { ErrorCategory: 2, ErrorType: 1006 },
      }),
    );
    await expect(runner().instance.run('SELECT x')).rejects.toThrow(
      'Athena query q1 failed: COLUMN_NOT_FOUND: line 3:8 [user 1006]',
    );
  });

  it('reports a query cancelled elsewhere', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves(state('CANCELLED'));
    await expect(runner().instance.run('SELECT 1')).rejects.toThrow(
      'Athena query q1 was cancelled',
    );
  });

  it('stops the query when the overall timeout passes', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves(state('RUNNING'));
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(runner({ timeoutMs: 3000 }).instance.run('SELECT 1')).rejects.toThrow(
      'did not finish within 3 s and was stopped',
    );
    expect(athena.commandCalls(StopQueryExecutionCommand)[0]?.args[0].input).toEqual({
      QueryExecutionId: 'q1',
    });
  });

  it('stops the query when the caller aborts (Ctrl-C)', async () => {
    const controller = new AbortController();
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).callsFake(async () => {
      controller.abort();
      return state('RUNNING');
    });
    athena.on(StopQueryExecutionCommand).resolves({});
    await expect(runner().instance.run('SELECT 1', { signal: controller.signal })).rejects.toThrow(
      AthenaQueryError,
    );
    expect(athena.commandCalls(StopQueryExecutionCommand)).toHaveLength(1);
  });

  it('retries a throttled start and gives up after the bound with a clear error', async () => {
    const throttle = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    athena
      .on(StartQueryExecutionCommand)
      .rejectsOnce(throttle)
      .resolves({ QueryExecutionId: 'q1' });
    athena.on(GetQueryExecutionCommand).resolves(state('SUCCEEDED'));
    expect((await runner().instance.run('SELECT 1')).queryExecutionId).toBe('q1');
    athena.reset();
    athena.on(StartQueryExecutionCommand).rejects(throttle);
    await expect(runner({ maxThrottledAttempts: 3 }).instance.run('SELECT 1')).rejects.toThrow(
      'Athena kept throttling after 3 attempts',
    );
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(3);
  });

  it('pages through results, skipping the header row, with NULLs as null', async () => {
    const columns = {
      ColumnInfo: [
        { Name: 'customer_id', Type: 'varchar' },
        { Name: 'plan', Type: 'varchar' },
      ],
    };
    const row = (...values: (string | undefined)[]) => ({
      Data: values.map((v) => (v === undefined ? {} : { VarCharValue: v })),
    });
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: {
          ResultSetMetadata: columns,
          Rows: [row('customer_id', 'plan'), row('C1', 'gold')],
        },
        NextToken: 't1',
      })
      .resolvesOnce({
        ResultSet: { ResultSetMetadata: columns, Rows: [row('C2', undefined)] },
        NextToken: 't2',
      })
      .resolvesOnce({ ResultSet: { ResultSetMetadata: columns, Rows: [row('C3', 'basic')] } });
    const rows: Record<string, string | null>[] = [];
    for await (const r of runner().instance.rows('q1')) rows.push(r);
    expect(rows).toEqual([
      { customer_id: 'C1', plan: 'gold' },
      { customer_id: 'C2', plan: null },
      { customer_id: 'C3', plan: 'basic' },
    ]);
    expect(
      athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.NextToken),
    ).toEqual([undefined, 't1', 't2']);
  });
});

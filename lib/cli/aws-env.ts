import { AthenaClient } from '@aws-sdk/client-athena';
import { glueDatabaseName } from '../constructs/glue-columns.ts';
import { AthenaQueryRunner } from '../offline/athena-query-runner.ts';
import { awsRegion } from './aws-region.ts';

/** Athena in the environment's workgroup (`fstore-<env>`) over its Glue database. */
export function athenaRunnerFor(env: string): { runner: AthenaQueryRunner; database: string } {
  const database = glueDatabaseName(env);
  return {
    database,
    runner: new AthenaQueryRunner({
      athena: new AthenaClient({ region: awsRegion(env) }),
      workgroup: `fstore-${env}`,
      database,
    }),
  };
}

import { AthenaClient } from '@aws-sdk/client-athena';
import { resolveStageConfig } from '../config/stages.ts';
import { glueDatabaseName } from '../constructs/glue-columns.ts';
import { AthenaQueryRunner } from '../offline/athena-query-runner.ts';

/** The region of an AWS environment: AWS_REGION, else the stage config's. */
export function awsRegion(env: string): string {
  return process.env.AWS_REGION ?? resolveStageConfig(env).region;
}

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

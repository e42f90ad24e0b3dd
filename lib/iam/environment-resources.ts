import { glueDatabaseName } from '../constructs/glue-columns.ts';
import { ingestRecordsTable } from '../offline/ingest-records.ts';
import type { Registry } from '../registry/index.ts';
import { entityRequestTable } from '../sql/athena-service-query.ts';
import { bucketArnOf, type OfflineStoreResources } from './offline-policy.ts';
import type { ArnScope } from './policy-statement.ts';

/** The Athena workgroup of an environment. */
export function athenaWorkGroupName(env: string): string {
  return `fstore-${env}`;
}

/**
 * An environment's offline-store names as its stack declares them, from the registry: the Glue
 * database `fstore_<env>`, the workgroup `fstore-<env>`, one table per source, the ingest
 * records, one request table per feature service. Only the bucket's name is generated at
 * deploy time, so it is given.
 */
export function offlineResourcesOf(
  registry: Registry,
  env: string,
  scope: ArnScope,
  bucketName: string,
): OfflineStoreResources {
  return {
    scope,
    bucketArn: bucketArnOf(scope, bucketName),
    databaseName: glueDatabaseName(env),
    workGroupName: athenaWorkGroupName(env),
    dataTables: [...registry.sources.map((s) => s.offline.glueTable), ingestRecordsTable],
    requestTables: registry.featureServices.map((s) => entityRequestTable(s.name)),
  };
}

import { Aws } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import type { Construct } from 'constructs';
import { tileBaseRangesPrefix, tileBaseRangesTable } from '../materialize/tile-base-ranges.ts';

/**
 * `fstore_tile_base_ranges`: the counted `fstore_seq` ranges a tile base query ships as data
 * (lib/materialize/tile-base-ranges.ts), CSV `bucket,first,last` under
 * `tile-base-ranges/<run>/`. The `run` partition is injected, so a query names one run and
 * Athena lists only its folder; the objects expire by the bucket's lifecycle rule.
 */
export function addTileBaseRangesTable(
  scope: Construct,
  props: {
    readonly bucketName: string;
    readonly database: glue.CfnDatabase;
    readonly databaseName: string;
  },
): glue.CfnTable {
  const location = `s3://${props.bucketName}/${tileBaseRangesPrefix}`;
  const table = new glue.CfnTable(scope, 'TileBaseRanges', {
    catalogId: Aws.ACCOUNT_ID,
    databaseName: props.databaseName,
    tableInput: {
      name: tileBaseRangesTable,
      description:
        'fstore_seq ranges of one tile base query of the materializer; query with WHERE run = ...',
      tableType: 'EXTERNAL_TABLE',
      partitionKeys: [{ name: 'run', type: 'string' }],
      parameters: {
        classification: 'csv',
        'projection.enabled': 'true',
        'projection.run.type': 'injected',
        'storage.location.template': `${location}\${run}/`,
      },
      storageDescriptor: {
        location,
        columns: [
          { name: 'fstore_bucket', type: 'bigint', comment: 'first fstore_seq of a 2^20 bucket' },
          { name: 'fstore_first', type: 'bigint', comment: 'first fstore_seq of the range' },
          { name: 'fstore_last', type: 'bigint', comment: 'last fstore_seq of the range' },
        ],
        inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
        serdeInfo: {
          serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
          parameters: { 'field.delim': ',' },
        },
      },
    },
  });
  table.addResourceDependency(props.database);
  return table;
}

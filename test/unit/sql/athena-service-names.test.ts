import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRegistry, loadDefinitions } from '../../../lib/registry/index.ts';
import {
  entityRequestColumns,
  entityRequestPrefix,
  entityRequestTable,
  servicePreparedStatement,
} from '../../../lib/sql/athena-service-query.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

// The names a training job outside fstore relies on (README "Training sets with only Athena"):
// the CDK stack, the IAM policy and the statement itself take them from these functions, so the
// infra tests, which no mutation run includes, were the only ones to read them.

const examples = compileRegistry(await loadDefinitions(path.join(repoRoot, 'feature-defs')));

describe("a feature service's Athena request names", () => {
  it('names the request table, the prepared statement and the S3 prefix after the service', () => {
    expect(entityRequestTable('churn_v1')).toBe('fstore_requests_churn_v1');
    expect(servicePreparedStatement('churn_v1')).toBe('fstore_churn_v1');
    expect(entityRequestPrefix('churn_v1')).toBe('requests/churn_v1/');
  });

  it('gives the request table row_key, the join keys of its views and event_timestamp, in that order', () => {
    expect(entityRequestColumns(examples, 'churn_v1')).toEqual([
      { name: 'row_key', type: 'string' },
      { name: 'customer_id', type: 'string' },
      { name: 'event_timestamp', type: 'timestamp' },
    ]);
  });
});

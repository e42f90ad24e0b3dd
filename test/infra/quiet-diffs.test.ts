import { beforeAll, describe, expect, it } from 'vitest';
import { editedExampleRegistry } from '../helpers/edited-example-registry.ts';
import {
  type Resources,
  resourceDiff,
  synthesizedResources,
  withoutHash,
} from './template-diff.ts';

/** A new source and an online view of it, as a user would add them in one new file. */
const visitsFile = `import { defineFeatureView, defineSource } from 'fstore:definitions';
import { customer } from './entities.ts';

const webVisits = defineSource({
  name: 'web_visits',
  schema: { customer_id: 'string', pages: 'int32', event_ts: 'timestamp' },
  timestampField: 'event_ts',
});

export const recentVisits = defineFeatureView({
  name: 'recent_visits',
  entities: [customer],
  source: webVisits,
  features: { pages: { type: 'int32', min: 0 } },
  ttl: '7d',
  online: true,
  schedule: 'rate(1 hour)',
});
`;

/** The deploy records the registry it deployed (ADR 0010): that record changes at every edit. */
const registryRecord = [
  'RegistryRecordDeployed',
  'RegistryRecordHistory',
  'RegistryRecordHistoryCustomResourcePolicy',
];

const codeKey = (resources: Resources, id: string) =>
  (resources[id]?.Properties as { Code?: { S3Key?: unknown } } | undefined)?.Code?.S3Key;

let base: Resources;

describe('a definition edit changes only the resources it concerns (ADR 0012)', () => {
  beforeAll(async () => {
    base = synthesizedResources(await editedExampleRegistry());
  }, 300_000);

  it('a schedule edit changes that schedule, its alarms, the dashboard and the registry record, and no function', async () => {
    const after = synthesizedResources(
      await editedExampleRegistry([
        { file: 'views.ts', from: "schedule: 'rate(6 hours)'", to: "schedule: 'rate(2 hours)'" },
      ]),
    );
    const diff = resourceDiff(base, after);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    // The alarm periods follow the schedule's interval; the dashboard shows the alarms.
    expect(withoutHash(diff.changed)).toEqual([
      'MaterializationScheduleCustomerProfile',
      'MonitoringDashboard',
      'MonitoringFailuresCustomerProfile',
      'MonitoringFreshnessCustomerProfile',
      'MonitoringStalledCustomerProfile',
      ...registryRecord,
    ]);
  }, 300_000);

  it('a description edit changes the registry record and nothing else', async () => {
    const after = synthesizedResources(
      await editedExampleRegistry([
        {
          file: 'views.ts',
          from: 'Latest profile attributes of a customer.',
          to: 'The newest CRM attributes of a customer.',
        },
        {
          file: 'views.ts',
          from: "description: 'Age in years'",
          to: "description: 'Age, whole years'",
        },
      ]),
    );
    const diff = resourceDiff(base, after);
    expect(diff.added).toEqual([]);
    expect(diff.removed).toEqual([]);
    expect(withoutHash(diff.changed)).toEqual(registryRecord);
  }, 300_000);

  it('adding an online view of a new source adds its table, schedule, alarms and offline push stream, and changes only the functions, the materializer’s, the compaction role’s, the erasure operator’s, the push function’s and the push compaction’s policies, the dashboard and the registry record', async () => {
    const after = synthesizedResources(
      await editedExampleRegistry([], { 'visits.ts': visitsFile }),
    );
    const diff = resourceDiff(base, after);
    expect(withoutHash(diff.added)).toEqual([
      'MaterializationScheduleRecentVisits',
      'MonitoringFailuresRecentVisits',
      'MonitoringFreshnessRecentVisits',
      'MonitoringStalledRecentVisits',
      'OfflineStoreTableWebVisits',
      // the new source's Firehose stream for offline pushes, its role, log stream and staging table
      'PushStreamsDeliveryLogWebVisits',
      'PushStreamsRoleWebVisits',
      'PushStreamsRoleWebVisitsDefaultPolicy',
      'PushStreamsStagingWebVisits',
      'PushStreamsStreamWebVisits',
    ]);
    expect(diff.removed).toEqual([]);
    expect(withoutHash(diff.changed)).toEqual([
      // fstore compact's grants on the new source's prefixes and lock
      'CompactionRoleDefaultPolicy',
      // fstore delete --env's grants: the new source's objects, their versions and its lock
      'ErasureOperatorPolicy',
      'MaterializationMaterializer',
      // Athena queries of the new Glue table
      'MaterializationMaterializerServiceRoleDefaultPolicy',
      'MonitoringDashboard',
      // the scheduled compaction's image embeds the new source; it may list its delivery errors
      'PushCompactionFunction',
      'PushCompactionServiceRoleDefaultPolicy',
      ...registryRecord,
      'ServingApiLookup',
      'ServingApiPushFunction',
      // firehose:PutRecordBatch on the new stream too
      'ServingApiPushServiceRoleDefaultPolicy',
    ]);
    // The three bundles embed the new view: the asset hash, so the code, changes.
    for (const id of diff.changed.filter((i) =>
      /^(ServingApiLookup|MaterializationMaterializer|ServingApiPushFunction)[0-9A-F]{8}$/.test(i),
    ))
      expect(codeKey(after, id), id).not.toBe(codeKey(base, id));
  }, 300_000);
});

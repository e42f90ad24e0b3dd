import { describe, expect, it } from 'vitest';
import { defineFeatureService, defineOnDemandView } from '../../../lib/definitions/index.ts';
import { compileRegistry } from '../../../lib/registry/index.ts';
import {
  renderServiceRequest,
  renderServiceRequestSql,
  requestTableReads,
} from '../../../lib/sql/athena-service-query.ts';
import { monthlyProfile } from '../../helpers/monthly-profile.ts';

const { customer, profiles, profile } = monthlyProfile({ ttl: '30d' });
const doubled = defineOnDemandView({
  name: 'doubled',
  inputs: [profile.select(['monthly'])],
  features: { twice: 'float64' },
  transform: (row) => ({ twice: row.monthly === null ? null : row.monthly * 2 }),
});
const registry = compileRegistry(
  [
    customer,
    profiles,
    profile,
    doubled,
    defineFeatureService({ name: 'only_doubled', features: [doubled] }),
    defineFeatureService({ name: 'only_monthly', features: [profile.select(['monthly'])] }),
  ].map((definition) => ({ definition })),
);

describe("a feature service's Athena statement", () => {
  it('reads the stored input of an on-demand view under its hidden name, since Athena cannot run the transform', () => {
    const sql = renderServiceRequestSql(registry, 'only_doubled', 'db');
    expect(sql).toContain('AS "fstore_in_0"');
    expect(sql).not.toContain('"twice"');
  });

  it('counts each read of the request table: the key filter, and the entity rows of the view and of the result', () => {
    expect(requestTableReads(renderServiceRequestSql(registry, 'only_monthly', 'db'))).toBe(3);
    const once =
      'WITH "fstore_entities" AS (SELECT * FROM "fstore_request") SELECT * FROM "fstore_entities"';
    expect(requestTableReads(once)).toBe(1);
  });

  it('refuses to count the request reads of SQL that is no service statement', () => {
    for (const sql of [
      'SELECT 1',
      'WITH "fstore_entities" AS (SELECT 1) SELECT * FROM "fstore_entities"',
      'SELECT * FROM "fstore_request"',
    ])
      expect(() => requestTableReads(sql)).toThrow(
        'internal: not a service statement (no fstore_request or fstore_entities)',
      );
  });

  it('refuses pins that leave out a source it reads, naming the source and the sources pinned', () => {
    const pinned = (pins: [string, bigint][]) => () =>
      renderServiceRequest(registry, 'only_monthly', 'db', undefined, { pins: new Map(pins) });
    const refusal = (list: string) =>
      `the training-set SQL of service "only_monthly" reads source "profiles", which is not pinned (pinned: ${list}): a pinned read of it would see every row`;
    expect(pinned([])).toThrow(refusal('none'));
    expect(
      pinned([
        ['clicks', 3n],
        ['orders', 4n],
      ]),
    ).toThrow(refusal('clicks, orders'));
    expect(pinned([['profiles', 3n]])).not.toThrow();
  });
});

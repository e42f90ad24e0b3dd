import * as z from 'zod/mini';

/*
 * The shape of `GET /v1/registry` (registry-summary.ts), for the OpenAPI document and its
 * tests. Owners, descriptions and tags are absent where the server's registry has none: a
 * deployed lookup function embeds a projection without them (ADR 0012).
 */

const described = (what: string) => ({
  owner: z.optional(z.string().check(z.describe(`Owner of the ${what}; absent on a deployed API`))),
  description: z.optional(z.string().check(z.describe('Absent on a deployed API'))),
  tags: z.optional(z.record(z.string(), z.string()).check(z.describe('Absent on a deployed API'))),
});

const joinKey = z.strictObject({ name: z.string(), type: z.string() });

const featureView = z.strictObject({
  name: z.string(),
  version: z.string(),
  entities: z.array(z.string()),
  joinKeys: z.array(joinKey),
  online: z.boolean(),
  ttl: z.nullable(z.string()).check(z.describe('null: values never expire')),
  status: z.string(),
  ...described('view'),
  features: z.array(
    z.strictObject({
      name: z.string(),
      type: z.string(),
      description: z.optional(z.string().check(z.describe('Absent on a deployed API'))),
    }),
  ),
});

const featureService = z.strictObject({
  name: z.string(),
  online: z.boolean(),
  status: z.string(),
  ...described('service'),
  features: z.array(
    z.strictObject({ name: z.string(), view: z.string(), feature: z.string(), type: z.string() }),
  ),
});

const lineage = z.strictObject({
  nodes: z.array(z.strictObject({ id: z.string(), kind: z.string(), name: z.string() })),
  edges: z.array(z.strictObject({ from: z.string(), to: z.string(), relation: z.string() })),
});

export const registrySummarySchema = z.strictObject({
  version: z.string().check(z.describe('Version of the registry the server reads')),
  featureViews: z.array(featureView),
  featureServices: z.array(featureService),
  lineage,
});

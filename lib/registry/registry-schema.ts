import { z } from 'zod';
import {
  aggregationFunctions,
  joinKeyTypes,
  lifecycleStatuses,
  type ValueType,
  valueTypes,
} from '../definitions/index.ts';

/**
 * The compiled registry: the one artifact every runtime reads (CDK stacks, SQL generation,
 * Lambda bundles, the local store). Plain JSON, validated on read.
 */
export const registryFormatVersion = 1;

const tags = z.record(z.string(), z.string());
const valueType = z.enum(valueTypes as [ValueType, ...ValueType[]]);
const joinKey = z.object({ name: z.string(), type: z.enum(joinKeyTypes) });
const metadata = {
  description: z.string().optional(),
  owner: z.string().optional(),
  tags,
  definedIn: z.string().optional(),
};

export const registryEntitySchema = z.object({
  name: z.string(),
  joinKeys: z.array(joinKey),
  ...metadata,
});

export const offlineLocationSchema = z.object({ glueTable: z.string(), s3Prefix: z.string() });

export const registrySourceSchema = z.object({
  name: z.string(),
  schema: z.array(z.object({ name: z.string(), type: valueType })),
  timestampField: z.string(),
  createdTimestampField: z.string().optional(),
  fieldMapping: z.record(z.string(), z.string()),
  /** Row filter (docs/expressions.md): reads keep only rows where it is TRUE. */
  filter: z.string().optional(),
  /** How long rows are kept offline after their event time (`fstore retention`); absent: the env's default. */
  retention: z.string().optional(),
  retentionSeconds: z.number().optional(),
  offline: offlineLocationSchema,
  /** A Kinesis stream feeding the source's online views (lib/constructs/stream-ingest.ts). */
  stream: z
    .object({
      kinesis: z.union([
        z.object({
          create: z.literal(true),
          shards: z.union([z.number(), z.literal('on-demand')]),
          retentionHours: z.number(),
        }),
        z.object({ streamArn: z.string(), kmsKeyArn: z.string().optional() }),
      ]),
    })
    .optional(),
  ...metadata,
});

export const registryFeatureSchema = z.object({
  name: z.string(),
  type: valueType,
  /** A derived feature's expression over source columns (docs/expressions.md). */
  expr: z.string().optional(),
  description: z.string().optional(),
  nullable: z.boolean(),
  min: z.number().optional(),
  max: z.number().optional(),
  allowedValues: z.array(z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export const registryFeatureViewSchema = z.object({
  name: z.string(),
  /** Content hash of the view's schema and keys; changes when stored data changes shape. */
  version: z.string(),
  transform: z.enum(['passthrough', 'aggregation']),
  aggregations: z
    .array(
      z.object({
        feature: z.string(),
        column: z.string(),
        function: z.enum(aggregationFunctions),
        window: z.string(),
        windowSeconds: z.number(),
      }),
    )
    .optional(),
  entities: z.array(z.string()),
  joinKeys: z.array(joinKey),
  source: z.string(),
  features: z.array(registryFeatureSchema),
  ttl: z.string().optional(),
  ttlSeconds: z.number().optional(),
  online: z.boolean(),
  onlineTiles: z.boolean().optional(),
  schedule: z.string().optional(),
  expectedFreshness: z.string().optional(),
  expectedFreshnessSeconds: z.number().optional(),
  quality: z
    .object({ maxNullPercent: z.number().optional(), minRows: z.number().optional() })
    .optional(),
  status: z.enum(lifecycleStatuses),
  leakageRisk: z.string().optional(),
  offline: offlineLocationSchema,
  onlineStore: z.object({ keyPrefix: z.string() }),
  ...metadata,
});

const onDemandType = z.enum(['int32', 'int64', 'float32', 'float64', 'string', 'bool']);

/**
 * An on-demand view (issue 18): request fields, the input features (`name` is the key in the
 * transform's row), the outputs, and a hash of the transform's source text. The function itself
 * is not in the registry: each runtime imports it from the definitions (lib/on-demand).
 */
export const registryOnDemandViewSchema = z.object({
  name: z.string(),
  /** Content hash of request, inputs, outputs and transform; changes when any of them does. */
  version: z.string(),
  request: z.array(z.object({ name: z.string(), type: onDemandType })),
  inputs: z.array(
    z.object({ view: z.string(), feature: z.string(), name: z.string(), type: onDemandType }),
  ),
  features: z.array(registryFeatureSchema.extend({ type: onDemandType })),
  /** sha256 (16 hex digits) of the transform's source text, Function.prototype.toString. */
  transformHash: z.string(),
  status: z.enum(lifecycleStatuses),
  ...metadata,
});

export const registryFeatureServiceSchema = z.object({
  name: z.string(),
  features: z.array(
    z.object({
      view: z.string(),
      feature: z.string(),
      outputName: z.string(),
      alias: z.string().optional(),
      type: valueType,
    }),
  ),
  /** Features of on-demand views, computed at request time; absent when there are none. */
  onDemandFeatures: z
    .array(
      z.object({
        view: z.string(),
        feature: z.string(),
        outputName: z.string(),
        alias: z.string().optional(),
        type: onDemandType,
      }),
    )
    .optional(),
  /** True when every view it reads is online, so the lookup API can serve it. */
  online: z.boolean(),
  status: z.enum(lifecycleStatuses),
  ...metadata,
});

export const registrySchema = z.object({
  formatVersion: z.literal(registryFormatVersion),
  /** Content hash of everything below; equal registries have equal versions. */
  version: z.string(),
  entities: z.array(registryEntitySchema),
  sources: z.array(registrySourceSchema),
  featureViews: z.array(registryFeatureViewSchema),
  featureServices: z.array(registryFeatureServiceSchema),
  /** Absent when no on-demand view is defined, so registries without any keep their version. */
  onDemandViews: z.array(registryOnDemandViewSchema).optional(),
});

export type Registry = z.infer<typeof registrySchema>;
export type RegistryEntity = z.infer<typeof registryEntitySchema>;
export type RegistrySource = z.infer<typeof registrySourceSchema>;
export type RegistryFeatureView = z.infer<typeof registryFeatureViewSchema>;
export type RegistryFeature = z.infer<typeof registryFeatureSchema>;
export type RegistryFeatureService = z.infer<typeof registryFeatureServiceSchema>;
export type RegistryOnDemandView = z.infer<typeof registryOnDemandViewSchema>;

import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { formatMicros, microsOfMillis } from '../epoch-micros.ts';
import { getTrainingSet } from '../offline/training-set.ts';
import { decodeEntityKey } from '../online/entity-key.ts';
import { itemAttributes as a, decodeValue } from '../online/item-codec.ts';
import type { Registry } from '../registry/index.ts';
import {
  athenaQueryBytes,
  checkAthenaQuerySize,
  maxAthenaQueryBytes,
} from '../sql/athena-query-size.ts';
import type { Dialect } from '../sql/dialect.ts';
import { planPointInTime, requiredJoinKeys } from '../sql/point-in-time-plan.ts';
import { renderTrainingSetSql } from '../sql/render-training-set.ts';
import type { QueryRows } from './query-engine.ts';
import { QualityInputError } from './source-rows.ts';

/** Point-in-time values of `view:*` for entity rows, in their order. */
export type OfflineValues = (
  view: string,
  entities: readonly Record<string, unknown>[],
) => Promise<readonly Record<string, unknown>[]>;

/** Locally: DuckDB over the environment's offline store. */
export function localOfflineValues(
  registry: Registry,
  dataDir: string,
  env: string,
): OfflineValues {
  return async (view, entities) => {
    const file = path.join(tmpdir(), `fstore-verify-${process.pid}-${Date.now()}.jsonl`);
    await writeFile(file, entities.map((e) => JSON.stringify(e)).join('\n'));
    try {
      const result = await getTrainingSet({
        registry,
        dataDir,
        env,
        request: { features: [`${view}:*`] },
        entities: file,
      });
      return result.records ?? [];
    } finally {
      await rm(file, { force: true });
    }
  };
}

/**
 * On AWS: the same point-in-time SQL on Athena, with the sampled entity rows inline as VALUES.
 * A sample whose SQL would pass Athena's 262,144-byte query limit is halved until each part
 * fits (about 4,000 rows of one string key a query); the parts' rows come back in sample order.
 */
export function athenaOfflineValues(
  registry: Registry,
  query: QueryRows,
  dialect: Dialect,
): OfflineValues {
  return async (view, entities) => {
    const plan = planPointInTime(
      registry,
      { features: [`${view}:*`] },
      { entityTimestampColumn: 'event_timestamp' },
    );
    const keys = requiredJoinKeys(plan);
    const columns = [...keys.map((k) => dialect.quote(k.name)), 'event_timestamp', 'fstore_row_id'];
    const render = (part: readonly Record<string, unknown>[]) => {
      const values = part.map(
        (e, index) =>
          `(${[
            ...keys.map((k) =>
              k.type === 'string' ? dialect.literal(String(e[k.name])) : String(Number(e[k.name])),
            ),
            dialect.timestampLiteral(String(e.event_timestamp)),
            String(index + 1),
          ].join(', ')})`,
      );
      return renderTrainingSetSql(plan, dialect, {
        entityRelation: 'fstore_entities',
        entityQuery: `  SELECT * FROM (VALUES ${values.join(', ')}) AS t(${columns.join(', ')})`,
        entityColumns: [...keys.map((k) => k.name), 'event_timestamp'],
        strategy: 'merge-window',
      });
    };
    const run = async (
      part: readonly Record<string, unknown>[],
    ): Promise<Record<string, unknown>[]> => {
      const sql = render(part);
      if (dialect.name !== 'athena' || athenaQueryBytes(sql) <= maxAthenaQueryBytes)
        return query(sql);
      if (part.length === 1)
        checkAthenaQuerySize(sql, `the verify-online query of view "${view}" for one entity`);
      const half = Math.ceil(part.length / 2);
      return [...(await run(part.slice(0, half))), ...(await run(part.slice(half)))];
    };
    return entities.length === 0 ? [] : run(entities);
  };
}

export interface OnlineMismatch {
  readonly entity: Readonly<Record<string, string>>;
  readonly feature: string;
  readonly asOf: string;
  readonly online: unknown;
  readonly offline: unknown;
}

export interface OnlineConsistency {
  readonly view: string;
  readonly items: number;
  readonly values: number;
  readonly matching: number;
  /** Share of compared values that agree, 0..1 (1 when nothing was compared). */
  readonly matchRate: number;
  readonly mismatches: readonly OnlineMismatch[];
}

/**
 * Chronon-style consistency: for up to `sample` online items of a view, the offline
 * point-in-time value at the item's materialization time (the end of the window it was
 * written from), compared feature by feature with what the item holds (NULL when the item is
 * older than the view's TTL at that time, as a lookup would say).
 */
export async function verifyOnline(options: {
  client: DynamoDBClient;
  table: string;
  registry: Registry;
  /** The offline point-in-time values of the view's features for entity rows (keys + time). */
  offline: OfflineValues;
  view: string;
  sample?: number;
}): Promise<OnlineConsistency> {
  const view = options.registry.featureViews.find((v) => v.name === options.view);
  if (!view?.online)
    throw new QualityInputError(
      `"${options.view}" is not an online feature view`,
      `online views: ${options.registry.featureViews
        .filter((v) => v.online)
        .map((v) => v.name)
        .join(', ')}`,
    );
  const sample = options.sample ?? 1000;
  const prefix = `${view.onlineStore.keyPrefix}#`;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await options.client.send(
      new ScanCommand({
        TableName: options.table,
        FilterExpression: 'begins_with(#pk, :prefix)',
        ExpressionAttributeNames: { '#pk': a.key },
        ExpressionAttributeValues: { ':prefix': { S: prefix } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length < sample);
  const chosen = items.slice(0, sample);
  if (chosen.length === 0)
    return { view: view.name, items: 0, values: 0, matching: 0, matchRate: 1, mismatches: [] };

  const entities = chosen.map((item) => {
    const keys = decodeEntityKey((item[a.key]?.S ?? '').slice(prefix.length));
    // materialized_at is the window's end in milliseconds; the item's event time (microseconds)
    // is never after that end, so the later of the two is the end to the microsecond for
    // aggregates (their event time is the end) and changes no winner for other views.
    const eventMicros = BigInt(item[a.eventTs]?.N ?? '0');
    const asOfMicros = bigMax(microsOfMillis(Number(item[a.materializedAt]?.N ?? 0)), eventMicros);
    return { keys, asOf: formatMicros(asOfMicros), asOfMicros, eventMicros, item };
  });
  const records = await options.offline(
    view.name,
    entities.map((e) => ({ ...typedKeys(view.joinKeys, e.keys), event_timestamp: e.asOf })),
  );
  const mismatches: OnlineMismatch[] = [];
  let values = 0;
  let matching = 0;
  entities.forEach((entity, index) => {
    const expired =
      view.ttlSeconds !== undefined &&
      entity.asOfMicros - entity.eventMicros > BigInt(view.ttlSeconds) * 1_000_000n;
    for (const feature of view.features) {
      const online = expired
        ? null
        : decodeValue(feature.type, entity.item[a.features]?.M?.[feature.name]);
      const offlineValue = records[index]?.[feature.name] ?? null;
      values += 1;
      if (same(online, offlineValue)) matching += 1;
      else
        mismatches.push({
          entity: entity.keys,
          feature: feature.name,
          asOf: entity.asOf,
          online,
          offline: offlineValue,
        });
    }
  });
  return {
    view: view.name,
    items: chosen.length,
    values,
    matching,
    matchRate: values === 0 ? 1 : matching / values,
    mismatches,
  };
}

function typedKeys(
  joinKeys: readonly { name: string; type: string }[],
  keys: Readonly<Record<string, string>>,
): Record<string, string | number> {
  return Object.fromEntries(
    joinKeys.map((k) => [
      k.name,
      k.type === 'string' ? (keys[k.name] ?? '') : Number(keys[k.name]),
    ]),
  );
}

function same(online: unknown, offline: unknown): boolean {
  if (typeof online === 'number' && typeof offline === 'number')
    return Math.abs(online - offline) <= 1e-9 * Math.max(1, Math.abs(offline));
  if (typeof offline === 'string' && typeof online === 'number') return Number(offline) === online;
  return JSON.stringify(online) === JSON.stringify(offline);
}

function bigMax(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

import { ApiError } from '../api/api-error.ts';
import { didYouMean } from '../closest-names.ts';
import { parseEpochMicros } from '../epoch-micros.ts';
import { isObject } from '../is-object.ts';
import { constraintViolations } from '../materialize/feature-constraints.ts';
import { checkTilePrefix } from '../online/aggregation-tiles/tile-items.ts';
import { viewTileSpec } from '../online/aggregation-tiles/view-tile-spec.ts';
import { EntityKeyError, encodeEntityKey, partitionKey } from '../online/entity-key.ts';
import type { RuntimeRegistry, RuntimeSource } from '../registry/runtime-projection.ts';
import { viewsReading } from './push-source.ts';
import { valueProblem } from './push-values.ts';

/** One row of a push that passed every rule, with its times as epoch microseconds. */
export interface PushRow {
  /** Its position in the request's `rows`. */
  readonly index: number;
  /** Every column of the source, by schema name. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly eventTs: bigint;
  readonly createdTs?: bigint;
}

export interface RowRules {
  /** The server's clock, epoch microseconds. */
  readonly nowMicros: bigint;
  readonly maxFutureSkewSeconds: number;
}

/**
 * Checks every row of a push against its source: each schema column present (null for no
 * value) and of its type, no other keys, join keys (of every view reading the source) and the
 * event time non-null, the event time not past the allowed clock skew, no two rows for the same
 * entity and times, and the constraints of every passthrough view reading the source. The first
 * broken rule rejects the whole push: 400 `INVALID_ROW` (or `DUPLICATE_ROW`) naming the row's
 * index, the field and the reason.
 */
export function validatePushRows(
  registry: RuntimeRegistry,
  source: RuntimeSource,
  rows: readonly unknown[],
  rules: RowRules,
): PushRow[] {
  const views = viewsReading(registry, source.name);
  // Online views each check their own partition key (the prefix differs); offline ones once per key set.
  const keyedViews = views.filter(
    (view, i) =>
      view.online || views.findIndex((other) => sameKeys(other.joinKeys, view.joinKeys)) === i,
  );
  const joinKeys = new Set(views.flatMap((v) => v.joinKeys.map((k) => k.name)));
  const required = new Set([...joinKeys, source.timestampField]);
  const columns = source.schema.map((c) => c.name);
  const latestMicros = rules.nowMicros + BigInt(rules.maxFutureSkewSeconds) * 1_000_000n;
  const seen = new Map<string, number>();
  const inTheFuture = (row: Readonly<Record<string, unknown>>, field: string, kind: string) =>
    `${String(row[field])} is more than ${rules.maxFutureSkewSeconds} s after the server's clock (the allowed skew); ${kind} times must not be in the future`;
  return rows.map((row, index) => {
    const bad = (field: string | undefined, reason: string) => invalidRow(index, field, reason);
    if (!isObject(row)) throw bad(undefined, 'must be an object of column name → value');
    for (const key of Object.keys(row))
      if (!columns.includes(key))
        throw bad(
          key,
          `is not a column of source "${source.name}" (${columns.join(', ')})${didYouMean(key, columns)}`,
        );
    for (const column of source.schema) {
      if (!(column.name in row))
        throw bad(
          column.name,
          required.has(column.name)
            ? `is missing; ${column.name === source.timestampField ? 'the event timestamp' : 'a join key'} is required`
            : 'is missing; send null for no value',
        );
      const value = row[column.name];
      if (value === null && required.has(column.name))
        throw bad(
          column.name,
          `is null; ${column.name === source.timestampField ? 'the event timestamp' : 'a join key'} is required`,
        );
      const problem = valueProblem(column.type, value);
      if (problem) throw bad(column.name, problem);
    }
    const values = withBigInt64(source, row);
    for (const view of keyedViews) {
      try {
        const entityKey = encodeEntityKey(view.joinKeys, values);
        if (view.online) {
          const key = partitionKey(view.onlineStore.keyPrefix, entityKey);
          if (viewTileSpec(registry, view)) checkTilePrefix(key);
        }
      } catch (error) {
        if (!(error instanceof EntityKeyError)) throw error;
        const field =
          view.joinKeys.find((k) => error.message.includes(k.name))?.name ??
          longestKey(view.joinKeys, row);
        throw bad(field, `${error.message} (view "${view.name}")`);
      }
    }
    const eventTs = parseEpochMicros(row[source.timestampField] as string) as bigint;
    if (eventTs > latestMicros)
      throw bad(source.timestampField, inTheFuture(row, source.timestampField, 'event'));
    const created =
      source.createdTimestampField === undefined
        ? null
        : (row[source.createdTimestampField] as string | null);
    const createdTs = created === null ? undefined : parseEpochMicros(created);
    if (createdTs !== undefined && createdTs > latestMicros && source.createdTimestampField)
      throw bad(
        source.createdTimestampField,
        inTheFuture(row, source.createdTimestampField, 'created'),
      );
    // A derived feature is no column of the pushed row: materialization computes and checks it.
    for (const view of views.filter((v) => v.transform === 'passthrough'))
      for (const feature of view.features.filter((f) => f.expr === undefined)) {
        const [reason] = constraintViolations([feature], row);
        if (reason) throw bad(feature.name, `${reason} (view "${view.name}")`);
      }
    const identity = JSON.stringify([
      [...joinKeys].map((k) => String(row[k])),
      String(eventTs),
      createdTs === undefined ? null : String(createdTs),
    ]);
    const first = seen.get(identity);
    if (first !== undefined)
      throw new ApiError(
        400,
        'DUPLICATE_ROW',
        `$.rows[${index}]: has the same join keys, event time and created time as $.rows[${first}]; a push may hold one row per entity and time`,
        { path: `$.rows[${index}]`, row: index, duplicateOf: first },
      );
    seen.set(identity, index);
    return {
      index,
      values,
      eventTs,
      ...(createdTs !== undefined ? { createdTs } : {}),
    };
  });
}

/** The row with int64 values sent as decimal strings (beyond 2^53) made bigints, as keys and items need. */
function withBigInt64(
  source: RuntimeSource,
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const values = { ...row };
  for (const column of source.schema)
    if (column.type === 'int64' && typeof values[column.name] === 'string')
      values[column.name] = BigInt(values[column.name] as string);
  return values;
}

/** The join key with the longest value: the one to blame for a partition key over its limit. */
function longestKey(
  joinKeys: readonly { name: string }[],
  row: Readonly<Record<string, unknown>>,
): string | undefined {
  const length = (name: string) => String(row[name]).length;
  return joinKeys.reduce<string | undefined>(
    (longest, key) =>
      longest === undefined || length(key.name) > length(longest) ? key.name : longest,
    undefined,
  );
}

function sameKeys(a: readonly { name: string }[], b: readonly { name: string }[]): boolean {
  return a.length === b.length && a.every((k, i) => k.name === b[i]?.name);
}

function invalidRow(index: number, field: string | undefined, reason: string): ApiError {
  const path = field === undefined ? `$.rows[${index}]` : `$.rows[${index}].${field}`;
  return new ApiError(400, 'INVALID_ROW', `${path}: ${reason}`, {
    path,
    row: index,
    ...(field === undefined ? {} : { field }),
    reason,
  });
}

import { z } from 'zod';
import { didYouMean } from '../closest-names.ts';
import { compileExpression, ExpressionError, maxExpressionLength } from '../expressions/index.ts';
import { parseDuration } from './duration.ts';
import { retentionField } from './retention.ts';
import {
  type DefinitionKind,
  type DefinitionMetadata,
  deepFreeze,
  definitionLabel,
  IssueCollector,
  identifier,
  type MetadataInput,
  metadataFields,
  metadataOf,
  parseDefinition,
  valueType,
} from './schema-parts.ts';
import {
  checkSourceStream,
  type SourceStream,
  type SourceStreamInput,
  sourceStreamSchema,
} from './source-stream.ts';
import type { ValueType } from './value-types.ts';

export interface SourceColumn {
  readonly name: string;
  readonly type: ValueType;
}

/**
 * A batch source of feature rows. Where the data lives is per environment (config),
 * so a source only says what its rows look like.
 */
export interface Source extends DefinitionMetadata {
  readonly kind: 'source';
  readonly name: string;
  readonly schema: readonly SourceColumn[];
  /** Column holding when the value became true (event time). */
  readonly timestampField: string;
  /** Column holding when the row was written; breaks ties between rows with the same event time. */
  readonly createdTimestampField?: string;
  /** Raw column name in the data → column name in `schema`. */
  readonly fieldMapping: Readonly<Record<string, string>>;
  /** A Kinesis data stream whose records are rows of this source, written online as they come. */
  readonly stream?: SourceStream;
  /**
   * Row filter (docs/expressions.md), e.g. `plan <> 'trial'`: every read of the source's rows
   * (training sets, materialization, aggregations) keeps only rows where it is TRUE.
   */
  readonly filter?: string;
  /**
   * How long rows are kept offline after their event time ("365d"); `fstore retention` and the
   * scheduled retention job delete older rows. Absent: the environment's default, else forever.
   */
  readonly retention?: string;
  readonly retentionSeconds?: number;
}

export interface SourceInput extends MetadataInput {
  name: string;
  /** Column name → type, in the order columns should appear. */
  schema: Record<string, ValueType>;
  timestampField: string;
  createdTimestampField?: string;
  fieldMapping?: Record<string, string>;
  /** Rows arriving on a Kinesis stream (created or existing), one JSON row per record. */
  stream?: SourceStreamInput;
  /** Keep only rows where this condition over the schema's columns is TRUE, e.g. "plan <> 'trial'". */
  filter?: string;
  /** Keep rows this long after their event time, e.g. "365d"; older rows are deleted by `fstore retention`. */
  retention?: string;
}

const kind: DefinitionKind = 'source';

const rawColumnName = z
  .string()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  .refine((name) => !/["`]/.test(name) && [...name].every((c) => c.charCodeAt(0) >= 0x20), {
    error: 'must not contain quotes or control characters',
  });

const sourceSchema = z.strictObject({
  name: identifier,
  schema: z.record(identifier, valueType, { error: 'must be an object of column name → type' }),
  timestampField: z.string({ error: 'must name the event-timestamp column' }),
  createdTimestampField: z.string().optional(),
  fieldMapping: z.record(rawColumnName, z.string()).optional(),
  stream: sourceStreamSchema.optional(),
  filter: z.string().min(1, 'must not be empty').max(maxExpressionLength).optional(),
  retention: retentionField,
  ...metadataFields,
});

export function defineSource(input: SourceInput): Source {
  const parsed = parseDefinition(sourceSchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const columns = Object.entries(parsed.schema).map(([name, type]) => ({
    name,
    type: type as ValueType,
  }));
  const typeOf = new Map(columns.map((c) => [c.name, c.type]));
  const columnList = columns.map((c) => c.name).join(', ');

  if (columns.length === 0)
    issues.add(
      'schema',
      'has no columns',
      'declare at least the join keys, the timestamp and one value column',
    );
  for (const column of columns.filter((c) => c.name.startsWith('fstore_'))) {
    issues.add(
      `schema.${column.name}`,
      `"${column.name}" starts with "fstore_", which fstore reserves for the columns it stores with each row`,
      'rename the column, e.g. with fieldMapping',
    );
  }
  if (typeOf.has('dt'))
    issues.add(
      'schema.dt',
      '"dt" is the partition column fstore adds to every source',
      'rename the column, e.g. with fieldMapping: { dt: "event_date" }',
    );

  const checkTimestamp = (
    field: 'timestampField' | 'createdTimestampField',
    column: string | undefined,
  ) => {
    if (column === undefined) return;
    const type = typeOf.get(column);
    if (type === undefined)
      issues.add(
        field,
        `${field === 'timestampField' ? 'event-timestamp' : 'created-timestamp'} column "${column}" is not a column of the schema (${columnList})${didYouMean(column, typeOf.keys())}`,
        `add "${column}: 'timestamp'" to schema or name an existing column`,
      );
    else if (type !== 'timestamp')
      issues.add(
        field,
        `"${column}" has type ${type}, but must be timestamp`,
        `declare "${column}: 'timestamp'" in schema`,
      );
  };
  checkTimestamp('timestampField', parsed.timestampField);
  checkTimestamp('createdTimestampField', parsed.createdTimestampField);
  if (
    parsed.createdTimestampField !== undefined &&
    parsed.createdTimestampField === parsed.timestampField
  ) {
    issues.add(
      'createdTimestampField',
      'is the same column as timestampField',
      'name the column holding when the row was written, or leave it out',
    );
  }

  const mappedTargets = new Set<string>();
  for (const [raw, target] of Object.entries(parsed.fieldMapping ?? {})) {
    if (!typeOf.has(target))
      issues.add(
        `fieldMapping.${raw}`,
        `maps to "${target}", which is not a column of the schema (${columnList})${didYouMean(target, typeOf.keys())}`,
        'map raw names to columns declared in schema',
      );
    if (mappedTargets.has(target))
      issues.add(
        `fieldMapping.${raw}`,
        `maps to "${target}", which another raw column already maps to`,
        'map each schema column from one raw column',
      );
    mappedTargets.add(target);
  }
  const stream = parsed.stream && checkSourceStream(parsed.stream, issues);
  if (parsed.filter !== undefined) checkFilter(issues, parsed.filter, columns);
  if (parsed.filter !== undefined && parsed.stream !== undefined)
    issues.add(
      'filter',
      'a source with a stream cannot declare a row filter yet: stream records are written online as they come, and the filter is not evaluated there, so rows it drops would be served',
      'drop the filter (filter in the feature views instead, or in the producer), or the stream',
    );
  issues.throwIfAny();

  return deepFreeze({
    kind: 'source',
    name: parsed.name,
    schema: columns,
    timestampField: parsed.timestampField,
    ...(parsed.createdTimestampField !== undefined
      ? { createdTimestampField: parsed.createdTimestampField }
      : {}),
    fieldMapping: { ...(parsed.fieldMapping ?? {}) },
    ...(stream ? { stream } : {}),
    ...(parsed.filter !== undefined ? { filter: parsed.filter } : {}),
    ...(parsed.retention !== undefined
      ? { retention: parsed.retention, retentionSeconds: parseDuration(parsed.retention) }
      : {}),
    ...metadataOf(parsed),
  });
}

/** A row filter must be a condition (bool) over the schema's columns. */
function checkFilter(
  issues: IssueCollector,
  filter: string,
  columns: readonly SourceColumn[],
): void {
  try {
    const type = compileExpression(filter, columns).type;
    if (type !== 'bool' && type !== 'null')
      issues.add(
        'filter',
        `expression ${JSON.stringify(filter)} gives ${type}, but a row filter must be a condition (bool)`,
        'compare it, e.g. "plan <> \'trial\'" or "amount > 0"',
      );
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    issues.add('filter', error.message, error.hint);
  }
}

export function isSource(value: unknown): value is Source {
  return (value as Source | null)?.kind === 'source';
}

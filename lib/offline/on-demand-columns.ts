import path from 'node:path';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBConnection,
  DuckDBScalarFunction,
  type DuckDBStructVector,
  type DuckDBType,
  FLOAT,
  INTEGER,
  STRUCT,
  VARCHAR,
} from '@duckdb/node-api';
import { HintedError } from '../hinted-error.ts';
import {
  type OnDemandInputColumn,
  type OnDemandPart,
  onDemandInputsOfRequest,
  planOnDemand,
} from '../on-demand/plan-on-demand.ts';
import {
  type OnDemandValueType,
  requestValueProblem,
  runTransform,
  TransformError,
  type TransformValue,
  transformInput,
} from '../on-demand/transform-values.ts';
import type { Registry } from '../registry/index.ts';
import { quoteIdentifier, quoteLiteral } from '../sql/dialect.ts';
import type { FeatureRequest } from '../sql/point-in-time-plan.ts';
import { queryRows } from './duckdb-session.ts';
import { EntityFileError } from './load-entities.ts';

/** What a training set computes on demand, and the stored inputs it fetches for that. */
export interface OnDemandTrainingPlan {
  readonly part: OnDemandPart;
  /** Stored features the transforms read, fetched under hidden column names. */
  readonly inputs: readonly OnDemandInputColumn[];
  /** The result column of each on-demand feature, in service order. */
  readonly outputNames: readonly string[];
  /** Entity-file columns the transforms read, with their declared types. */
  readonly requestFields: readonly { name: string; type: OnDemandValueType }[];
}

/** A transform failure or an unusable request value, with the entity row it happened on. */
export class OnDemandRowError extends HintedError {}

/**
 * The on-demand part of a service's training set, or undefined when it serves none. A stored
 * feature the service also selects is fetched again under its hidden input name.
 */
export function planOnDemandTrainingSet(
  registry: Registry,
  request: FeatureRequest,
  fullFeatureNames: boolean,
): OnDemandTrainingPlan | undefined {
  if (!('service' in request)) return undefined;
  const service = registry.featureServices.find((s) => s.name === request.service);
  if (!service?.onDemandFeatures?.length) return undefined;
  const part = planOnDemand(registry, service, () => true);
  const requestFields = new Map<string, OnDemandValueType>();
  for (const { view } of part.views)
    for (const field of view.request) requestFields.set(field.name, field.type);
  return {
    part,
    inputs: onDemandInputsOfRequest(registry, request),
    outputNames: part.views.flatMap(({ view, features }) =>
      features.map((f) => (fullFeatureNames ? `${view.name}__${f.feature}` : f.outputName)),
    ),
    requestFields: [...requestFields].map(([name, type]) => ({ name, type })),
  };
}

export interface OnDemandColumns {
  /**
   * The result query with every on-demand feature computed from `joined` (which must carry
   * `fstore_row_id`, the request fields and the hidden inputs), keeping `columns` before them.
   */
  select(joined: string, columns: readonly string[]): string;
  /**
   * The error of the lowest entity row whose request value is bad, or whose transform failed
   * in mode `fail`. The query runs to its end regardless (rows past it cheaply): check this
   * after it and discard the result when it is set.
   */
  failure(): OnDemandRowError | undefined;
  /** Rows whose transform failed and got NULL features (mode `null`), and the first of them. */
  nulled(): { readonly rows: number; readonly first?: string };
}

const sqlTypes: Record<OnDemandValueType, DuckDBType> = {
  int32: INTEGER,
  int64: BIGINT,
  float32: FLOAT,
  float64: DOUBLE,
  string: VARCHAR,
  bool: BOOLEAN,
};

/**
 * Registers one volatile scalar function per on-demand view: DuckDB calls it chunk by chunk as
 * the join streams to the file, with the row's request values (as text, parsed as a lookup
 * parses JSON values) and inputs, and it returns the transform's checked outputs as a STRUCT.
 * runTransform is the lookup's own function, so both give the same values. A bad request value
 * always stops the query; a failing transform stops it too unless `onError` is `null`, which
 * gives that row's features of that view NULL and counts it.
 */
export function registerOnDemandColumns(
  connection: DuckDBConnection,
  plan: OnDemandTrainingPlan,
  options: {
    readonly onError: 'fail' | 'null';
    /**
     * Once aborted, the next call fails the query. The abort itself waits for the chunk being
     * computed (up to 2048 rows): the signal's handler runs on this thread, between calls.
     */
    readonly signal?: AbortSignal;
    /**
     * DuckDB type of each entity column. A CSV file's request columns are read as text
     * (`VARCHAR`, every one: see loadEntities' textColumns) and parsed by the declared type;
     * a typed file's (Parquet, JSON lines) are passed as JSON and checked as a lookup checks
     * its body's values, so `"5"` is no float64 there and `7` no string.
     */
    readonly columnTypes: ReadonlyMap<string, string>;
    readonly requestAsText: boolean;
  },
): OnDemandColumns {
  const { onError } = options;
  const requestArgument = (column: string) => {
    const q = quoteIdentifier(column);
    if (options.requestAsText) return `CAST(${q} AS VARCHAR)`;
    // A float32 column's value is the float it holds, not its shortest text ('0.1').
    return options.columnTypes.get(column) === 'FLOAT'
      ? `CAST(to_json(CAST(${q} AS DOUBLE)) AS VARCHAR)`
      : `CAST(to_json(${q}) AS VARCHAR)`;
  };
  const parseRequest = options.requestAsText ? requestValueFromText : requestValueFromJson;
  // Chunks come in any order over DuckDB's threads: the failure kept is the lowest row's, so
  // the message names the first bad row of the file whatever the thread timing.
  let failure: { row: number; error: OnDemandRowError } | undefined;
  let nulledRows = 0;
  let firstNulled: { row: number; message: string } | undefined;
  const fail = (row: number, error: () => OnDemandRowError) => {
    if (failure === undefined || row < failure.row) failure = { row, error: error() };
  };
  const inputName = (view: string, feature: string) =>
    plan.inputs.find((i) => i.view === view && i.feature === feature)?.outputName ?? '';
  const calls = plan.part.views.map(({ view, transform }, index) => {
    const name = `fstore_on_demand_${index}`;
    const outputs = view.features;
    connection.registerScalarFunction(
      DuckDBScalarFunction.create({
        name,
        returnType: STRUCT(Object.fromEntries(outputs.map((o) => [o.name, sqlTypes[o.type]]))),
        parameterTypes: [
          BIGINT,
          ...view.request.map(() => VARCHAR),
          ...view.inputs.map((i) => sqlTypes[i.type]),
        ],
        volatile: true,
        specialHandling: true,
        mainFunction: (info, input, output) => {
          if (options.signal?.aborted) {
            info.setError('stopped');
            return;
          }
          const struct = output as DuckDBStructVector;
          // Vectors and counts are read once per chunk; the row number only for an error.
          const rowCount = input.rowCount;
          const rowIds = input.getColumnVector(0);
          const requestVectors = view.request.map((_, i) => input.getColumnVector(1 + i));
          const offset = 1 + view.request.length;
          const inputVectors = view.inputs.map((_, i) => input.getColumnVector(offset + i));
          const outputVectors = outputs.map((_, i) => struct.entryVectorAt(i));
          const rowNumber = (r: number) => Number(rowIds.getItem(r));
          rows: for (let r = 0; r < rowCount; r++) {
            // Past a failure, only a lower row can change the answer: the rest get NULL.
            if (failure !== undefined && rowNumber(r) > failure.row) {
              for (const vector of outputVectors) vector.setItem(r, null);
              continue;
            }
            const row: Record<string, TransformValue> = {};
            for (let i = 0; i < view.request.length; i++) {
              const field = view.request[i] as (typeof view.request)[number];
              const parsed = parseRequest(field.type, requestVectors[i]?.getItem(r));
              if ('problem' in parsed) {
                fail(
                  rowNumber(r),
                  () =>
                    new OnDemandRowError(
                      `entity row ${rowNumber(r)}, column ${field.name} (request value of on-demand view ${view.name}, ${field.type}): ${parsed.problem}`,
                      'fix that row (numbered from 1, after a CSV header); request values must be present and of the declared type',
                    ),
                );
                for (const vector of outputVectors) vector.setItem(r, null);
                continue rows;
              }
              row[field.name] = parsed.value;
            }
            for (let i = 0; i < view.inputs.length; i++) {
              const inputSpec = view.inputs[i] as (typeof view.inputs)[number];
              row[inputSpec.name] = transformInput(inputSpec.type, inputVectors[i]?.getItem(r));
            }
            try {
              const values = runTransform(transform, row, outputs);
              for (let i = 0; i < outputs.length; i++) {
                const o = outputs[i] as (typeof outputs)[number];
                const value = values[o.name] ?? null;
                outputVectors[i]?.setItem(
                  r,
                  o.type === 'int64' && value !== null ? BigInt(value) : value,
                );
              }
            } catch (error) {
              if (!(error instanceof TransformError)) throw error;
              const message = `entity row ${rowNumber(r)}: on-demand view ${view.name}: ${error.message}`;
              for (const vector of outputVectors) vector.setItem(r, null);
              if (onError === 'fail') {
                fail(
                  rowNumber(r),
                  () =>
                    new OnDemandRowError(
                      message,
                      'fix the transform, or pass --on-transform-error null to give such rows NULL features',
                    ),
                );
                continue;
              }
              nulledRows += 1;
              if (firstNulled === undefined || rowNumber(r) < firstNulled.row)
                firstNulled = { row: rowNumber(r), message };
            }
          }
          struct.flush();
        },
      }),
    );
    const args = [
      'fstore_row_id',
      ...view.request.map((f) => requestArgument(f.name)),
      ...view.inputs.map((i) => quoteIdentifier(inputName(i.view, i.feature))),
    ];
    return { column: `fstore_od_${index}`, call: `${name}(${args.join(', ')})` };
  });
  return {
    select(joined, columns) {
      const computed = plan.part.views.flatMap(({ features }, index) =>
        features.map((f) => ({ column: calls[index]?.column ?? '', feature: f.feature })),
      );
      const outputs = computed.map(
        (c, i) =>
          `struct_extract(${c.column}, ${quoteLiteral(c.feature)}) AS ${quoteIdentifier(plan.outputNames[i] ?? c.feature)}`,
      );
      const kept = columns.map((column) => {
        const field = plan.requestFields.find((f) => f.name === column);
        return field && options.requestAsText && field.type !== 'string'
          ? `${typedFromText(column, field.type)} AS ${quoteIdentifier(column)}`
          : quoteIdentifier(column);
      });
      return [
        `SELECT ${[...kept, ...outputs].join(', ')} FROM (`,
        `  SELECT *, ${calls.map((c) => `${c.call} AS ${c.column}`).join(', ')} FROM (\n${joined}\n) fstore_joined`,
        ') fstore_on_demand',
      ].join('\n');
    },
    failure: () => failure?.error,
    nulled: () => ({ rows: nulledRows, ...(firstNulled ? { first: firstNulled.message } : {}) }),
  };
}

/**
 * Every request field of the on-demand views must be a column of the entity file, other than
 * its timestamp column (converted to UTC, so no longer as written), and in a typed file of a
 * type whose values a lookup could send for it (a TIMESTAMP column is no string, a VARCHAR one
 * no number).
 */
export function checkRequestColumns(
  onDemand: OnDemandTrainingPlan,
  columnTypes: ReadonlyMap<string, string>,
  file: string,
  options: { readonly timestampColumn: string; readonly requestAsText: boolean },
): void {
  const name = path.basename(file);
  const columns = [...columnTypes.keys()].filter((c) => c !== 'fstore_row_id');
  const missing = onDemand.requestFields.filter((f) => !columnTypes.has(f.name));
  if (missing.length > 0)
    throw new EntityFileError(
      `entity file ${name} has no column ${missing.map((f) => `"${f.name}" (${f.type})`).join(', ')}: the on-demand features of the service read it as a request value (it has ${columns.join(', ')})`,
      'add a column per request value, as a lookup sends them beside the join keys',
    );
  const timestamp = onDemand.requestFields.find((f) => f.name === options.timestampColumn);
  if (timestamp)
    throw new EntityFileError(
      `request value "${timestamp.name}" is the entity timestamp column of ${name}, which training sets convert to UTC: the transform would not see it as written`,
      'put the time the transform reads in a column of its own, or name another timestamp column with --timestamp-column',
    );
  if (options.requestAsText) return;
  for (const field of onDemand.requestFields) {
    const type = columnTypes.get(field.name) ?? '';
    if (type === 'JSON' || holdsRequestType(field.type, type)) continue;
    throw new EntityFileError(
      `column "${field.name}" of entity file ${name} is ${type}, but request value "${field.name}" is ${field.type}`,
      field.type === 'string'
        ? 'store it as text (VARCHAR), as a lookup sends it as a JSON string'
        : field.type === 'bool'
          ? 'store it as BOOLEAN'
          : 'store it as a number column',
    );
  }
}

const numericTypes =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL\(\d+,\d+\))$/;

function holdsRequestType(field: OnDemandValueType, columnType: string): boolean {
  if (field === 'string') return columnType === 'VARCHAR';
  if (field === 'bool') return columnType === 'BOOLEAN';
  return numericTypes.test(columnType);
}

/** DuckDB type of each column of `table`, for registerOnDemandColumns. */
export async function columnTypesOf(
  connection: DuckDBConnection,
  table: string,
): Promise<Map<string, string>> {
  const rows = await queryRows(connection, `DESCRIBE ${quoteIdentifier(table)}`);
  return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

/**
 * A CSV request column (read as text) in its declared type for the result: a row the cast would
 * get wrong (`1e5` for an int) has already failed the query through the transform's check.
 */
function typedFromText(column: string, type: OnDemandValueType): string {
  const q = quoteIdentifier(column);
  switch (type) {
    case 'bool':
      return `TRY_CAST(${q} AS BOOLEAN)`;
    case 'float32':
      return `CAST(TRY_CAST(${q} AS DOUBLE) AS FLOAT)`;
    case 'float64':
      return `TRY_CAST(${q} AS DOUBLE)`;
    case 'int32':
      return `CAST(TRY_CAST(${q} AS DOUBLE) AS INTEGER)`;
    default:
      return `CAST(TRY_CAST(${q} AS DOUBLE) AS BIGINT)`;
  }
}

const numberText = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A CSV request value (its text as written) in the form a lookup would have received it. */
function requestValueFromText(
  type: OnDemandValueType,
  text: unknown,
): { value: TransformValue } | { problem: string } {
  if (text === null || text === undefined)
    return { problem: 'empty value; on-demand features need it' };
  const written = String(text);
  if (type === 'string') return { value: written };
  if (type === 'bool') {
    if (written === 'true' || written === 'false') return { value: written === 'true' };
    return { problem: `must be true or false, got ${JSON.stringify(written)}` };
  }
  if (!numberText.test(written))
    return { problem: `must be a number, got ${JSON.stringify(written)}` };
  const value = Number(written);
  const problem = requestValueProblem(type, value);
  return problem ? { problem } : { value: transformInput(type, value) };
}

/** A typed file's request value (as JSON text) checked by the lookup's own rule. */
function requestValueFromJson(
  type: OnDemandValueType,
  json: unknown,
): { value: TransformValue } | { problem: string } {
  if (json === null || json === undefined)
    return { problem: 'empty value; on-demand features need it' };
  let value: unknown;
  try {
    value = JSON.parse(String(json));
  } catch {
    return { problem: `is not a value a lookup could send, got ${String(json)}` };
  }
  if (value === null) return { problem: 'empty value; on-demand features need it' };
  const problem = requestValueProblem(type, value);
  return problem ? { problem } : { value: transformInput(type, value) };
}

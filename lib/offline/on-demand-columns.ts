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
  /** The row error that stopped the query, when one did (mode `fail`, or a bad request value). */
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
    /** DuckDB type of each entity column: a JSON-lines column of mixed values is `JSON`. */
    readonly columnTypes: ReadonlyMap<string, string>;
  },
): OnDemandColumns {
  const { onError } = options;
  // JSON text keeps a string's quotes; json_extract_string gives the value as written.
  const asText = (column: string) =>
    options.columnTypes.get(column) === 'JSON'
      ? `json_extract_string(${quoteIdentifier(column)}, '$')`
      : `CAST(${quoteIdentifier(column)} AS VARCHAR)`;
  let failure: OnDemandRowError | undefined;
  let nulledRows = 0;
  let firstNulled: string | undefined;
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
          const struct = output as DuckDBStructVector;
          // Vectors and counts are read once per chunk; the row number only for an error.
          const rowCount = input.rowCount;
          const rowIds = input.getColumnVector(0);
          const requestVectors = view.request.map((_, i) => input.getColumnVector(1 + i));
          const offset = 1 + view.request.length;
          const inputVectors = view.inputs.map((_, i) => input.getColumnVector(offset + i));
          const outputVectors = outputs.map((_, i) => struct.entryVectorAt(i));
          for (let r = 0; r < rowCount; r++) {
            const row: Record<string, TransformValue> = {};
            for (let i = 0; i < view.request.length; i++) {
              const field = view.request[i] as (typeof view.request)[number];
              const parsed = requestValue(field.type, requestVectors[i]?.getItem(r));
              if ('problem' in parsed) {
                failure ??= new OnDemandRowError(
                  `entity row ${Number(rowIds.getItem(r))}, column ${field.name} (request value of on-demand view ${view.name}, ${field.type}): ${parsed.problem}`,
                  'fix that row (numbered from 1, after a CSV header); request values must be present and of the declared type',
                );
                info.setError(failure.message);
                return;
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
              const message = `entity row ${Number(rowIds.getItem(r))}: on-demand view ${view.name}: ${error.message}`;
              if (onError === 'fail') {
                failure ??= new OnDemandRowError(
                  message,
                  'fix the transform, or pass --on-transform-error null to give such rows NULL features',
                );
                info.setError(failure.message);
                return;
              }
              nulledRows += 1;
              firstNulled ??= message;
              for (const vector of outputVectors) vector.setItem(r, null);
            }
          }
          struct.flush();
        },
      }),
    );
    const args = [
      'fstore_row_id',
      ...view.request.map((f) => asText(f.name)),
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
      return [
        `SELECT ${[...columns.map(quoteIdentifier), ...outputs].join(', ')} FROM (`,
        `  SELECT *, ${calls.map((c) => `${c.call} AS ${c.column}`).join(', ')} FROM (\n${joined}\n) fstore_joined`,
        ') fstore_on_demand',
      ].join('\n');
    },
    failure: () => failure,
    nulled: () => ({ rows: nulledRows, ...(firstNulled ? { first: firstNulled } : {}) }),
  };
}

/** Every request field of the on-demand views must be a column of the entity file. */
export function checkRequestColumns(
  onDemand: OnDemandTrainingPlan,
  columns: readonly string[],
  file: string,
): void {
  const missing = onDemand.requestFields.filter((f) => !columns.includes(f.name));
  if (missing.length === 0) return;
  throw new EntityFileError(
    `entity file ${path.basename(file)} has no column ${missing.map((f) => `"${f.name}" (${f.type})`).join(', ')}: the on-demand features of the service read it as a request value (it has ${columns.join(', ')})`,
    'add a column per request value, as a lookup sends them beside the join keys',
  );
}

/** DuckDB type of each column of `table`, for registerOnDemandColumns. */
export async function columnTypesOf(
  connection: DuckDBConnection,
  table: string,
): Promise<Map<string, string>> {
  const rows = await queryRows(connection, `DESCRIBE ${quoteIdentifier(table)}`);
  return new Map(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

const numberText = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** An entity file's request value (as text) in the form a lookup would have received it. */
function requestValue(
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

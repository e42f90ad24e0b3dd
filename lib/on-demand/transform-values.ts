/**
 * The values an on-demand transform reads and returns, and the one function that runs it. The
 * lookup API and training sets both call runTransform, so a row gives the same outputs in both
 * (issue 18: one function, no training/serving skew).
 */

/** Types a request field, an input feature or an output of an on-demand view may have. */
export const onDemandValueTypes = [
  'int32',
  'int64',
  'float32',
  'float64',
  'string',
  'bool',
] as const;
export type OnDemandValueType = (typeof onDemandValueTypes)[number];

export function isOnDemandValueType(type: string): type is OnDemandValueType {
  return (onDemandValueTypes as readonly string[]).includes(type);
}

/** A value as a transform sees it: numbers (int64 too), strings, booleans or null. */
export type TransformValue = number | string | boolean | null;
export type TransformRow = Readonly<Record<string, TransformValue>>;
export type TransformFunction = (row: TransformRow) => Record<string, unknown>;

export interface TransformOutputSpec {
  readonly name: string;
  readonly type: OnDemandValueType;
  readonly nullable: boolean;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
  readonly allowedValues?: readonly (string | number | boolean)[] | undefined;
}

/**
 * A stored or sent value in the form a transform reads: an int64 read as a bigint (DuckDB) or
 * as decimal text (a lookup, beyond 2^53) becomes a number, as every other number is.
 */
export function transformInput(type: OnDemandValueType, value: unknown): TransformValue {
  if (value === null || value === undefined) return null;
  if (type === 'string') return String(value);
  if (type === 'bool') return value === true;
  return typeof value === 'number' ? value : Number(value);
}

/** Why `value` cannot be a request value of `type`, or undefined when it can. */
export function requestValueProblem(type: OnDemandValueType, value: unknown): string | undefined {
  // The value is quoted only in a problem: checks run once per entity and training-set row.
  const expected = typeMismatch(type, value);
  return expected === undefined ? undefined : `${expected}, got ${describe(value)}`;
}

/** With the `u` flag a surrogate class matches only a surrogate that is not half of a pair. */
const loneSurrogate = /[\uD800-\uDFFF]/u;

/**
 * Half a surrogate pair ('𝄞'.slice(0, 1)): a lookup's JSON carries it ("\ud834"), a training
 * set's Parquet (UTF-8) cannot and holds U+FFFD, so it is refused on both paths alike.
 */
function loneSurrogateProblem(value: string): string {
  const lone = loneSurrogate.exec(value);
  const code = lone?.[0].charCodeAt(0).toString(16) ?? '';
  return `holds a lone UTF-16 surrogate (\\u${code} at character ${lone?.index}), which is not text; cut strings at code points, e.g. Array.from(s).slice(0, n).join('')`;
}

// No closure is made per call: bundles keep function names (keepNames), which costs a
// defineProperty for every arrow function created.
function typeMismatch(type: OnDemandValueType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      if (typeof value !== 'string') return 'must be a string';
      return loneSurrogate.test(value) ? loneSurrogateProblem(value) : undefined;
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'int32':
      return Number.isInteger(value) &&
        (value as number) >= -(2 ** 31) &&
        (value as number) < 2 ** 31
        ? undefined
        : 'must be a whole number in the int32 range';
    case 'int64':
      return Number.isSafeInteger(value) ? undefined : 'must be a whole number within ±(2^53 - 1)';
    default:
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : 'must be a finite number';
  }
}

/** A transform that threw or returned something its view does not declare. */
export class TransformError extends Error {
  override readonly name = 'TransformError';
}

/**
 * Runs `transform` over one row and checks what it returns against the declared outputs: an
 * object with each declared feature (null only where nullable), of its type and within its
 * constraints, and nothing else. float32 outputs are rounded to float32, as a Parquet FLOAT
 * column stores them. Throws TransformError naming the problem, whatever the transform throws or
 * returns (a non-Error, a throwing getter or proxy), so one entity's failure never fails a batch.
 */
export function runTransform(
  transform: TransformFunction,
  row: TransformRow,
  outputs: readonly TransformOutputSpec[],
): Record<string, TransformValue> {
  let result: unknown;
  try {
    result = transform(Object.freeze(row));
  } catch (error) {
    throw new TransformError(`transform threw: ${thrownDescription(error)}`, { cause: error });
  }
  try {
    return checkedOutputs(result, outputs);
  } catch (error) {
    if (isTransformError(error)) throw error;
    throw new TransformError(`reading the transform's result threw: ${thrownDescription(error)}`, {
      cause: error,
    });
  }
}

function checkedOutputs(
  result: unknown,
  outputs: readonly TransformOutputSpec[],
): Record<string, TransformValue> {
  if (result === null || typeof result !== 'object' || Array.isArray(result))
    throw new TransformError(`transform returned ${describe(result)}, not an object of features`);
  if (typeof (result as { then?: unknown }).then === 'function')
    throw new TransformError('transform returned a promise; transforms must be synchronous');
  const values = result as Record<string, unknown>;
  const checked: Record<string, TransformValue> = {};
  for (const output of outputs) {
    const value = values[output.name];
    if (value === undefined)
      throw new TransformError(`transform returned no "${output.name}" (use null for no value)`);
    checked[output.name] = outputValue(output, value);
  }
  for (const key of Object.keys(values))
    if (!outputs.some((o) => o.name === key))
      throw new TransformError(`transform returned "${key}", which is not a declared feature`);
  return checked;
}

function isTransformError(error: unknown): boolean {
  try {
    return error instanceof TransformError;
  } catch {
    return false; // a proxy whose prototype lookup throws
  }
}

/** A thrown value's message, never itself throwing (a prototype-less object has no toString). */
function thrownDescription(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message) : String(error);
  } catch {
    return `a value that cannot be described (${typeof error})`;
  }
}

function outputValue(output: TransformOutputSpec, value: unknown): TransformValue {
  if (value === null) {
    if (output.nullable) return null;
    throw new TransformError(
      `${featureLabel(output)} is not nullable, but the transform returned null`,
    );
  }
  const problem = requestValueProblem(output.type, value);
  if (problem) throw new TransformError(`${featureLabel(output)} ${problem}`);
  const typed = (output.type === 'float32' ? Math.fround(value as number) : value) as
    | number
    | string
    | boolean;
  if (typeof typed === 'number') {
    if (!Number.isFinite(typed))
      throw new TransformError(`${featureLabel(output)} is ${value}, beyond the float32 range`);
    // A bound is compared as the column stores it, so a value equal to it is not pushed over.
    if (output.min !== undefined && typed < storedBound(output.type, output.min))
      throw new TransformError(`${featureLabel(output)} is ${typed}, below its min ${output.min}`);
    if (output.max !== undefined && typed > storedBound(output.type, output.max))
      throw new TransformError(`${featureLabel(output)} is ${typed}, above its max ${output.max}`);
  }
  if (output.allowedValues && !output.allowedValues.includes(typed))
    throw new TransformError(
      `${featureLabel(output)} is ${JSON.stringify(typed)}, not one of ${JSON.stringify(output.allowedValues)}`,
    );
  return typed;
}

/** How an error names an output: `feature "name" (type)`, made only for an error. */
function featureLabel(output: TransformOutputSpec): string {
  return `feature "${output.name}" (${output.type})`;
}

/** A bound as the column stores it, so a value equal to it is not pushed over by rounding. */
function storedBound(type: OnDemandValueType, limit: number): number {
  return type === 'float32' ? Math.fround(limit) : limit;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

import type { ValueType } from '../definitions/index.ts';
import type { Dialect } from './dialect.ts';

/**
 * Exact window sums of float columns (ADR 0007, "Exact float sums"). Every finite double is an
 * integer times a power of two, so once a column's values are scaled by 2^-E, E below every
 * value's last significant bit, each value is an exact integer and any sum of them is an exact
 * DECIMAL(38, 0) integer: the same whatever the order, the frame or the engine. A window sum is
 * then that integer correctly rounded once to a double (roundedSum) and scaled back by 2^E:
 * the double nearest the exact sum of the window's values. Every rendering (running totals,
 * range join, window form, online materialization) computes exactly this value, so offline and
 * online agree bit for bit; avg is that sum divided by the count.
 *
 * It holds while the scaled values fit DECIMAL(38, 0) (exactSumBits): the span from the sum of
 * the magnitudes of the values read to the last bit of the smallest within 124 bits, with no infinite or NaN value and no value below 2^-967. Otherwise the sum is the
 * engine's double sum, as before.
 */

export const exactSumBits = 124;
/** Smallest E: keeps 2^E and every scaled result a normal double. */
const lowestExponent = -1020;
/** Bits kept below the top bit of a value's exponent estimate (53 plus one for a log2 rounded up). */
const mantissaBits = 54;

export const isFloatType = (type: ValueType) => type === 'float32' || type === 'float64';

const double = (expression: string) => `CAST(${expression} AS DOUBLE)`;
const finiteNonZero = (x: string) => `${x} <> 0 AND abs(${x}) <= 1.7976931348623157e308`;
const powerOfTwo = (exponent: string) => `power(CAST(2 AS DOUBLE), ${exponent})`;
/**
 * floor(log2 |x|) of finite non-zero values, NULL for the others. The CASE is inside the log:
 * an aggregate's FILTER does not stop DuckDB from evaluating its argument on a zero.
 */
const exponentOf = (x: string) => `floor(log2(CASE WHEN ${finiteNonZero(x)} THEN abs(${x}) END))`;

/**
 * The rule that decides a column's scale, written once and evaluated two ways: as SQL inside a
 * query (exactSumScale: range join, window form, online) and on statistics in TypeScript
 * (chooseExactScale: running-totals builds, which pick the scale before building). `Nothing`
 * is SQL's NULL: arithmetic on it gives nothing, `orZero` replaces it.
 */
interface ScaleArithmetic<T> {
  constant(value: number): T;
  minus(a: T, b: T): T;
  orZero(a: T): T;
  /** `value` when every check holds, nothing otherwise. */
  when(checks: { equal?: [T, T][]; atLeast?: [T, T][]; atMost?: [T, T][] }, value: T): T;
}

/**
 * The scale: 2^-E times every value is an integer (E below the last bit of the smallest value)
 * and every scaled sum fits exactSumBits, with no infinite or NaN value and E >= lowestExponent.
 */
function scaleRule<T>(
  of: { lowest: T; magnitudeBits: T; nonFinite: T },
  arithmetic: ScaleArithmetic<T>,
): T {
  const { constant, minus, orZero } = arithmetic;
  const scale = minus(of.lowest, constant(mantissaBits));
  return arithmetic.when(
    {
      equal: [[of.nonFinite, constant(0)]],
      atLeast: [[orZero(scale), constant(lowestExponent)]],
      atMost: [[orZero(minus(of.magnitudeBits, scale)), constant(exactSumBits)]],
    },
    orZero(scale),
  );
}

const sqlArithmetic: ScaleArithmetic<string> = {
  constant: String,
  minus: (a, b) => `(${a} - ${b})`,
  orZero: (a) => `coalesce(${a}, 0)`,
  when: (checks, value) => {
    const conditions = [
      ...(checks.equal ?? []).map(([a, b]) => `${a} = ${b}`),
      ...(checks.atLeast ?? []).map(([a, b]) => `${a} >= ${b}`),
      ...(checks.atMost ?? []).map(([a, b]) => `${a} <= ${b}`),
    ];
    return `CASE WHEN ${conditions.join(' AND ')} THEN CAST(${value} AS INTEGER) END`;
  },
};

const numberArithmetic: ScaleArithmetic<number | null> = {
  constant: (value) => value,
  minus: (a, b) => (a === null || b === null ? null : a - b),
  orZero: (a) => a ?? 0,
  when: (checks, value) => {
    const holds = (
      pairs: [number | null, number | null][] | undefined,
      test: (a: number, b: number) => boolean,
    ) => (pairs ?? []).every(([a, b]) => a !== null && b !== null && test(a, b));
    return holds(checks.equal, (a, b) => a === b) &&
      holds(checks.atLeast, (a, b) => a >= b) &&
      holds(checks.atMost, (a, b) => a <= b)
      ? value
      : null;
  },
};

/**
 * Aggregates over a column's rows giving its scale `<prefix>e` (INTEGER) when its sums can be
 * exact, NULL otherwise. `x` is the column as DOUBLE. With `over` (a window specification) each
 * aggregate is a window function, so every row carries the scale of its window's rows; the
 * rows' own conditions are CASEs inside the aggregates, since Trino takes no FILTER on a window
 * function.
 */
export function exactSumScale(x: string, name: string, over?: string): string {
  const window = over === undefined ? '' : ` OVER (${over})`;
  const scale = scaleRule(
    {
      lowest: `min(${exponentOf(x)})${window}`,
      magnitudeBits: magnitudeBits(x, window),
      nonFinite: `count(CASE WHEN NOT abs(${x}) <= 1.7976931348623157e308 THEN 1 END)${window}`,
    },
    sqlArithmetic,
  );
  return `${scale} AS ${name}`;
}

/**
 * Bits of the sum of the values' magnitudes, which bounds every partial and window sum (one
 * more than log2 of the double sum, for its rounding).
 */
const magnitudeBits = (x: string, window = '') =>
  `ceil(log2(nullif(sum(abs(${x}))${window}, 0))) + 1`;

/** The scale of a column from its exactSumScale-style statistics, for builds that pick it up front. */
export function chooseExactScale(stats: {
  lowest: number | null;
  magnitude: number | null;
  nonFinite: number;
}): number | undefined {
  const scale = scaleRule(
    {
      lowest: stats.lowest,
      magnitudeBits: stats.magnitude ? Math.ceil(Math.log2(stats.magnitude)) + 1 : null,
      nonFinite: stats.nonFinite,
    },
    numberArithmetic,
  );
  return scale ?? undefined;
}

/** Aggregates chooseExactScale reads for column `x` (as DOUBLE), named `<name>@lo|abs|bad`. */
export function exactScaleStatistics(x: string, name: (part: string) => string): string[] {
  const log = exponentOf(x);
  const where = `FILTER (WHERE ${finiteNonZero(x)})`;
  return [
    `CAST(min(${log}) ${where} AS INTEGER) AS ${name('lo')}`,
    `sum(abs(${x})) ${where} AS ${name('abs')}`,
    `count(${x}) FILTER (WHERE NOT abs(${x}) <= 1.7976931348623157e308) AS ${name('bad')}`,
  ];
}

/** `x` (DOUBLE) times 2^-scale as an exact DECIMAL(38, 0) integer (the scale fits every value). */
export function scaledInteger(x: string, scale: string, dialect: Dialect): string {
  const y = `(${x} * ${powerOfTwo(`-(${scale})`)})`;
  if (dialect.name === 'duckdb') return `CAST(CAST(${y} AS HUGEINT) AS DECIMAL(38, 0))`;
  // Trino casts a large double to DECIMAL through its shortest decimal text, which is not
  // exact; two exact BIGINT halves are.
  const high = `floor(${y} / 9223372036854775808e0)`;
  return `(CAST(CAST(${high} AS BIGINT) AS DECIMAL(38, 0)) * DECIMAL '9223372036854775808' + CAST(CAST(${y} - ${high} * 9223372036854775808e0 AS BIGINT) AS DECIMAL(38, 0)))`;
}

/** 2^k as an exact Trino DECIMAL(38, 0) integer (0 <= k <= 124). */
function integerPowerOfTwo(k: string): string {
  const half = `((${k}) / 2)`;
  return `(CAST(bitwise_left_shift(BIGINT '1', ${half}) AS DECIMAL(38, 0)) * CAST(bitwise_left_shift(BIGINT '1', (${k}) - ${half}) AS DECIMAL(38, 0)))`;
}

/**
 * The double nearest `total` × 2^scale (round half to even), `total` an exact DECIMAL(38, 0)
 * integer below 2^125 in magnitude. Below 2^53 the cast is exact; above, Athena rounds the
 * integer to 53 significant bits in integer arithmetic first, so the cast is exact too, binding
 * the subexpressions with one-element lambdas (inlined, the statement is too big for its
 * parser); DuckDB corrects its own cast instead (duckdbRoundedSum), which is far cheaper.
 * `total` should be a column reference: it is repeated.
 */
export function roundedSum(total: string, scale: string, dialect: Dialect): string {
  if (dialect.name === 'duckdb') return duckdbRoundedSum(total, scale);
  const t = total;
  const bind = (name: string, value: string, body: (bound: string) => string) =>
    `transform(ARRAY[${value}], ${name} -> ${body(name)})[1]`;
  const p = integerPowerOfTwo;
  const rounded = bind('fstore_ra', `abs(${t})`, (a) =>
    bind('fstore_rt', `CAST(floor(log2(${double(a)})) AS INTEGER)`, (top) =>
      // Bit length of a less 53: the cast to DOUBLE may round a up to the next power of two.
      bind('fstore_rk', `${top} + CASE WHEN ${a} >= ${p(top)} THEN 1 ELSE 0 END - 53`, (k) => {
        const rest = `mod(${a}, ${p(k)})`;
        const half = p(`${k} - 1`);
        const odd = `mod(${a}, ${p(`${k} + 1`)}) >= ${p(k)}`;
        const up = `${rest} > ${half} OR (${rest} = ${half} AND ${odd})`;
        return double(`${a} - ${rest} + CASE WHEN ${up} THEN ${p(k)} ELSE 0 END`);
      }),
    ),
  );
  const magnitude = `${rounded} * ${powerOfTwo(scale)}`;
  return [
    `CASE WHEN abs(${t}) < 9007199254740992 THEN ${double(t)} * ${powerOfTwo(scale)}`,
    `WHEN ${t} < 0 THEN -(${magnitude}) ELSE ${magnitude} END`,
  ].join(' ');
}

/**
 * roundedSum for DuckDB. Its integer to DOUBLE casts are not correctly rounded (off by up to a
 * few units in the last place), but double addition is: below 2^100 the cast's error
 * d - guess is an integer below 2^53, exact as a double, so guess + error is the double nearest
 * d, ties to even. Above, the integer goes through its decimal text, whose cast to DOUBLE is
 * correctly rounded (fast_float) but several times slower. The arithmetic stays in
 * DECIMAL(38, 0), the type of the sums: DuckDB's DECIMAL to HUGEINT cast costs microseconds a
 * value. `total` is repeated; no nested CASE repeats it further (DuckDB does not share
 * subexpressions inside a CASE).
 */
function duckdbRoundedSum(total: string, scale: string): string {
  const d = `CAST(${total} AS DECIMAL(38, 0))`;
  const guess = `CAST(${d} AS DOUBLE)`;
  const error = `CAST(${d} - CAST(${guess} AS DECIMAL(38, 0)) AS DOUBLE)`;
  const nearest = [
    `CASE WHEN abs(${d}) < CAST(${2n ** 100n} AS DECIMAL(38, 0)) THEN ${guess} + ${error}`,
    `ELSE CAST(CAST(${d} AS VARCHAR) AS DOUBLE) END`,
  ].join(' ');
  return `((${nearest}) * ${powerOfTwo(scale)})`;
}

import { listElementType, type ScalarType, type ValueType } from '../definitions/value-types.ts';
import { epochMicrosOf, parseEpochMicros } from '../epoch-micros.ts';

const int32Range = [-2_147_483_648, 2_147_483_647] as const;
const int64Range = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const float32Max = 3.4028234663852886e38;
/**
 * DynamoDB's number range: a magnitude from 1E-130 to 9.9999999999999999999999999999999999999E+125
 * (or 0). The nearest double above that maximum is 1e126, so a double is storable below 1e126.
 */
/** Years 0001 to 9999: what Parquet readers and ISO text without a sign agree on. */
const earliestTimestamp = epochMicrosOf('0001-01-01T00:00:00Z');
const afterLatestTimestamp = epochMicrosOf('+10000-01-01T00:00:00Z');
/** With the `u` flag a surrogate class matches only a surrogate that is not half of a pair. */
const loneSurrogate = /[\uD800-\uDFFF]/u;
const dynamoMinMagnitude = 1e-130;
const dynamoMaxMagnitudeExclusive = 1e126;

/**
 * Why a pushed JSON value cannot be a value of a column of `type`, or undefined when it can.
 * `null` is accepted here (the caller decides where a value is required). Timestamps are
 * ISO-8601 text; an int64 beyond 2^53 must be a decimal string, since a JSON number there has
 * already lost digits.
 */
export function valueProblem(type: ValueType, value: unknown): string | undefined {
  if (value === null) return undefined;
  const element = listElementType(type);
  if (element) {
    if (!Array.isArray(value)) return `must be a list of ${element}, got ${describe(value)}`;
    for (const [index, item] of value.entries()) {
      const problem = valueProblem(element, item);
      if (problem) return `[${index}] ${problem}`;
    }
    return undefined;
  }
  return scalarProblem(type as ScalarType, value);
}

function scalarProblem(type: ScalarType, value: unknown): string | undefined {
  switch (type) {
    case 'int32':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return `must be an int32 (a whole JSON number), got ${describe(value)}`;
      return value < int32Range[0] || value > int32Range[1]
        ? `${value} is outside the int32 range ${int32Range[0]}..${int32Range[1]}`
        : undefined;
    case 'int64': {
      if (typeof value === 'number') {
        if (!Number.isInteger(value)) return `must be an int64, got ${describe(value)}`;
        return Number.isSafeInteger(value)
          ? undefined
          : `${value} is beyond 2^53, where a JSON number loses digits; send it as a decimal string`;
      }
      if (typeof value !== 'string' || !/^-?\d{1,19}$/.test(value))
        return `must be an int64 (a whole JSON number, or a decimal string beyond 2^53), got ${describe(value)}`;
      const big = BigInt(value);
      return big < int64Range[0] || big > int64Range[1]
        ? `${value} is outside the int64 range`
        : undefined;
    }
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') return `must be a number, got ${describe(value)}`;
      if (!Number.isFinite(value)) return `must be a finite number, got ${value}`;
      if (type === 'float32' && Math.abs(value) > float32Max)
        return `${value} is outside the float32 range`;
      return value !== 0 &&
        (Math.abs(value) < dynamoMinMagnitude || Math.abs(value) >= dynamoMaxMagnitudeExclusive)
        ? `${value} is outside the range the online store (DynamoDB) can hold: 0, or a magnitude from 1e-130 to below 1e126`
        : undefined;
    case 'string': {
      if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
      const lone = loneSurrogate.exec(value);
      return lone
        ? `holds a lone UTF-16 surrogate (\\u${lone[0].charCodeAt(0).toString(16)} at character ${lone.index}), which is not text: the push log could not be read back`
        : undefined;
    }
    case 'bool':
      return typeof value === 'boolean'
        ? undefined
        : `must be true or false, got ${describe(value)}`;
    case 'timestamp': {
      const micros = typeof value === 'string' ? parseEpochMicros(value) : undefined;
      if (micros === undefined)
        return `must be an ISO-8601 timestamp such as "2026-03-01T12:00:00Z", got ${describe(value)}`;
      return micros < earliestTimestamp || micros >= afterLatestTimestamp
        ? `${describe(value)} is outside years 0001 to 9999`
        : undefined;
    }
    default:
      return `has unsupported type ${String(type)}`;
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Timestamps on data paths: epoch microseconds (UTC) as `bigint`, and ISO-8601 text with six
 * fractional digits. Nothing here goes through `Date` or a millisecond number, which would drop
 * the microseconds that section 3 of DESIGN.md promises. (Wall-clock "now" for scheduling,
 * leases and logs may stay in milliseconds; convert it once with `microsOfMillis`.)
 */

export const microsPerSecond = 1_000_000n;
export const microsPerDay = 86_400n * microsPerSecond;

const isoPattern =
  /^([+-]?\d{4,6})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Epoch microseconds of an ISO-8601 date or instant: `2026-03-01`, `2026-03-01T12:00:00Z`,
 * `2026-03-01 12:00:00.123456789+02:00` (space or `T`; up to 9 fractional digits, truncated to
 * 6; offsets `Z`, `±HH`, `±HHMM`, `±HH:MM`; none means UTC). `undefined` when it is not one.
 */
export function parseEpochMicros(text: string): bigint | undefined {
  const match = isoPattern.exec(text.trim());
  if (!match) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone = 'Z'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const offsetMinutes = parseOffset(zone);
  if (offsetMinutes === undefined) return undefined;
  const seconds =
    BigInt(daysFromCivil(year, month, day)) * 86_400n +
    BigInt(hour * 3600 + minute * 60 + second - offsetMinutes * 60);
  return seconds * microsPerSecond + BigInt(fraction.slice(0, 6).padEnd(6, '0'));
}

/** Like `parseEpochMicros`, but throws on text that is not a timestamp. */
export function epochMicrosOf(text: string): bigint {
  const micros = parseEpochMicros(text);
  if (micros === undefined) throw new RangeError(`not a timestamp: ${JSON.stringify(text)}`);
  return micros;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always six fractional digits. */
export function formatMicros(micros: bigint): string {
  const { date, time, fraction } = parts(micros);
  return `${date}T${time}.${fraction}Z`;
}

/** A TIMESTAMP literal's text (UTC, no zone): `YYYY-MM-DD HH:MM:SS.ffffff`. */
export function sqlTimestampText(micros: bigint): string {
  const { date, time, fraction } = parts(micros);
  return `${date} ${time}.${fraction}`;
}

/** The UTC calendar day, `YYYY-MM-DD` (the `dt` partition value). */
export function dayOfMicros(micros: bigint): string {
  return parts(micros).date;
}

/** Any ISO instant (see `parseEpochMicros`) as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; throws otherwise. */
export function normalizeIso(text: string): string {
  return formatMicros(epochMicrosOf(text));
}

export function plusSeconds(micros: bigint, seconds: number): bigint {
  if (!Number.isInteger(seconds)) throw new RangeError(`not a whole number of seconds: ${seconds}`);
  return micros + BigInt(seconds) * microsPerSecond;
}

export function minusSeconds(micros: bigint, seconds: number): bigint {
  return plusSeconds(micros, -seconds);
}

/** Wall-clock milliseconds (Date.now()) as epoch microseconds. */
export function microsOfMillis(millis: number): bigint {
  return BigInt(Math.floor(millis)) * 1000n;
}

/** Whole epoch seconds at or after an instant (an expiry must not come early). */
export function secondsCeil(micros: bigint): bigint {
  return -floorDiv(-micros, microsPerSecond);
}

/** Epoch microseconds as whole milliseconds, rounded down (for wall-clock arithmetic only). */
export function millisOfMicros(micros: bigint): number {
  return Number(floorDiv(micros, 1000n));
}

/** The later of two ISO instants (either may be absent), compared in microseconds. */
export function laterIso(a: string | undefined, b: string | undefined): string | undefined {
  if (!a) return b;
  if (!b) return a;
  return epochMicrosOf(b) > epochMicrosOf(a) ? b : a;
}

function parts(micros: bigint): { date: string; time: string; fraction: string } {
  const days = floorDiv(micros, microsPerDay);
  const ofDay = micros - days * microsPerDay;
  const secondOfDay = Number(ofDay / microsPerSecond);
  const fraction = (ofDay % microsPerSecond).toString().padStart(6, '0');
  const { year, month, day } = civilFromDays(Number(days));
  const yearText =
    year >= 0 && year <= 9999
      ? String(year).padStart(4, '0')
      : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  return {
    date: `${yearText}-${two(month)}-${two(day)}`,
    time: `${two(Math.floor(secondOfDay / 3600))}:${two(Math.floor(secondOfDay / 60) % 60)}:${two(secondOfDay % 60)}`,
    fraction,
  };
}

// Module level, not an arrow made per call: bundles keep names (keepNames), a defineProperty per
// arrow created, and lookups format an event time per item.
function two(n: number): string {
  return String(n).padStart(2, '0');
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function parseOffset(zone: string): number | undefined {
  if (zone === 'Z' || zone === 'z' || zone === 'UTC') return 0;
  const match = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!match) return undefined;
  const hours = Number(match[2]);
  const minutes = Number(match[3] ?? '0');
  if (hours > 23 || minutes > 59) return undefined;
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

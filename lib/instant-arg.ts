import { formatMicros, parseEpochMicros } from './epoch-micros.ts';
import { HintedError } from './hinted-error.ts';

export class InstantArgError extends HintedError {}

/**
 * A user-given date or time (`2026-03-01`, `2026-03-01T12:00:00.000300+02:00`) as ISO UTC with
 * its microseconds (`2026-03-01T10:00:00.000300Z`), or a clear error naming `flag`.
 */
export function instantArg(value: string, flag: string): string {
  const micros = parseEpochMicros(value);
  if (micros === undefined)
    throw new InstantArgError(
      `${flag} is not a date or time: "${value}"`,
      'use ISO-8601, e.g. 2026-03-01 or 2026-03-01T12:00:00Z',
    );
  return formatMicros(micros);
}

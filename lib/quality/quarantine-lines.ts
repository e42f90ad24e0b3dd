/** One quarantined row or stream record as the quarantine sinks write it (a JSON line). */
export interface QuarantinedLine {
  readonly view: string;
  readonly runId: string;
  readonly reasons: readonly string[];
  readonly row: Record<string, unknown>;
}

/** A quarantine line or object that could not be read, reported instead of failing the listing. */
export interface DamagedQuarantine {
  /** The file or `s3://` object. */
  readonly location: string;
  /** 1-based line of the text; none when the whole object could not be read. */
  readonly line?: number;
  readonly problem: string;
}

/**
 * The records of one quarantine file's text. A line that is not JSON (a write cut short, an
 * edited file) or not a record is reported with its line number, and the others still count.
 */
export function parseQuarantineLines(
  text: string,
  location: string,
): { lines: QuarantinedLine[]; damaged: DamagedQuarantine[] } {
  const lines: QuarantinedLine[] = [];
  const damaged: DamagedQuarantine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      damaged.push({ location, line: index + 1, problem: `not JSON: ${(error as Error).message}` });
      return;
    }
    if (isRecord(parsed)) lines.push(parsed);
    else
      damaged.push({
        location,
        line: index + 1,
        problem: 'not a quarantine record (an object with reasons and row)',
      });
  });
  return { lines, damaged };
}

function isRecord(value: unknown): value is QuarantinedLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { reasons, row } = value as { reasons?: unknown; row?: unknown };
  return (
    Array.isArray(reasons) &&
    reasons.every((r) => typeof r === 'string') &&
    typeof row === 'object' &&
    row !== null &&
    !Array.isArray(row)
  );
}

/** `score = 101 is above max 100` → `score above max 100`: the rule without the value. */
export function ruleOf(reason: string): string {
  return reason.replace(/ = .*? is not one of /, ' not one of ').replace(/ = .*? is /, ' ');
}

/** Why an object could not be read, as `<error name>: <message>`. */
export function unreadable(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  return `could not be read: ${name}: ${message}`;
}

const unitSeconds = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;
export type DurationUnit = keyof typeof unitSeconds;

export const durationPattern = /^([1-9][0-9]*)(s|m|h|d|w)$/;

/** Parses "90s", "15m", "12h", "30d", "2w" into seconds; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = durationPattern.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match;
  return Number(amount) * unitSeconds[unit as DurationUnit];
}

export function formatDuration(seconds: number): string {
  for (const unit of ['w', 'd', 'h', 'm'] as const) {
    const size = unitSeconds[unit];
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

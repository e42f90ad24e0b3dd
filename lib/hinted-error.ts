/** An error a person can act on: what went wrong and a hint for fixing it. */
export class HintedError extends Error {
  constructor(
    message: string,
    readonly hint: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The first line of an error's message: engines put detail (SQL, context) on the lines after. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

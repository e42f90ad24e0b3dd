import { HintedError } from '../hinted-error.ts';

/** `skippedLinesNotKept`: `push --follow` pushed the good lines, but a skipped line was kept nowhere. */
export const exitCodes = { ok: 0, failure: 1, usage: 2, skippedLinesNotKept: 3 } as const;

/** An error meant for the person at the terminal: one line, a hint, an exit code. */
export class CliError extends HintedError {
  readonly exitCode: number;

  constructor(
    message: string,
    options: { hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, options.hint, { cause: options.cause });
    this.exitCode = options.exitCode ?? exitCodes.failure;
  }
}

export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: exitCodes.usage, ...(hint !== undefined ? { hint } : {}) });
  }
}

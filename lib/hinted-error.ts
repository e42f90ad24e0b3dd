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

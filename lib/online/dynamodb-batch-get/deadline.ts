/** Below this much time left, no BatchGetItem attempt or unprocessed-keys round starts. */
const defaultMinAttemptMs = 100;

export interface DeadlineOptions {
  /** A monotonic clock in milliseconds; `performance.now` when not given. */
  readonly now?: () => number;
  /** The least time an attempt needs to be worth starting. Default 100 ms. */
  readonly minAttemptMs?: number;
}

/**
 * The moment a lookup must have its answer, shared by every BatchGetItem call and retry it
 * makes, so attempts × rounds cannot outlast the Lambda's timeout. It also counts the attempts
 * they made, for the log of a lookup that ran out of time.
 */
export class Deadline {
  #attempts = 0;

  private constructor(
    /** The time given, in milliseconds. */
    readonly budgetMs: number,
    private readonly at: number,
    private readonly now: () => number,
    private readonly minAttemptMs: number,
  ) {}

  /** A deadline `budgetMs` from now (a budget of 0 or less has already passed). */
  static after(budgetMs: number, options: DeadlineOptions = {}): Deadline {
    if (!Number.isFinite(budgetMs))
      throw new Error(`a lookup deadline needs a finite number of milliseconds, got ${budgetMs}`);
    const now = options.now ?? (() => performance.now());
    return new Deadline(
      budgetMs,
      now() + budgetMs,
      now,
      options.minAttemptMs ?? defaultMinAttemptMs,
    );
  }

  timeLeftMs(): number {
    return this.at - this.now();
  }

  /** Whether an attempt may still start after waiting `waitMs` (a backoff). */
  allowsAttemptAfter(waitMs = 0): boolean {
    return this.timeLeftMs() - waitMs >= this.minAttemptMs;
  }

  /** Counts attempts made against DynamoDB under this deadline (an SDK call may make several). */
  countAttempts(count = 1): void {
    this.#attempts += count;
  }

  get attempts(): number {
    return this.#attempts;
  }
}

/** A lookup that ran out of its deadline: the API answers 503 DEADLINE_EXCEEDED. */
export class DeadlineExceededError extends Error {
  constructor(
    message: string,
    /** Attempts made against DynamoDB under the deadline, all calls together. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The error of a call that may not start another attempt: names the time left and the last failure. */
export function noTimeForAnotherAttempt(
  deadline: Deadline,
  what: string,
  lastFailure?: unknown,
): DeadlineExceededError {
  const left = Math.max(0, Math.round(deadline.timeLeftMs()));
  const last = lastFailure instanceof Error ? `; the last failed: ${lastFailure.message}` : '';
  return new DeadlineExceededError(
    `the lookup's ${deadline.budgetMs} ms deadline leaves no time for ${what} (${left} ms left, ${deadline.attempts} DynamoDB attempt(s) made)${last}`,
    deadline.attempts,
    lastFailure === undefined ? undefined : { cause: lastFailure },
  );
}

/**
 * JSON log lines for the lookup Lambda in Powertools Logger's format (level, message,
 * timestamp, service, the Lambda context keys, sampling_rate, xray_trace_id, then the extra
 * attributes; errors as name, location, message, stack, cause), without its load at cold start
 * (ADR 0014). Only what the lookup logs: info, warn and error.
 */

/** The Lambda context keys a log line carries. */
export interface LogContext {
  readonly functionName: string;
  readonly invokedFunctionArn?: string;
  readonly memoryLimitInMB?: string;
  readonly awsRequestId: string;
}

type Level = 'INFO' | 'WARN' | 'ERROR';
const levelRank = {
  DEBUG: 8,
  TRACE: 6,
  INFO: 12,
  WARN: 16,
  ERROR: 20,
  CRITICAL: 24,
  SILENT: 28,
};

/**
 * The threshold's rank, in Powertools Logger's order: Lambda's own log setting
 * (AWS_LAMBDA_LOG_LEVEL, whose FATAL Powertools reads as CRITICAL) wins over
 * POWERTOOLS_LOG_LEVEL, then LOG_LEVEL (legacy); INFO when none is set. An empty variable
 * counts as unset. Levels are upper case, as Powertools reads them. A value that is not a level
 * is ignored as Powertools ignores it (an unknown AWS_LAMBDA_LOG_LEVEL gives way to the others;
 * an unknown POWERTOOLS_LOG_LEVEL or LOG_LEVEL gives INFO) and named in `ignored`, so a typo
 * never stops the function from starting.
 */
function thresholdOf(env: Readonly<Record<string, string | undefined>>): {
  rank: number;
  ignored?: string;
} {
  const rankOf = (text: string) =>
    Object.hasOwn(levelRank, text) ? levelRank[text as keyof typeof levelRank] : undefined;
  const unknown = (variable: string, text: string) =>
    `${variable} ${JSON.stringify(text)} is not a log level (one of ${Object.keys(levelRank).join(', ')}${variable === 'AWS_LAMBDA_LOG_LEVEL' ? ', FATAL' : ''}); ignored`;
  const lambda = env.AWS_LAMBDA_LOG_LEVEL?.trim();
  let ignored: string | undefined;
  if (lambda) {
    const rank = rankOf(lambda === 'FATAL' ? 'CRITICAL' : lambda);
    if (rank !== undefined) return { rank };
    ignored = unknown('AWS_LAMBDA_LOG_LEVEL', lambda);
  }
  for (const variable of ['POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL']) {
    const text = env[variable]?.trim();
    if (!text) continue;
    const rank = rankOf(text);
    return rank === undefined
      ? { rank: levelRank.INFO, ignored: unknown(variable, text) }
      : { rank, ignored };
  }
  return { rank: levelRank.INFO, ignored };
}

/** What a handler needs of a logger; Powertools' Logger has the same methods. */
export interface LogSink {
  addContext(context: LogContext): unknown;
  info(message: string, extra?: Error | Readonly<Record<string, unknown>>): unknown;
  warn(message: string, extra?: Error | Readonly<Record<string, unknown>>): unknown;
  error(message: string, extra?: Error | Readonly<Record<string, unknown>>): unknown;
}

export interface StructuredLoggerOptions {
  readonly serviceName: string;
  /** Read once: AWS_LAMBDA_LOG_LEVEL, else POWERTOOLS_LOG_LEVEL, else LOG_LEVEL (default INFO); _X_AMZN_TRACE_ID per line. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** INFO goes to standard output, WARN and ERROR to standard error, as Powertools does on Lambda. */
  readonly write?: (level: Level, line: string) => void;
  readonly now?: () => Date;
}

export class StructuredLogger implements LogSink {
  readonly #serviceName: string;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #threshold: number;
  readonly #write: (level: Level, line: string) => void;
  readonly #now: () => Date;
  #context: (LogContext & { readonly coldStart: boolean }) | undefined;
  #coldStart: boolean;

  constructor(options: StructuredLoggerOptions) {
    this.#serviceName = options.serviceName;
    this.#env = options.env ?? process.env;
    const threshold = thresholdOf(this.#env);
    this.#threshold = threshold.rank;
    this.#write =
      options.write ??
      ((level, line) => (level === 'INFO' ? process.stdout : process.stderr).write(line));
    this.#now = options.now ?? (() => new Date());
    this.#coldStart = this.#env.AWS_LAMBDA_INITIALIZATION_TYPE !== 'provisioned-concurrency';
    if (threshold.ignored) this.warn(threshold.ignored);
  }

  /** The invocation's context for the lines that follow; cold_start is true for the first only. */
  addContext(context: LogContext): void {
    this.#context = { ...context, coldStart: this.#coldStart };
    this.#coldStart = false;
  }

  info(message: string, extra?: Error | Readonly<Record<string, unknown>>): void {
    this.log('INFO', message, extra);
  }

  warn(message: string, extra?: Error | Readonly<Record<string, unknown>>): void {
    this.log('WARN', message, extra);
  }

  error(message: string, extra?: Error | Readonly<Record<string, unknown>>): void {
    this.log('ERROR', message, extra);
  }

  private log(level: Level, message: string, extra?: Error | Readonly<Record<string, unknown>>) {
    if (levelRank[level] < this.#threshold) return;
    const context = this.#context;
    const item: Record<string, unknown> = {
      level,
      message,
      timestamp: this.#now().toISOString(),
      service: this.#serviceName,
      cold_start: context?.coldStart,
      function_arn: context?.invokedFunctionArn,
      function_memory_size: context?.memoryLimitInMB,
      function_name: context?.functionName,
      function_request_id: context?.awsRequestId,
      sampling_rate: 0,
      xray_trace_id: traceRoot(this.#env._X_AMZN_TRACE_ID),
    };
    if (extra instanceof Error) item.error = formatError(extra);
    else if (extra) for (const [key, value] of Object.entries(extra)) item[key] = value;
    this.#write(level, `${JSON.stringify(item, safeReplacer())}\n`);
  }
}

/** The Root=… part of Lambda's X-Ray header, as Powertools logs it. */
function traceRoot(header: string | undefined): string | undefined {
  return header?.split(';')[0]?.replace('Root=', '') || undefined;
}

/** An error as Powertools writes it: name, location (file:line of the first frame), message, stack, cause, own fields. */
export function formatError(error: Error): Record<string, unknown> {
  const { name, message, stack, cause } = error;
  const formatted: Record<string, unknown> = {
    name,
    location: codeLocation(stack),
    message,
    stack,
    cause: cause instanceof Error ? formatError(cause) : cause,
  };
  for (const key of Object.keys(error))
    if (!['name', 'message', 'stack', 'cause'].includes(key))
      formatted[key] = (error as unknown as Record<string, unknown>)[key];
  return formatted;
}

function codeLocation(stack: string | undefined): string {
  for (const line of stack?.split('\n') ?? []) {
    const match = /\(([^()]*?):(\d+?):(\d+?)\)\\?$/.exec(line);
    if (match) return `${match[1]}:${Number(match[2])}`;
  }
  return '';
}

/** Errors nested in attributes are formatted, bigints written as text, a repeated object left out (no throw on cycles). */
function safeReplacer() {
  const seen = new WeakSet<object>();
  return (_key: string, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return undefined;
      seen.add(value);
      if (value instanceof Error) return formatError(value);
    }
    return value;
  };
}

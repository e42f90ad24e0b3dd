import aws4 from 'aws4';
import type { PushAnswer } from '../push/execute-push.ts';
import { isRetryableStatus, PushError, type PushErrorDetails } from './push-error.ts';

export type { PushAnswer } from '../push/execute-push.ts';
export { PushError, type PushErrorDetails } from './push-error.ts';

export interface PushCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface PushOptions {
  /**
   * Base URL of the API: `http://127.0.0.1:8080` (`fstore serve`) or the HTTP API's URL
   * (`https://<id>.execute-api.<region>.amazonaws.com`, with a stage path if it has one).
   */
  readonly endpoint: string | URL;
  readonly source: string;
  /** Rows keyed by the source's schema column names (docs/adr/0015-push.md). */
  readonly rows: readonly Readonly<Record<string, unknown>>[];
  /** Default `online_and_offline`, as the API's. */
  readonly to?: 'online' | 'offline' | 'online_and_offline';
  /**
   * Sent as `Idempotency-Key`: a retried push with the same key returns the first answer.
   * With `maxRowsPerRequest`, request i carries `<key>:<i>`.
   */
  readonly idempotencyKey?: string;
  /**
   * SigV4-sign each request (service `execute-api`), as the AWS HTTP API's IAM authorization
   * needs. `credentials` may be a provider (e.g. the AWS SDK's `fromNodeProviderChain()`),
   * called before each attempt so refreshed credentials are used. Leave out for `fstore serve`.
   */
  readonly signing?: {
    readonly region: string;
    readonly credentials: PushCredentials | (() => Promise<PushCredentials>);
  };
  /**
   * Split `rows` into requests of at most this many (the server's limit is 1,000 by default),
   * sent one after the other; without it all rows go in one request (over the limit: 413).
   */
  readonly maxRowsPerRequest?: number;
  /** Attempts per request for 429/502/503/504 and network errors (default 4); others are not retried. */
  readonly maxAttempts?: number;
  /** First backoff in ms (default 100), doubled per attempt with full jitter, at most 5 s; a Retry-After header is honoured. */
  readonly baseDelayMs?: number;
  /** Time allowed per request (default 10 s). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** For tests: the fetch, sleep, clock (signing time) and jitter used. */
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
  readonly random?: () => number;
}

/** The answer of a push; when split, the summed counts and every request's own answer. */
export type PushResult = PushAnswer & { readonly requests?: readonly PushAnswer[] };

/**
 * Pushes rows to a source through `POST /v1/push/{source}` and returns the API's typed answer.
 * A refusal (4xx) throws PushError with the status, code and details (row, field, reason) at
 * once. 429, 502-504 and network errors are retried with backoff: online, a resent row the
 * first attempt stored ties with itself (same event and created time) and is written again with
 * the same values, never an older one over a newer event; an offline log whose content was
 * already ingested is not ingested again; an Idempotency-Key makes the retry write nothing and
 * return the first answer. After the last attempt the PushError of the last answer is thrown.
 */
export async function push(options: PushOptions): Promise<PushResult> {
  const max = options.maxRowsPerRequest;
  if (max === undefined || options.rows.length <= max) return pushRequest(options, options.rows);
  if (!Number.isInteger(max) || max < 1)
    throw new RangeError(`maxRowsPerRequest must be a whole number ≥ 1, got ${max}`);
  const answers: PushAnswer[] = [];
  for (let start = 0, i = 0; start < options.rows.length; start += max, i++) {
    const key =
      options.idempotencyKey === undefined
        ? {}
        : { idempotencyKey: `${options.idempotencyKey}:${i}` };
    answers.push(await pushRequest({ ...options, ...key }, options.rows.slice(start, start + max)));
  }
  return combine(answers);
}

async function pushRequest(
  options: PushOptions,
  rows: readonly Readonly<Record<string, unknown>>[],
): Promise<PushAnswer> {
  const url = pushUrl(options.endpoint, options.source);
  const body = JSON.stringify({ rows, ...(options.to ? { to: options.to } : {}) });
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const send = options.fetch ?? fetch;
  for (let attempt = 1; ; attempt++) {
    let failure: PushError;
    let retryAfterMs: number | undefined;
    try {
      const headers = await requestHeaders(options, url, body);
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
      const response = await send(url, {
        method: 'POST',
        headers,
        body,
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      });
      const text = await response.text();
      if (response.ok) return parseAnswer(text, response.status, attempt);
      failure = errorOf(text, response.status, attempt);
      retryAfterMs = retryAfter(response.headers.get('retry-after'));
    } catch (error) {
      if (error instanceof PushError || options.signal?.aborted) throw error;
      failure = new PushError(
        `push to ${url.origin} got no answer: ${(error as Error).message}`,
        0,
        'NO_RESPONSE',
        {},
        attempt,
        { cause: error },
      );
    }
    if (!isRetryableStatus(failure.status) || attempt >= maxAttempts) throw failure;
    const backoff = Math.min(5_000, (options.baseDelayMs ?? 100) * 2 ** (attempt - 1));
    await sleep(Math.max(retryAfterMs ?? 0, random() * backoff));
  }
}

function pushUrl(endpoint: string | URL, source: string): URL {
  const base = new URL(endpoint);
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new TypeError(`endpoint must be an http(s) URL, got ${base.href}`);
  const prefix = base.pathname.replace(/\/+$/, '');
  return new URL(`${prefix}/v1/push/${encodeURIComponent(source)}`, base.origin);
}

async function requestHeaders(
  options: PushOptions,
  url: URL,
  body: string,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.idempotencyKey === undefined ? {} : { 'idempotency-key': options.idempotencyKey }),
  };
  if (!options.signing) return headers;
  const { region, credentials } = options.signing;
  const resolved = typeof credentials === 'function' ? await credentials() : credentials;
  const signed = aws4.sign(
    {
      host: url.host,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      service: 'execute-api',
      region,
      body,
      headers: { ...headers, 'x-amz-date': amzDate((options.now ?? (() => new Date()))()) },
    },
    resolved,
  );
  // fetch sets Host and Content-Length itself (and refuses to be given them).
  return Object.fromEntries(
    Object.entries(signed.headers ?? {})
      .filter(([name]) => !/^(host|content-length)$/i.test(name))
      .map(([name, value]) => [name, String(value)]),
  );
}

/** `YYYYMMDDTHHMMSSZ`, SigV4's time format. */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function parseAnswer(text: string, status: number, attempts: number): PushAnswer {
  try {
    return JSON.parse(text) as PushAnswer;
  } catch (error) {
    throw new PushError(
      `the push answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`,
      status,
      'INVALID_RESPONSE',
      {},
      attempts,
      { cause: error },
    );
  }
}

function errorOf(text: string, status: number, attempts: number): PushError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const body = (parsed ?? {}) as {
    error?: { code?: unknown; message?: unknown; details?: unknown };
    message?: unknown;
  };
  const code = typeof body.error?.code === 'string' ? body.error.code : `HTTP_${status}`;
  const message =
    typeof body.error?.message === 'string'
      ? body.error.message
      : typeof body.message === 'string'
        ? body.message
        : text.slice(0, 200) || `HTTP ${status}`;
  const details =
    body.error?.details && typeof body.error.details === 'object'
      ? (body.error.details as PushErrorDetails)
      : {};
  return new PushError(
    `push refused (${status} ${code}): ${message}`,
    status,
    code,
    details,
    attempts,
  );
}

/** Retry-After as ms: seconds, or an HTTP date. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.min(seconds, 60)) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 60_000));
}

function combine(answers: readonly PushAnswer[]): PushResult {
  const [first] = answers as [PushAnswer, ...PushAnswer[]];
  const views = new Map<string, { view: string; written: number; skippedAsOlder: number }>();
  let online: PushAnswer['online'];
  for (const answer of answers) {
    if (!answer.online) continue;
    for (const v of answer.online.views) {
      const seen = views.get(v.view) ?? { view: v.view, written: 0, skippedAsOlder: 0 };
      views.set(v.view, {
        view: v.view,
        written: seen.written + v.written,
        skippedAsOlder: seen.skippedAsOlder + v.skippedAsOlder,
      });
    }
    online = {
      written: (online?.written ?? 0) + answer.online.written,
      skippedAsOlder: (online?.skippedAsOlder ?? 0) + answer.online.skippedAsOlder,
      views: [...views.values()],
      notUpdated: answer.online.notUpdated,
    };
  }
  const offlineRows = answers.reduce((sum, a) => sum + (a.offline?.rows ?? 0), 0);
  return {
    source: first.source,
    rows: answers.reduce((sum, a) => sum + a.rows, 0),
    to: first.to,
    ...(online ? { online } : {}),
    ...(first.offline ? { offline: { rows: offlineRows, visible: first.offline.visible } } : {}),
    requests: answers,
  };
}

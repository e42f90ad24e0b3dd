import http from 'node:http';
import https from 'node:https';
import type { Deadline } from './deadline.ts';
import { noTimeForAnotherAttempt } from './deadline.ts';
import { DynamoDbRequestError, errorOfNetwork, errorOfResponse } from './dynamodb-request-error.ts';
import { type AwsCredentials, signedDynamoDbHeaders } from './sign-request.ts';

export interface SignedClientOptions {
  readonly region: string;
  readonly credentials: AwsCredentials;
  /** `http(s)://host[:port][/path]`; DynamoDB's regional endpoint when not given. */
  readonly endpoint?: string;
  /** Per attempt, from sending the request to the last byte of the answer. Default 2,000 ms. */
  readonly timeoutMs?: number;
  /** Attempts of one call through throttling, 5xx, connection resets and timeouts. Default 3. */
  readonly maxAttempts?: number;
  /** Full-jitter backoff: before attempt n, random() × min(maxDelayMs, baseDelayMs × 2^(n-2)). */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Bytes read of a 200 answer before it is refused. Default 17 MiB (BatchGetItem answers are at most 16 MB). */
  readonly maxAnswerBytes?: number;
  /** Bytes read of any other answer (an error document is small) before it is refused. Default 64 KiB. */
  readonly maxErrorAnswerBytes?: number;
  /** Sockets kept per client (the keep-alive agent's maxSockets). Default 64. */
  readonly maxSockets?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

/**
 * Sends one DynamoDB operation (its JSON body) and returns what `parse` makes of the 200 answer's
 * text. `parse` throws a DynamoDbRequestError (not retryable) for an answer of the wrong shape.
 */
export type SignedDynamoDbCall = <T>(
  operation: string,
  body: string,
  parse: (text: string) => T,
  deadline?: Deadline,
) => Promise<T>;

/**
 * One DynamoDB JSON-protocol client over `node:http(s)` with a keep-alive agent and SigV4
 * (aws4), without the AWS SDK (ADR 0014): the lookup's BatchGetItem and the push's PutItem are
 * built on it. It keeps what the SDK gave them: bounded retries with jittered backoff of
 * throttling, 5xx answers, connection resets and timeouts (the SDK's standard mode has 3
 * attempts), and errors that name DynamoDB's error type. Alone, three attempts of at most 2 s and
 * their backoff give up within about 6.5 s; with a deadline no attempt starts, or waits, past it,
 * and none outlives it.
 */
export function signedDynamoDbCall(options: SignedClientOptions): SignedDynamoDbCall {
  const endpoint = new URL(options.endpoint ?? dynamoDbEndpoint(options.region));
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:')
    throw new Error(
      `DynamoDB endpoint ${endpoint.href}: must be an http:// or https:// URL (got ${endpoint.protocol})`,
    );
  // Signed requests carry the credentials' session token: plain http only to this machine.
  if (endpoint.protocol === 'http:' && !loopbackHosts.has(endpoint.hostname))
    throw new Error(
      `DynamoDB endpoint ${endpoint.href}: plain http:// is only allowed to a loopback host (127.0.0.1, [::1], localhost); use https://`,
    );
  const transport = endpoint.protocol === 'http:' ? http : https;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const timeoutMs = options.timeoutMs ?? 2_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 1_000;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const caps: AnswerCaps = {
    ok: options.maxAnswerBytes ?? 17 * 1024 * 1024,
    error: options.maxErrorAnswerBytes ?? 64 * 1024,
  };
  const target = {
    hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: endpoint.port,
    path: endpoint.pathname,
    agent,
  };

  return async (operation, body, parse, deadline) => {
    for (let attempt = 1; ; attempt++) {
      if (deadline && !deadline.allowsAttemptAfter(0))
        throw noTimeForAnotherAttempt(deadline, `${operation} attempt ${attempt}`);
      // The last attempt before the deadline gets only the time that is left.
      const attemptTimeoutMs = deadline
        ? Math.min(timeoutMs, Math.floor(deadline.timeLeftMs()))
        : timeoutMs;
      deadline?.countAttempts();
      try {
        const headers = signedDynamoDbHeaders(
          endpoint,
          options.region,
          options.credentials,
          operation,
          body,
        );
        const answer = await post(
          transport,
          { ...target, headers },
          body,
          attemptTimeoutMs,
          caps,
          operation,
        );
        if (answer.statusCode !== 200)
          throw errorOfResponse(answer.statusCode, answer.errorType, answer.text);
        return parse(answer.text);
      } catch (caught) {
        const error = errorOfNetwork(caught);
        // An attempt given only the time left that then times out ran out of the caller's time,
        // the last attempt too: that is the deadline's failure, not the store's.
        if (deadline && error.errorType === 'TimeoutError' && attemptTimeoutMs < timeoutMs)
          throw noTimeForAnotherAttempt(
            deadline,
            `${operation} attempt ${attempt} to answer`,
            error,
          );
        if (!error.retryable || attempt >= maxAttempts) {
          if (attempt === 1) throw error;
          throw new DynamoDbRequestError(
            `${error.message} (attempt ${attempt} of ${maxAttempts})`,
            error.errorType,
            error.statusCode,
            error.retryable,
            { cause: error.cause ?? error },
          );
        }
        const delayMs = random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        if (deadline && !deadline.allowsAttemptAfter(delayMs))
          throw noTimeForAnotherAttempt(deadline, `${operation} attempt ${attempt + 1}`, error);
        await sleep(delayMs);
      }
    }
  };
}

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** DynamoDB's regional endpoint; regions of the isolated partitions must name theirs. */
export function dynamoDbEndpoint(region: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))
    throw new Error(
      `AWS region "${region}" is not a region name like eu-west-1; set AWS_REGION, or AWS_ENDPOINT_URL_DYNAMODB for a local store`,
    );
  if (/^[a-z]{2}-iso[a-z]*-/.test(region))
    throw new Error(
      `AWS region ${region} is in an isolated partition whose DynamoDB endpoint the lookup does not know; set AWS_ENDPOINT_URL_DYNAMODB`,
    );
  return region.startsWith('cn-')
    ? `https://dynamodb.${region}.amazonaws.com.cn`
    : `https://dynamodb.${region}.amazonaws.com`;
}

/** The error of a 200 answer that is not the operation's shape: a retry would read the same. */
export const malformedAnswer = (operation: string, what: string) =>
  new DynamoDbRequestError(
    `DynamoDB's ${operation} answer is malformed: ${what}`,
    'MalformedResponse',
    200,
    false,
  );

interface AnswerCaps {
  readonly ok: number;
  readonly error: number;
}

interface Answer {
  readonly statusCode: number;
  readonly errorType: string | undefined;
  readonly text: string;
}

function post(
  transport: typeof http | typeof https,
  request: http.RequestOptions,
  body: string,
  timeoutMs: number,
  caps: AnswerCaps,
  operation: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(errorOfNetwork(error));
    };
    const sent = transport.request({ ...request, method: 'POST' }, (response) => {
      const chunks: Buffer[] = [];
      const statusCode = response.statusCode ?? 0;
      const cap = statusCode === 200 ? caps.ok : caps.error;
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > cap) {
          const errorType = response.headers['x-amzn-errortype'];
          fail(
            statusCode === 200
              ? // A retry would likely read the same oversized answer; refuse it for good.
                new DynamoDbRequestError(
                  `DynamoDB's ${operation} answer (HTTP ${statusCode}) is malformed: longer than ${cap} bytes`,
                  'MalformedResponse',
                  statusCode,
                  false,
                )
              : // A proxy's long 503 page is still a 503: its status says whether to retry.
                errorOfResponse(
                  statusCode,
                  typeof errorType === 'string' ? errorType : undefined,
                  Buffer.concat(chunks).toString('utf8'),
                ),
          );
          sent.destroy();
          return;
        }
        chunks.push(chunk);
      });
      // An answer cut off in the middle errs with ECONNRESET ('aborted'): retried.
      response.on('error', fail);
      response.on('end', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const errorType = response.headers['x-amzn-errortype'];
        resolve({
          statusCode,
          errorType: typeof errorType === 'string' ? errorType : undefined,
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    const timer = setTimeout(() => {
      fail(
        new DynamoDbRequestError(
          `DynamoDB did not answer within ${timeoutMs} ms`,
          'TimeoutError',
          undefined,
          true,
        ),
      );
      sent.destroy();
    }, timeoutMs);
    sent.on('error', fail);
    sent.end(body);
  });
}

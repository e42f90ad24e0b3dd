/** An error the HTTP API reports as `{ "error": { code, message, details } }` with a 4xx/5xx status. */
export class ApiError extends Error {
  /** Extra response headers, e.g. `allow` on a 405. */
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.headers = options?.headers ?? {};
  }
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function jsonResponse(statusCode: number, payload: unknown): ApiResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  };
}

export function errorResponse(error: ApiError): ApiResponse {
  const response = jsonResponse(error.status, {
    error: { code: error.code, message: error.message, details: error.details },
  });
  return { ...response, headers: { ...error.headers, ...response.headers } };
}

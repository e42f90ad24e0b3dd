import type { ApiResponse } from '../api/api-error.ts';
import type { HttpApiEvent } from '../api/http-api-event.ts';
import { handlePush, type PushDependencies } from './handle-push.ts';
import { type PushAuthorizer, pushCaller } from './push-caller.ts';

/**
 * The parts of an API Gateway (HTTP API, payload 2.0) event a push reads: the lookup's, and the
 * authorizer context, whose caller scopes an Idempotency-Key (push-caller.ts).
 */
export type PushHttpEvent = HttpApiEvent & {
  readonly requestContext: HttpApiEvent['requestContext'] & {
    readonly authorizer?: PushAuthorizer;
  };
};

/** The push route as an HTTP API event handler: the local server's, and the Lambda's to come. */
export function pushEventHandler(
  deps: PushDependencies,
): (event: PushHttpEvent) => Promise<ApiResponse> {
  return (event) =>
    handlePush(
      {
        method: event.requestContext.http.method,
        path: event.rawPath,
        body:
          event.body === undefined
            ? null
            : event.isBase64Encoded
              ? Buffer.from(event.body, 'base64').toString('utf8')
              : event.body,
        headers: event.headers ?? {},
        ...callerOf(event),
        ...(event.requestContext.requestId === undefined
          ? {}
          : { requestId: event.requestContext.requestId }),
      },
      deps,
    );
}

function callerOf(event: PushHttpEvent): { caller?: string } {
  const caller = pushCaller(event.requestContext.authorizer);
  return caller === undefined ? {} : { caller };
}

/** The authorizer context API Gateway (HTTP API, payload 2.0) adds to an authorized request. */
export interface PushAuthorizer {
  readonly iam?: {
    readonly accountId?: string;
    readonly userArn?: string;
    readonly callerId?: string;
  };
  readonly jwt?: { readonly claims?: Readonly<Record<string, unknown>> };
}

/**
 * Who sent a push, to scope its Idempotency-Key (two producers' equal keys are two pushes): the
 * IAM principal, an assumed role without its session name (renewed credentials of one producer
 * are the same caller), or a JWT's issuer and subject. Undefined when the request carries no
 * authorizer context: the local server (loopback, unauthenticated), where a key is scoped by
 * source alone.
 */
export function pushCaller(authorizer: PushAuthorizer | undefined): string | undefined {
  const iam = authorizer?.iam;
  if (iam?.userArn) return `iam:${withoutSession(iam.userArn)}`;
  // A role's callerId is `<role id>:<session name>`; a user's has no session.
  if (iam?.callerId) return `iam:${iam.accountId ?? ''}:${iam.callerId.split(':')[0]}`;
  const claims = authorizer?.jwt?.claims;
  const subject = claims?.sub ?? claims?.client_id;
  if (typeof subject === 'string' && subject !== '')
    return `jwt:${typeof claims?.iss === 'string' ? claims.iss : ''} ${subject}`;
  return undefined;
}

function withoutSession(arn: string): string {
  return /^(arn:[^:]+:sts::[^:]*:assumed-role\/[^/]+)\/.+$/.exec(arn)?.[1] ?? arn;
}

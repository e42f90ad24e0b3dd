import type { ArnScope, PolicyStatement } from './policy-statement.ts';

/**
 * The push route as an execute-api resource path (`{source}` as `*`). A test holds the lookup
 * and push routes together equal to the routes of the synthesized API, so a new route cannot
 * go ungranted, and holds them apart, so a producer's grant never reaches a lookup.
 */
export const pushApiRoute = { method: 'POST', path: '/v1/push/*' } as const;

/**
 * `execute-api:Invoke` on the push route of the API `apiId`, in any stage (it has `$default`):
 * every source, or only the sources named.
 */
export function pushStatements(
  scope: ArnScope,
  apiId: string,
  sources?: readonly string[],
): PolicyStatement[] {
  const api = `arn:${scope.partition}:execute-api:${scope.region}:${scope.account}:${apiId}`;
  const paths =
    sources === undefined || sources.length === 0
      ? [pushApiRoute.path]
      : sources.map((source) => pushApiRoute.path.replace('*', source));
  return [
    {
      Effect: 'Allow',
      Action: ['execute-api:Invoke'],
      Resource: paths.map((path) => `${api}/*/${pushApiRoute.method}${path}`),
    },
  ];
}

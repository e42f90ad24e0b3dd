import type { ArnScope, PolicyStatement } from './policy-statement.ts';

/**
 * The lookup API's routes as execute-api resource paths (path parameters as `*`). A test holds
 * them equal to the routes of the synthesized API, so a new route cannot go ungranted.
 */
export const lookupApiRoutes: readonly { readonly method: string; readonly path: string }[] = [
  { method: 'POST', path: '/v1/features/*' },
  { method: 'POST', path: '/v1/feature-views/*' },
  { method: 'GET', path: '/v1/registry' },
  { method: 'GET', path: '/v1/health' },
  { method: 'GET', path: '/v1/openapi.json' },
];

/** `execute-api:Invoke` on each route of the lookup API `apiId`, in any stage (it has `$default`). */
export function lookupStatements(scope: ArnScope, apiId: string): PolicyStatement[] {
  const api = `arn:${scope.partition}:execute-api:${scope.region}:${scope.account}:${apiId}`;
  return [
    {
      Effect: 'Allow',
      Action: ['execute-api:Invoke'],
      Resource: lookupApiRoutes.map((r) => `${api}/*/${r.method}${r.path}`),
    },
  ];
}

/**
 * Where a deploy records its registry in the stack's artifacts bucket: the registry now
 * deployed (read by `fstore plan --env <aws>`) and one immutable copy per registry version.
 */
export const deployedRegistryKey = 'registry/deployed.json';

export function registryHistoryKey(version: string): string {
  return `registry/history/${version}.json`;
}

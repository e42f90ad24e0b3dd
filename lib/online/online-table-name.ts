/** One online table per environment. */
export function onlineTableName(env: string): string {
  return `fstore-${env}-online`;
}

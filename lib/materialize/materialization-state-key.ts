/**
 * The state item's key. `~` cannot start a view name, so it never meets an entity item
 * (`<view>#<version>#<key>`); the version in it makes a changed view start from scratch.
 */
export function stateKey(keyPrefix: string): string {
  return `~fstore#materialization#${keyPrefix}`;
}

/**
 * Regions outside the commercial partition, by name prefix: their ARNs start `arn:<partition>:`,
 * so a policy written with `arn:aws:` there names nothing.
 */
const partitionsByRegionPrefix: readonly [prefix: string, partition: string][] = [
  ['cn-', 'aws-cn'],
  ['us-gov-', 'aws-us-gov'],
];

/** The AWS partition of `region` (`aws` unless it is a China or GovCloud region). */
export function partitionOfRegion(region: string): string {
  return partitionsByRegionPrefix.find(([prefix]) => region.startsWith(prefix))?.[1] ?? 'aws';
}

import { HintedError } from '../hinted-error.ts';

/**
 * Athena refuses a query string (StartQueryExecution's QueryString, CreatePreparedStatement's
 * QueryStatement) longer than 262,144 bytes; the quota cannot be raised.
 */
export const maxAthenaQueryBytes = 262_144;

/** Named explicitly: the Lambda bundles are minified, which renames classes (HintedError's default). */
export class AthenaQueryTooLongError extends HintedError {
  override name = 'AthenaQueryTooLongError';
}

/** The UTF-8 size of `sql`, which is what Athena counts. */
export function athenaQueryBytes(sql: string): number {
  return Buffer.byteLength(sql, 'utf8');
}

const fewerFeatures =
  'request fewer features at once (split the service or the view: each sum or avg of a float column over a window adds about 10 kB)';

/** Throws, naming `what` and both sizes, when `sql` is longer than Athena accepts. */
export function checkAthenaQuerySize(sql: string, what: string, hint = fewerFeatures): void {
  const bytes = athenaQueryBytes(sql);
  if (bytes <= maxAthenaQueryBytes) return;
  throw new AthenaQueryTooLongError(
    `${what} is ${bytes.toLocaleString('en-US')} bytes of SQL; Athena accepts at most ${maxAthenaQueryBytes.toLocaleString('en-US')}`,
    hint,
  );
}

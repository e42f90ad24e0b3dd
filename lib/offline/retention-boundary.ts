/**
 * The event-time boundary of a retention: rows before `now - retention` are past it. No I/O,
 * so the retention function's bundle (lambdas/retention) takes it without DuckDB.
 */
export function retentionBoundary(nowMicros: bigint, retentionSeconds: number): bigint {
  return nowMicros - BigInt(retentionSeconds) * 1_000_000n;
}

import type { DuckDBConnection } from '@duckdb/node-api';

/** How often a stop request interrupts the connection again, until the work ends. */
const REPEAT_MS = 100;

/**
 * Stops the connection's DuckDB work when `signal` aborts: interrupts the running query, then
 * again every 100 ms until the returned function is called, because DuckDB forgets an interrupt
 * sent while no query runs (between two steps) and the next query would run to its end. Call
 * the returned function before closing the connection.
 */
export function interruptOnAbort(
  connection: DuckDBConnection,
  signal: AbortSignal | undefined,
): () => void {
  if (!signal) return () => {};
  let repeat: NodeJS.Timeout | undefined;
  const interrupt = () => {
    connection.interrupt();
    repeat ??= setInterval(() => connection.interrupt(), REPEAT_MS).unref();
  };
  if (signal.aborted) interrupt();
  else signal.addEventListener('abort', interrupt, { once: true });
  return () => {
    signal.removeEventListener('abort', interrupt);
    clearInterval(repeat);
  };
}

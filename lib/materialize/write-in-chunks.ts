/**
 * Streams rows into chunks of `chunkRows` and writes each with `write` while the next one is
 * read, so the engine and the writes overlap. Stops early (`paused`) on a stop request: an
 * aborted signal stops reading at once (the rows read since the last chunk are read again on
 * resume), `stopRequested` is asked before each chunk is written. On a failure it waits for the
 * chunk in flight before it rethrows, so no write of the run lands after its caller saw it fail.
 */
export async function writeInChunks(
  batches: AsyncIterable<Record<string, unknown>[]>,
  options: {
    readonly chunkRows: number;
    readonly signal?: AbortSignal | undefined;
    readonly stopRequested: () => boolean;
    readonly write: (rows: Record<string, unknown>[]) => Promise<void>;
  },
): Promise<'done' | 'paused'> {
  let chunk: Record<string, unknown>[] = [];
  let inFlight: Promise<void> | undefined;
  let paused = false;
  try {
    reading: for await (const batch of batches) {
      if (options.signal?.aborted) {
        paused = true;
        break;
      }
      for (const row of batch) {
        chunk.push(row);
        if (chunk.length < options.chunkRows) continue;
        const ready = chunk;
        chunk = [];
        await inFlight;
        if (options.stopRequested()) {
          paused = true;
          break reading;
        }
        inFlight = options.write(ready);
        // Awaited on the next chunk or after the loop; this only keeps Node from calling a
        // rejection that arrives while the next chunk is being read unhandled.
        inFlight.catch(() => undefined);
      }
    }
    await inFlight;
  } catch (error) {
    await inFlight?.catch(() => undefined);
    throw error;
  }
  if (!paused && options.stopRequested() && chunk.length > 0) paused = true;
  if (paused) return 'paused';
  if (chunk.length > 0) await options.write(chunk);
  return 'done';
}

/**
 * Crash tests: `FSTORE_FAULT=<point>[,<point>...]` kills this process with SIGKILL when it
 * reaches one of the named points, as a power cut or `kill -9` would: no `finally`, no exit
 * handlers, nothing flushed that was not written already. Unset (always, outside tests), a
 * fault point does nothing. Points are named where they are called (`faultPoint('...')`);
 * the S3 compaction's own is `compact:s3-after-upload` (each merged object uploaded, no record).
 */
export function faultPoint(point: string): void {
  const wanted = process.env.FSTORE_FAULT;
  if (!wanted) return;
  if (wanted.split(',').some((name) => name.trim() === point)) process.kill(process.pid, 'SIGKILL');
}

/**
 * Test hooks, inert unless their environment variable is set. Tests of the real CLI use them
 * to reach a point inside a run deterministically (no timing), then act from outside.
 *
 * `FSTORE_PAUSE_AT=<point>[,<point>...]`: the first time the process reaches one of these
 * points it prints `fstore-pause: <point>` on stdout and waits there until `signal` aborts
 * (a stop request), or at most two minutes. Points: `materialize:after-checkpoint` (after a
 * chunk's checkpoint is stored), `ingest:before-commit` (the files are staged, nothing
 * visible yet), `compact:before-commit` (merged files published, not yet committed), `delete:before-commit`
 * (an entity delete's rewritten files in place, not yet committed). With `FSTORE_PAUSE_HOLD=1` it ignores the stop request too, like a step that
 * is slow to reach its safe point, so a second signal can be tested.
 */
export type PausePoint =
  | 'materialize:after-checkpoint'
  | 'ingest:before-commit'
  | 'compact:before-commit'
  | 'delete:before-commit';

const reached = new Set<string>();

export async function pauseAt(point: PausePoint, signal?: AbortSignal): Promise<void> {
  const points = process.env.FSTORE_PAUSE_AT?.split(',').map((p) => p.trim()) ?? [];
  if (!points.includes(point) || reached.has(point)) return;
  reached.add(point);
  process.stdout.write(`fstore-pause: ${point}\n`);
  const hold = process.env.FSTORE_PAUSE_HOLD === '1';
  if (signal?.aborted && !hold) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 120_000);
    if (!hold)
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
  });
}

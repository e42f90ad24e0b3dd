/**
 * A runner of async tasks one after another, in call order; each caller gets its own task's
 * result or error. `fstore serve` runs its push-log compactions through one, background and
 * before-materialization alike: the compaction lock file is per process, so two compactions
 * of one process would not exclude each other.
 */
export function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return (task) => {
    const result = last.then(task);
    last = result.catch(() => undefined);
    return result;
  };
}

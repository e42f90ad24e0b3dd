/**
 * Runs a compaction now and then every `everyMs` after the previous one ended, never two at
 * once (the next run is scheduled only when the last one settled). `stop()` cancels the timer
 * and waits for a running compaction, which the caller's stop signal brings to its next safe
 * point: ingest's commit rule makes a compaction stopped (or killed) before its commit leave
 * nothing visible, and one killed after it is recognised by the next run.
 */
export class BackgroundCompaction {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly everyMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The first run starts at once (logs a stopped server left), then one every `everyMs`. */
  start(): void {
    if (this.everyMs <= 0) return;
    void this.runNow().then(() => this.schedule());
  }

  /** Runs a compaction unless one is running, in which case it waits for that one. */
  runNow(): Promise<void> {
    this.running ??= this.run()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runNow().then(() => this.schedule());
    }, this.everyMs);
    this.timer.unref();
  }
}

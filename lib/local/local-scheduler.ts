import { nextRun } from './next-run.ts';

export interface ScheduledJob {
  readonly name: string;
  readonly schedule: string;
  run(): Promise<void>;
}

/**
 * Runs each job when its EventBridge expression fires, one run per job at a time (a run that
 * is still going when the next fires skips that tick). `stop()` cancels future runs and waits
 * for running ones, so a materialization finishes before the store closes.
 */
export class LocalScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly jobs: readonly ScheduledJob[],
    private readonly onError: (job: string, error: unknown) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(): void {
    const anchor = this.now();
    for (const job of this.jobs) this.plan(job, anchor);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled(this.running.values());
  }

  private plan(job: ScheduledJob, anchor: Date): void {
    if (this.stopped) return;
    const at = nextRun(job.schedule, this.now(), anchor);
    // setTimeout holds at most ~24.8 days; longer waits re-plan on the way.
    const delay = Math.min(at.getTime() - this.now().getTime(), 2 ** 31 - 1);
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (this.now().getTime() >= at.getTime()) this.fire(job);
        this.plan(job, anchor);
      },
      Math.max(0, delay),
    );
    timer.unref();
    this.timers.add(timer);
  }

  private fire(job: ScheduledJob): void {
    if (this.stopped || this.running.has(job.name)) return;
    const run = job
      .run()
      .catch((error: unknown) => this.onError(job.name, error))
      .finally(() => this.running.delete(job.name));
    this.running.set(job.name, run);
  }
}

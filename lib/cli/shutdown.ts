import { CliError } from './cli-error.ts';

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The shell's exit code for a process ended by a signal: 128 + its number. */
export const signalExitCodes: Readonly<Record<StopSignal, number>> = { SIGINT: 130, SIGTERM: 143 };

/** A command that stopped early on SIGINT/SIGTERM: the message says what was kept and how to go on. */
export class InterruptedError extends CliError {
  constructor(
    readonly signal: StopSignal,
    message: string,
    hint?: string,
  ) {
    super(message, { exitCode: signalExitCodes[signal], ...(hint ? { hint } : {}) });
  }
}

/**
 * SIGINT/SIGTERM handling for one CLI run, installed before the command starts:
 *
 * - Until the command calls `stopSignal()`, a signal ends the process at once (it holds nothing
 *   that needs winding down) with exit code 130 (SIGINT) or 143 (SIGTERM).
 * - After it, the first signal aborts the returned AbortSignal: the command stops at its next
 *   safe point (a materialization checkpoint, before an ingest's commit, a server's close),
 *   releases what it holds, says what was kept, and exits 130/143 (or 0 after
 *   `stopIsNormalEnd()`, for a server whose normal end is a stop request).
 * - A second signal exits at once. Either immediate exit runs the synchronous `onExit`
 *   cleanups; process locks remove their files on the process's `exit` event themselves.
 * - While `duringNativeCallbacks` work runs, an immediate exit ends the process by the signal
 *   itself (default action) after the cleanups and `exit` listeners, not by process.exit.
 */
export class Shutdown {
  private readonly controller = new AbortController();
  private received: StopSignal | undefined;
  private graceful = false;
  private normalEnd = false;
  private nativeCallbacks = 0;
  private readonly cleanups = new Set<() => void>();
  private readonly handlers = {
    SIGINT: () => this.receive('SIGINT'),
    SIGTERM: () => this.receive('SIGTERM'),
  };

  constructor(
    private readonly exit: (code: number) => void = (code) => process.exit(code),
    private readonly write: (text: string) => void = (text) => process.stderr.write(text),
    private readonly raise: (signal: StopSignal) => void = raiseDefault,
  ) {}

  install(): this {
    process.on('SIGINT', this.handlers.SIGINT);
    process.on('SIGTERM', this.handlers.SIGTERM);
    return this;
  }

  uninstall(): void {
    process.off('SIGINT', this.handlers.SIGINT);
    process.off('SIGTERM', this.handlers.SIGTERM);
  }

  /** The command winds down on the first signal from now on; aborted when it arrives. */
  stopSignal(): AbortSignal {
    this.graceful = true;
    return this.controller.signal;
  }

  /** From now on a stop request is this command's normal end: exit 0 (a server stopping). */
  stopIsNormalEnd(): void {
    this.normalEnd = true;
  }

  /** The signal that asked to stop, if any. */
  get signal(): StopSignal | undefined {
    return this.received;
  }

  /** The exit code a finished command gets: 130/143 once a signal asked it to stop. */
  exitCodeFor(code: number): number {
    return this.received && !this.normalEnd ? signalExitCodes[this.received] : code;
  }

  /**
   * Runs `work`, a native query that calls JS functions on this thread (DuckDB running our scalar
   * functions). process.exit waits for Node's worker threads, and the query's thread waits for
   * this one to run its next function call: exiting by process.exit meanwhile would hang forever.
   */
  async duringNativeCallbacks<T>(work: Promise<T>): Promise<T> {
    this.nativeCallbacks += 1;
    try {
      return await work;
    } finally {
      this.nativeCallbacks -= 1;
    }
  }

  /** A synchronous cleanup for an immediate exit (e.g. remove a half-written file). */
  onExit(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  private receive(signal: StopSignal): void {
    if (this.received || !this.graceful) {
      this.write(
        this.received
          ? `\n${signal} again: exiting now; work since the last checkpoint is lost, a rerun resumes from it\n`
          : `\n${signal}: stopped\n`,
      );
      this.received ??= signal;
      this.exitNow(signal);
      return;
    }
    this.received = signal;
    this.write(
      `\n${signal}: stopping at the next safe point and releasing locks (${signal === 'SIGINT' ? 'Ctrl-C' : 'send it'} again to exit at once) ...\n`,
    );
    this.controller.abort(new InterruptedError(signal, `stopped by ${signal}`));
  }

  private exitNow(signal: StopSignal): void {
    for (const cleanup of this.cleanups) {
      try {
        cleanup();
      } catch {
        // Exiting anyway; the next run copes with what is left.
      }
    }
    if (this.nativeCallbacks > 0) this.raise(signal);
    this.exit(signalExitCodes[signal]);
  }
}

/**
 * Ends the process by `signal`'s default action, as if it had no handler: the shell sees the
 * same 130/143. The `exit` listeners (process locks) run first, as process.exit would run them.
 */
function raiseDefault(signal: StopSignal): void {
  process.exitCode = signalExitCodes[signal];
  process.emit('exit', signalExitCodes[signal]);
  // Without listeners Node restores the default action; the kernel then ends the process.
  process.removeAllListeners(signal);
  process.kill(process.pid, signal);
}

let current: Shutdown | undefined;

/** Installs the signal handling of this CLI run; `runCli` calls it before parsing. */
export function installShutdown(shutdown = new Shutdown()): Shutdown {
  current?.uninstall();
  current = shutdown.install();
  return shutdown;
}

/** The signal handling of the running CLI command (a detached one when none is installed, as in unit tests). */
export function currentShutdown(): Shutdown {
  current ??= new Shutdown();
  return current;
}

export function uninstallShutdown(shutdown: Shutdown): void {
  shutdown.uninstall();
  if (current === shutdown) current = undefined;
}

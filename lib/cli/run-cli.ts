import { CommanderError } from 'commander';
import { DefinitionError } from '../definitions/errors.ts';
import { HintedError } from '../hinted-error.ts';
import { processEndsAfterCommand, setProcessEndsAfterCommand } from '../process-lifetime.ts';
import { CliError, exitCodes } from './cli-error.ts';
import { invokedCommandName } from './invoked-command.ts';
import { Output, useColor, wroteJsonDocument } from './output.ts';
import { buildProgram } from './program.ts';
import { InterruptedError, installShutdown, type Shutdown, uninstallShutdown } from './shutdown.ts';

/**
 * Commands that end their process when done (given `exitsAfter`): what they hold in memory only
 * is left to the exit (lib/process-lifetime.ts). Each opens a few DuckDB instances at most; a
 * server (start, serve) or a follower (push --follow) goes on and must release what it opens.
 */
const oneShotCommands = new Set(['training-set']);

export interface RunCliOptions {
  /** The process exits as soon as runCli returns (bin/fstore); not an in-process caller. */
  readonly exitsAfter?: boolean;
}

/** Runs the CLI on `argv` (as process.argv) and returns the exit code; never throws. */
export async function runCli(
  argv: readonly string[],
  version: string,
  options: RunCliOptions = {},
): Promise<number> {
  const verbose = argv.includes('--verbose');
  const out = new Output(useColor(!argv.includes('--no-color'), process.stderr));
  // From the first moment: a signal before a command takes over its handling exits at once.
  const shutdown = installShutdown();
  let code: number;
  try {
    const program = await buildProgram(version, argv.slice(2));
    const invoked = invokedCommandName(program, argv.slice(2));
    if (options.exitsAfter && invoked !== undefined && oneShotCommands.has(invoked))
      setProcessEndsAfterCommand(true);
    await program.parseAsync([...argv]);
    const finished = process.exitCode === undefined ? exitCodes.ok : Number(process.exitCode);
    code = shutdown.exitCodeFor(finished);
    if (code !== finished)
      out.status(`stopped by ${shutdown.signal}; the command had finished its work first`);
  } catch (error) {
    const reason = stopReason(shutdown, error);
    code = shutdown.exitCodeFor(report(out, reason, verbose));
    // Under --json a failure is a JSON document on stdout too (unless the command wrote its own).
    if (code !== exitCodes.ok && wantsJson(argv) && !wroteJsonDocument())
      out.json(jsonError(reason, code));
  } finally {
    uninstallShutdown(shutdown);
  }
  if (shutdown.signal) {
    // Whatever still holds the event loop (a socket, a timer) must not keep a stopped CLI alive.
    setTimeout(() => process.exit(code), 3000).unref();
  }
  if (options.exitsAfter && processEndsAfterCommand()) {
    // The instances the command left to the exit would be torn down by Node-API finalizers at a
    // natural end of the process, costing what not closing them saved: it ends here instead.
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  }
  return code;
}

/** Resolves once what was written to `stream` is handed to the OS (at once where writes are synchronous). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('drain', resolve);
    stream.once('close', resolve);
    stream.once('error', resolve);
  });
}

function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** `{ "error": { message, hint?, exitCode, issues? } }`: what went wrong, for a program. */
function jsonError(error: unknown, exitCode: number): { error: Record<string, unknown> } {
  const message =
    error instanceof CommanderError
      ? error.message.replace(/^error: /, '')
      : error instanceof DefinitionError
        ? `${error.issues.length === 1 ? 'invalid definition' : `${error.issues.length} invalid definitions`}`
        : error instanceof Error
          ? error.message
          : String(error);
  return {
    error: {
      message,
      ...(error instanceof HintedError && error.hint ? { hint: error.hint } : {}),
      exitCode,
      ...(error instanceof DefinitionError ? { issues: error.issues } : {}),
    },
  };
}

/** An error caused by the stop request (an aborted step) reads as the interruption it is. */
function stopReason(shutdown: Shutdown, error: unknown): unknown {
  if (!shutdown.signal || error instanceof InterruptedError) return error;
  if (error instanceof Error && error.name === 'AbortError')
    return new InterruptedError(shutdown.signal, `stopped by ${shutdown.signal}`);
  return error;
}

function report(out: Output, error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and version are successful exits.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return exitCodes.ok;
    return exitCodes.usage;
  }
  if (error instanceof DefinitionError) {
    const count = error.issues.length;
    out.error(count === 1 ? 'invalid definition' : `${count} invalid definitions`);
    for (const issue of error.issues) {
      const where = issue.file ? `${issue.file}${issue.line ? `:${issue.line}` : ''}: ` : '';
      const field = issue.field ? ` ${out.c.bold(issue.field)}` : '';
      process.stderr.write(`  ${where}${issue.definition}${field}: ${issue.message}\n`);
      if (issue.hint) process.stderr.write(`    ${out.c.dim('fix:')} ${issue.hint}\n`);
    }
    if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
    return exitCodes.failure;
  }
  if (error instanceof InterruptedError) {
    process.stderr.write(`${out.c.yellow('interrupted:')} ${error.message}\n`);
    if (error.hint) process.stderr.write(`${out.c.dim('to go on:')} ${error.hint}\n`);
    return error.exitCode;
  }
  if (error instanceof HintedError) {
    out.error(error.message, error.hint);
    if (verbose) printCause(error);
    return error instanceof CliError ? error.exitCode : exitCodes.failure;
  }
  const message = error instanceof Error ? error.message : String(error);
  out.error(message, verbose ? undefined : 'run again with --verbose for details');
  if (verbose && error instanceof Error) printCause(error);
  return exitCodes.failure;
}

function printCause(error: Error): void {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  if (error.cause instanceof Error)
    process.stderr.write(`caused by: ${error.cause.stack ?? error.cause.message}\n`);
}

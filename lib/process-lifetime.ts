let endsAfterCommand = false;

/**
 * Whether this process ends as soon as its command is done: a one-shot CLI command (runCli says
 * so), not a server, a Lambda function, a scheduler or a test. Such a process may leave what it
 * holds in memory only (an in-memory DuckDB instance) to the exit instead of tearing it down.
 */
export function processEndsAfterCommand(): boolean {
  return endsAfterCommand;
}

export function setProcessEndsAfterCommand(ends: boolean): void {
  endsAfterCommand = ends;
}

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cliEntry = path.join(repoRoot, 'bin', 'fstore.mjs');
const definitionsModule = path.join(repoRoot, 'lib', 'definitions', 'index.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a user would: a separate node process, no color, in `cwd`. */
export function runFstore(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `fstore-${prefix}-`));
}

/**
 * Writes a definitions folder. File contents may import from "fstore:definitions", which is
 * replaced by the absolute path of lib/definitions so the folder can live anywhere.
 */
export async function writeDefs(files: Record<string, string>, dir?: string): Promise<string> {
  const root = dir ?? (await makeTempDir('defs'));
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(root, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text.replaceAll('fstore:definitions', definitionsModule));
  }
  return root;
}

export interface RunningFstore {
  /** Resolves with the first stdout match of `pattern`, or rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal without waiting for the exit. */
  kill(signal: NodeJS.Signals): void;
  /** The exit code (null when a signal ended the process), once it exits. */
  exited: Promise<number | null>;
  output(): string;
  stderr(): string;
}

/** Starts the real CLI in the background (for long-running commands such as start and serve). */
export function spawnFstore(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): RunningFstore {
  const child = spawn(process.execPath, [cliEntry, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code)),
  );
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return {
    exited,
    output: () => `${stdout}\n${stderr}`,
    stderr: () => stderr,
    kill(signal) {
      if (child.exitCode === null) child.kill(signal);
    },
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const check = () => {
          const match = stdout.match(pattern);
          if (match) return resolve(match);
          if (child.exitCode !== null)
            return reject(
              new Error(
                `fstore exited (${child.exitCode}) before printing ${pattern}:\n${stdout}\n${stderr}`,
              ),
            );
          if (Date.now() - started > timeoutMs)
            return reject(new Error(`timed out waiting for ${pattern}:\n${stdout}\n${stderr}`));
          setTimeout(check, 100);
        };
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

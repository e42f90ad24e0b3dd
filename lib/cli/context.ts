import path from 'node:path';
import type { Command } from 'commander';
import { compileRegistry, loadDefinitions, type Registry } from '../registry/index.ts';
import type { DefinitionsCompiler } from '../registry/load-definitions.ts';
import { UsageError } from './cli-error.ts';
import { Output, useColor } from './output.ts';
import { currentShutdown, type Shutdown } from './shutdown.ts';

export interface GlobalOptions {
  env: string;
  defs: string;
  dataDir: string;
  verbose: boolean;
  color: boolean;
}

/**
 * From its bundle, the CLI has no TypeScript loader: bin/fstore.mjs leaves here a compiler of the
 * user's definitions (bin/definitions-cache.mjs). From the sources, tsx imports them as they are.
 */
const compilerKey = Symbol.for('fstore.cli.compileDefinitions');

function definitionsCompiler(): DefinitionsCompiler | undefined {
  const compile = (globalThis as Record<symbol, unknown>)[compilerKey];
  return typeof compile === 'function' ? (compile as DefinitionsCompiler) : undefined;
}

const envNamePattern = /^[a-z][a-z0-9-]{0,31}$/;

/** What every command gets: the resolved global options, an output, and the registry loader. */
export class CliContext {
  readonly out: Output;

  private constructor(readonly options: GlobalOptions) {
    this.out = new Output(useColor(options.color));
  }

  static fromCommand(command: Command): CliContext {
    const raw = command.optsWithGlobals() as GlobalOptions;
    if (!envNamePattern.test(raw.env)) {
      throw new UsageError(
        `--env "${raw.env}" is not a valid environment name`,
        'use lower-case letters, digits and "-", e.g. local, dev, prod',
      );
    }
    return new CliContext({
      ...raw,
      defs: path.resolve(raw.defs),
      dataDir: path.resolve(raw.dataDir),
    });
  }

  /** This run's SIGINT/SIGTERM handling (lib/cli/shutdown.ts). */
  get shutdown(): Shutdown {
    return currentShutdown();
  }

  get env(): string {
    return this.options.env;
  }

  /** Loads feature-defs/ and compiles the registry; throws DefinitionError or DefinitionsLoadError. */
  async compile(): Promise<Registry> {
    const compile = definitionsCompiler();
    return compileRegistry(
      await loadDefinitions(this.options.defs, compile ? { compile } : undefined),
    );
  }

  /** A path for messages: relative to the working directory when inside it. */
  display(file: string): string {
    const relative = path.relative(process.cwd(), file);
    return relative && !relative.startsWith('..') ? relative : file;
  }
}

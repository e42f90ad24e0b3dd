import { Command, Help, Option } from 'commander';
import { type CommandIndexEntry, commandIndex } from './command-index.ts';
import { addExamples } from './examples.ts';
import { invokedCommandName } from './invoked-command.ts';

/**
 * The program `args` (the arguments after the script) runs: every command is listed, but only
 * the one it invokes is loaded, so start-up pays for that command's imports alone.
 */
export async function buildProgram(version: string, args: readonly string[]): Promise<Command> {
  const program = programWithGlobalOptions(version);
  const invoked = invokedCommandName(program, args);
  await addCommands(program, (entry) => entry.name === invoked);
  return program;
}

/** The program with every command loaded, for what inspects them all (help and example tests). */
export async function buildFullProgram(version: string): Promise<Command> {
  const program = programWithGlobalOptions(version);
  await addCommands(program, () => true);
  return program;
}

function programWithGlobalOptions(version: string): Command {
  return new Command('fstore')
    .description(
      'fstore: features as code, point-in-time training sets, and an online feature store, on AWS or on this machine',
    )
    .version(version, '-V, --version')
    .addOption(
      new Option('--env <name>', 'environment: local runs on this machine, others are AWS stages')
        .default('local')
        .env('FSTORE_ENV'),
    )
    .addOption(
      new Option('--defs <path>', 'folder with the feature definitions')
        .default('feature-defs')
        .env('FSTORE_DEFS'),
    )
    .addOption(
      new Option('--data-dir <path>', 'where local environments keep their state')
        .default('.fstore')
        .env('FSTORE_DATA_DIR'),
    )
    .option('--verbose', 'print stack traces and extra detail', false)
    .option('--no-color', 'plain output without colors')
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .exitOverride();
}

/**
 * Adds every command of the index, in its order: the real command where `load` says so, else
 * a placeholder with the name and description that the program's help lists (and that unknown
 * command suggestions use).
 */
async function addCommands(
  program: Command,
  load: (entry: CommandIndexEntry) => boolean,
): Promise<void> {
  const placeholderTerms = new Map<Command, string>();
  program.configureHelp({
    subcommandTerm(this: Help, command: Command): string {
      return placeholderTerms.get(command) ?? Help.prototype.subcommandTerm.call(this, command);
    },
  });
  const registers = await Promise.all(
    commandIndex.map((entry) => (load(entry) ? entry.load() : undefined)),
  );
  commandIndex.forEach((entry, index) => {
    const register = registers[index];
    if (register) {
      register(program);
      const added = program.commands.at(-1)?.name();
      if (added !== entry.name)
        throw new Error(
          `lib/cli/command-index.ts: the entry "${entry.name}" loaded a module that added the command "${added}"`,
        );
      return;
    }
    const placeholder = program
      .command(entry.name)
      .description(entry.description)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new Error(`internal error: the command "${entry.name}" ran without being loaded`);
      });
    placeholderTerms.set(placeholder, entry.term);
  });
  for (const command of program.commands) command.exitOverride();
  addExamples(program);
}

import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandIndex } from '../../../lib/cli/command-index.ts';
import { invokedCommandName } from '../../../lib/cli/invoked-command.ts';
import { buildFullProgram, buildProgram } from '../../../lib/cli/program.ts';

/** What `--help` of `command` prints, including the text added after the options. */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

function commandNamed(program: Command, name: string): Command {
  const command = program.commands.find((c) => c.name() === name);
  if (!command) throw new Error(`no command ${name}`);
  return command;
}

const version = '0.0.0-test';
const full = await buildFullProgram(version);

describe('the command index the CLI lists without loading the commands', () => {
  it('names every command of the program, in its order', () => {
    expect(commandIndex.map((entry) => entry.name)).toEqual(full.commands.map((c) => c.name()));
  });

  it('gives fstore --help exactly the text the loaded commands give (names, arguments, descriptions)', async () => {
    const lazy = await buildProgram(version, ['--help']);
    expect(helpOf(lazy)).toEqual(helpOf(full));
  });

  it('loads the invoked command only: its --help alone is the full program’s', async () => {
    for (const entry of commandIndex) {
      const program = await buildProgram(version, [entry.name, '--help']);
      const asLoaded = program.commands
        .filter((command) => helpOf(command) === helpOf(commandNamed(full, command.name())))
        .map((command) => command.name());
      expect(asLoaded, `fstore ${entry.name} --help`).toEqual([entry.name]);
    }
  });
});

describe('invokedCommandName', () => {
  const program = () => buildProgram(version, []);

  it.each([
    [['training-set', '--entities', 'e.csv'], 'training-set'],
    [['--env', 'dev', 'training-set'], 'training-set'],
    [['--defs', 'list', '--data-dir', 'ingest', 'plan'], 'plan'],
    [['--env=dev', 'apply'], 'apply'],
    [['--verbose', '--no-color', 'get', '--view', 'v'], 'get'],
    [['help', 'ingest'], 'ingest'],
    [['help', '--verbose', 'quarantine', 'list'], 'quarantine'],
    [['--version'], undefined],
    [['help'], undefined],
    [[], undefined],
    [['--', 'doctor'], 'doctor'],
    [['--verbose', '--', 'help', 'ingest'], 'ingest'],
    [['--'], undefined],
  ] as const)('%j runs %s', async (args, name) => {
    expect(invokedCommandName(await program(), args)).toBe(name);
  });
});

import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandPath } from '../../../lib/cli/examples.ts';
import { buildFullProgram } from '../../../lib/cli/program.ts';

/** Every command of the program, at every depth (`quarantine` and `quarantine list`). */
function allCommands(command: Command): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** What `fstore <path> --help` prints, including the text added after the options. */
function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

/** The `$ ...` lines of the Examples section. */
function examplesOf(help: string): string[] {
  const section = help.split('\nExamples:\n')[1] ?? '';
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('$ '))
    .map((line) => line.slice(2));
}

/** Long options a command accepts: its own, its parents' (the global ones) and --help. */
function knownOptions(command: Command): Set<string> {
  const known = new Set(['--help']);
  for (let at: Command | null = command; at; at = at.parent)
    for (const option of at.options) {
      if (option.long) known.add(option.long);
      if (option.negate && option.long) known.add(option.long);
    }
  return known;
}

const program = await buildFullProgram('0.0.0-test');
const commands = allCommands(program);
/** Servers and interactive commands print no single result, so they have no --json. */
const withoutJson = ['quarantine', 'reset', 'serve', 'snapshot', 'start'];

describe('fstore <command> --help', () => {
  it('finds every command of the program, subcommands included', () => {
    expect(commands.map(commandPath)).toEqual(
      expect.arrayContaining(['training-set', 'ingest', 'apply', 'doctor', 'quarantine list']),
    );
    expect(commands.length).toBeGreaterThanOrEqual(22);
  });

  it.each(commands.map((c) => [commandPath(c), c] as const))(
    '%s shows an Examples section whose commands run it with options it accepts',
    (path, command) => {
      const examples = examplesOf(helpOf(command));
      expect(examples.length, `${path} --help has examples`).toBeGreaterThan(0);
      const own = examples.filter((e) => e.startsWith(`npx fstore ${path}`));
      expect(own.length, `an example of ${path} itself`).toBeGreaterThan(0);
      // A parent (`quarantine`) shows its subcommands' examples; their options are checked there.
      if (command.commands.length > 0) return;
      for (const example of own) {
        const flags = example.split('#')[0]?.match(/(?<=\s)--[a-z-]+/g) ?? [];
        for (const flag of flags)
          expect(knownOptions(command), `${example}: ${flag}`).toContain(flag);
      }
    },
  );

  it.each(commands.map((c) => [commandPath(c), c] as const))(
    '%s offers --json (and shows it in an example) unless it is a server or interactive',
    (path, command) => {
      const hasJson = command.options.some((o) => o.long === '--json');
      expect(hasJson).toBe(!withoutJson.includes(path));
      if (hasJson) expect(examplesOf(helpOf(command)).some((e) => e.endsWith('--json'))).toBe(true);
    },
  );
});

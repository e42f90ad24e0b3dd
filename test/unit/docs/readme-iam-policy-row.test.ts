import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerIamPolicy } from '../../../lib/cli/commands/iam-policy.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

/** The `iam-policy` command as the CLI registers it. */
function iamPolicyCommand(): Command {
  const program = new Command();
  registerIamPolicy(program);
  const command = program.commands.find((c) => c.name() === 'iam-policy');
  if (!command) throw new Error('no iam-policy command');
  return command;
}

/** The first cell of README's CLI-reference row for `iam-policy`. */
function readmeRow(): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const row = readme.split('\n').find((line) => line.startsWith('| `iam-policy '));
  if (!row) throw new Error('README has no CLI-reference row for iam-policy');
  return row.split(' | ')[0] ?? '';
}

describe('README’s CLI-reference row for iam-policy', () => {
  it('names every --for purpose the command takes', () => {
    const forOption = iamPolicyCommand().options.find((o) => o.long === '--for');
    const purposes = /: (.+)$/.exec(forOption?.description ?? '')?.[1]?.split(', ') ?? [];
    expect(purposes.length).toBeGreaterThan(1);
    expect(readmeRow()).toContain(`--for ${purposes.join('\\|')}`);
  });

  it('names every option of the command', () => {
    const row = readmeRow();
    for (const option of iamPolicyCommand().options)
      expect([option.long, row.includes(`${option.long}`)]).toEqual([option.long, true]);
  });
});

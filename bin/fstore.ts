import { readFileSync } from 'node:fs';
import { runCli } from '../lib/cli/run-cli.ts';

const { version } = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
) as { version: string };
process.exitCode = await runCli(process.argv, version, { exitsAfter: true });

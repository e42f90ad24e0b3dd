import { Command, Option } from 'commander';
import { registerApply } from './commands/apply.ts';
import { registerCompact } from './commands/compact.ts';
import { registerDemoData } from './commands/demo-data.ts';
import { registerDescribe } from './commands/describe.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerGet } from './commands/get.ts';
import { registerIamPolicy } from './commands/iam-policy.ts';
import { registerIngest } from './commands/ingest.ts';
import { registerLineage } from './commands/lineage.ts';
import { registerList } from './commands/list.ts';
import { registerMaterialize } from './commands/materialize.ts';
import { registerPlan } from './commands/plan.ts';
import { registerQuarantine } from './commands/quarantine.ts';
import { registerReset } from './commands/reset.ts';
import { registerServe } from './commands/serve.ts';
import { registerStart } from './commands/start.ts';
import { registerDrift, registerStats } from './commands/stats-drift.ts';
import { registerStatus } from './commands/status.ts';
import { registerTrainingSet } from './commands/training-set.ts';
import { registerValidate } from './commands/validate.ts';
import { registerValidateData } from './commands/validate-data.ts';
import { registerVerifyOnline } from './commands/verify-online.ts';
import { addExamples } from './examples.ts';

export function buildProgram(version: string): Command {
  const program = new Command('fstore')
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
  registerValidate(program);
  registerList(program);
  registerDescribe(program);
  registerIamPolicy(program);
  registerLineage(program);
  registerPlan(program);
  registerApply(program);
  registerDemoData(program);
  registerIngest(program);
  registerCompact(program);
  registerTrainingSet(program);
  registerMaterialize(program);
  registerStatus(program);
  registerQuarantine(program);
  registerValidateData(program);
  registerStats(program);
  registerDrift(program);
  registerVerifyOnline(program);
  registerServe(program);
  registerGet(program);
  registerStart(program);
  registerReset(program);
  registerDoctor(program);
  for (const command of program.commands) command.exitOverride();
  addExamples(program);
  return program;
}

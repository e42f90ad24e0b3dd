import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { stageOverridesFromContext } from '../config/context-overrides.ts';
import type { StageConfig } from '../config/stage-config.ts';
import { resolveStageConfig, StageConfigError } from '../config/stages.ts';
import { isObject } from '../is-object.ts';

/**
 * The stage config of `env` as `cdk deploy` resolves it from the cdk.json of the project whose
 * definitions `defsDir` holds (its `context.stages.<env>` on top of the built-in defaults), so a
 * local run reads the same settings as that project's stack, e.g. `offline.retention`. The
 * project is the nearest folder at or above `defsDir` holding a cdk.json, not the current
 * folder: run from another project's folder, the CLI must not apply that project's settings.
 * No cdk.json there: the defaults.
 */
export function projectStageConfig(env: string, defsDir: string): StageConfig {
  const folder = projectFolderOf(defsDir);
  if (folder === undefined) return resolveStageConfig(env);
  const file = path.join(folder, 'cdk.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return resolveStageConfig(env);
  }
  let context: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && isObject(parsed.context)) context = parsed.context;
  } catch (error) {
    throw new StageConfigError(`${file}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
  return resolveStageConfig(
    env,
    stageOverridesFromContext(env, (key) => context[key]),
  );
}

/** The nearest folder at or above `defsDir` that holds a cdk.json; undefined when none does. */
export function projectFolderOf(defsDir: string): string | undefined {
  let folder = path.resolve(defsDir);
  for (;;) {
    if (existsSync(path.join(folder, 'cdk.json'))) return folder;
    const parent = path.dirname(folder);
    if (parent === folder) return undefined;
    folder = parent;
  }
}

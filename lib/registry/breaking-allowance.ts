import type { DefinitionChange, RegistryPlan } from './plan.ts';

export interface BreakingJudgement {
  /** Breaking changes that no allowed name covers: the deploy must stop. */
  readonly refused: readonly DefinitionChange[];
  /** Breaking changes named in the allowance: the deploy goes ahead. */
  readonly allowed: readonly DefinitionChange[];
  /** Allowed names with no breaking change: stale or mistyped, worth a warning. */
  readonly unusedNames: readonly string[];
}

/**
 * Splits a plan's breaking changes by an allowance of definition names (`-c allowBreaking=a,b`).
 * A name covers every breaking change of a definition so named, of any kind.
 */
export function judgeBreakingChanges(
  plan: RegistryPlan,
  allowedNames: readonly string[],
): BreakingJudgement {
  const breaking = plan.changes.filter((change) => change.level === 'breaking');
  const allowed = breaking.filter((change) => allowedNames.includes(change.name));
  return {
    refused: breaking.filter((change) => !allowedNames.includes(change.name)),
    allowed,
    unusedNames: allowedNames.filter((name) => !breaking.some((change) => change.name === name)),
  };
}

/** `-c allowBreaking=a,b` as names: comma-separated, blanks dropped, each trimmed. */
export function parseAllowBreaking(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

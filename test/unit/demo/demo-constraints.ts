import path from 'node:path';
import type { ValueType } from '../../../lib/definitions/index.ts';
import type { DemoSource, DemoValue } from '../../../lib/demo/index.ts';
import { compileRegistry, loadDefinitions, type Registry } from '../../../lib/registry/index.ts';
import { repoRoot } from '../../helpers/run-fstore.ts';

let exampleRegistry: Promise<Registry> | undefined;

/** The registry compiled from the example feature-defs/ (once per test file). */
export function loadChurnRegistry(): Promise<Registry> {
  exampleRegistry ??= loadDefinitions(path.join(repoRoot, 'feature-defs')).then(compileRegistry);
  return exampleRegistry;
}

/** What the registry declares about one column of a source: type and feature constraints. */
export interface ColumnRule {
  readonly column: string;
  readonly type: ValueType;
  readonly nullable: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly allowedValues?: readonly (string | number | boolean)[];
}

/**
 * Rules for every column of a source: its schema type; join keys, timestamps and features
 * declared `nullable: false` must not be NULL; min, max and allowed values of every feature view
 * reading the source.
 */
export function columnRules(registry: Registry, source: DemoSource): ColumnRule[] {
  const definition = registry.sources.find((s) => s.name === source);
  if (!definition) throw new Error(`no source ${source}`);
  const views = registry.featureViews.filter((v) => v.source === source);
  const keys = new Set(views.flatMap((v) => v.joinKeys.map((k) => k.name)));
  const required = new Set([
    ...keys,
    definition.timestampField,
    ...(definition.createdTimestampField ? [definition.createdTimestampField] : []),
  ]);
  return definition.schema.map(({ name, type }) => {
    const features = views.flatMap((v) => v.features.filter((f) => f.name === name));
    const rule: {
      column: string;
      type: ValueType;
      nullable: boolean;
      min?: number;
      max?: number;
      allowedValues?: readonly (string | number | boolean)[];
    } = {
      column: name,
      type,
      nullable: !required.has(name) && features.every((f) => f.nullable),
    };
    for (const f of features) {
      if (f.min !== undefined) rule.min = Math.max(rule.min ?? f.min, f.min);
      if (f.max !== undefined) rule.max = Math.min(rule.max ?? f.max, f.max);
      if (f.allowedValues) rule.allowedValues = f.allowedValues;
    }
    return rule;
  });
}

/** Every way a generated row breaks the rules, as readable strings (empty when it is fine). */
export function ruleViolations(
  row: Readonly<Record<string, DemoValue>>,
  rules: readonly ColumnRule[],
): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const value = row[rule.column];
    const where = `${rule.column}=${JSON.stringify(value)}`;
    if (value === undefined) problems.push(`${rule.column} missing`);
    else if (value === null) {
      if (!rule.nullable) problems.push(`${where} is not nullable`);
    } else {
      if (!matchesType(value, rule.type)) problems.push(`${where} is not ${rule.type}`);
      if (rule.min !== undefined && typeof value === 'number' && value < rule.min)
        problems.push(`${where} < ${rule.min}`);
      if (rule.max !== undefined && typeof value === 'number' && value > rule.max)
        problems.push(`${where} > ${rule.max}`);
      if (rule.allowedValues && !rule.allowedValues.includes(value))
        problems.push(`${where} not allowed`);
    }
  }
  return problems;
}

function matchesType(value: string | number, type: ValueType): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int32':
      return (
        Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31
      );
    case 'float64':
      return typeof value === 'number' && Number.isFinite(value);
    case 'timestamp':
      return Number.isInteger(value);
    default:
      return false;
  }
}

/** SQL counting the rows of `relation` that break a rule, one count column per rule. */
export function ruleViolationsSql(relation: string, rules: readonly ColumnRule[]): string {
  const counts = rules.map((rule) => {
    const c = `"${rule.column}"`;
    const broken: string[] = [];
    if (!rule.nullable) broken.push(`${c} IS NULL`);
    if (rule.min !== undefined) broken.push(`${c} < ${rule.min}`);
    if (rule.max !== undefined) broken.push(`${c} > ${rule.max}`);
    if (rule.allowedValues)
      broken.push(
        `${c} NOT IN (${rule.allowedValues.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ')})`,
      );
    const condition = broken.length > 0 ? broken.join(' OR ') : 'false';
    return `count(*) FILTER (WHERE ${condition})::INTEGER AS "${rule.column}"`;
  });
  return `SELECT ${counts.join(', ')} FROM ${relation}`;
}

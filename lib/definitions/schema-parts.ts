import { z } from 'zod';
import { DefinitionError, type DefinitionIssue, listItemField } from './errors.ts';
import { columnNameProblem, identifierProblem } from './identifiers.ts';
import { joinKeyTypes, valueTypes } from './value-types.ts';

export type DefinitionKind =
  | 'entity'
  | 'source'
  | 'feature view'
  | 'on-demand view'
  | 'feature service';

export function definitionLabel(kind: DefinitionKind, input: unknown): string {
  const name = (input as { name?: unknown } | null)?.name;
  return `${kind} ${typeof name === 'string' ? `"${name}"` : '(unnamed)'}`;
}

function refineWith(problem: (value: string) => { message: string; hint: string } | undefined) {
  return z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
    const found = problem(value);
    if (found)
      ctx.addIssue({ code: 'custom', message: found.message, params: { hint: found.hint } });
  });
}

export const identifier = refineWith(identifierProblem);
export const columnName = refineWith(columnNameProblem);

export const valueType = z.enum(valueTypes as [string, ...string[]], {
  error: (issue) =>
    issue.input === undefined ? 'is required' : `unknown type ${JSON.stringify(issue.input)}`,
});

export const joinKeyType = z.enum(joinKeyTypes, {
  error: (issue) =>
    `join keys must be ${joinKeyTypes.join(', ')}, got ${JSON.stringify(issue.input)}`,
});

const tagText = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');

/** What every definition may carry for discovery and governance, as written. */
export interface MetadataInput {
  description?: string;
  owner?: string;
  tags?: Record<string, string>;
}

/** The same after validation: tags sorted by key, absent fields left out. */
export interface DefinitionMetadata {
  readonly description?: string;
  readonly owner?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Fields every definition may carry for discovery and governance. */
export const metadataFields = {
  description: z.string().max(2000).optional(),
  owner: z.string().min(1, 'must not be empty').max(256).optional(),
  tags: z.record(tagText, tagText).optional(),
};

/** Parses `input` with `schema`; on failure throws one DefinitionError listing every issue. */
export function parseDefinition<T>(schema: z.ZodType<T>, kind: DefinitionKind, input: unknown): T {
  // reportInput keeps each issue's input, which hintFor needs to tell a missing field from a wrong one.
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const definition = definitionLabel(kind, input);
  throw new DefinitionError(
    result.error.issues.flatMap(unwrapIssue).map((issue): DefinitionIssue => {
      const hint = hintFor(issue);
      return {
        definition,
        field: fieldOf(issue.path, input),
        message: issue.message,
        ...(hint ? { hint } : {}),
      };
    }),
  );
}

/**
 * A zod issue path as a field, each list item named by its name (an entity, a join key, a
 * feature view or a selection of one) or its value, as the author wrote them.
 */
function fieldOf(path: readonly PropertyKey[], input: unknown): string {
  let field = '';
  let value: unknown = input;
  for (const key of path) {
    const item =
      value !== null && typeof value === 'object'
        ? (value as Record<PropertyKey, unknown>)[key]
        : undefined;
    field =
      typeof key === 'number'
        ? listItemField(field, itemLabel(item, key))
        : field
          ? `${field}.${String(key)}`
          : String(key);
    value = item;
  }
  return field;
}

function itemLabel(item: unknown, index: number): string | number | { position: number } {
  if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')
    return typeof item === 'boolean' ? String(item) : item;
  const named = item as { name?: unknown; view?: { name?: unknown } } | null | undefined;
  if (typeof named?.name === 'string' && named.name) return named.name;
  // A feature service's `view.select([...])`: named by its view.
  if (typeof named?.view?.name === 'string' && named.view.name) return named.view.name;
  return { position: index + 1 };
}

/**
 * zod wraps some failures: a bad record key becomes "Invalid key in record" and a value matching
 * no branch of a union becomes "Invalid input". Report the inner issues instead, from the union
 * branch that got furthest, so the field path points at the real problem (`features.age.max`).
 */
function unwrapIssue(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code === 'invalid_key') {
    return issue.issues.flatMap((inner) =>
      unwrapIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue),
    );
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((i) => i.path.length));
    const best = issue.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (depth(best) === 0) {
      // No branch got inside the value: report the one branch whose base type matched, if only
      // one did (a string that is not a known type gets the enum's "unknown type" message).
      const matched = issue.errors.filter((branch) =>
        branch.every((i) => i.code !== 'invalid_type'),
      );
      const only = matched.length === 1 ? matched[0] : undefined;
      if (!only) return [issue];
      return only.flatMap((inner) =>
        unwrapIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue),
      );
    }
    return best.flatMap((inner) =>
      unwrapIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue),
    );
  }
  return [issue];
}

function hintFor(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code === 'custom') {
    const hint = (issue.params as { hint?: unknown } | undefined)?.hint;
    return typeof hint === 'string' ? hint : undefined;
  }
  if (issue.code === 'unrecognized_keys') return 'remove it or check its spelling';
  if (issue.code === 'invalid_value') return `use one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'too_small')
    return issue.origin === 'array' ? `list at least ${issue.minimum}` : 'write a non-empty text';
  if (issue.code === 'too_big' && issue.origin === 'string')
    return `shorten it to at most ${issue.maximum} characters`;
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'add this required field';
    return `give ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
  }
  return undefined;
}

/** The description, owner and tags of a parsed definition, with absent fields left out. */
export function metadataOf(parsed: {
  description?: string | undefined;
  owner?: string | undefined;
  tags?: Record<string, string> | undefined;
}) {
  return {
    ...(parsed.description !== undefined ? { description: parsed.description } : {}),
    ...(parsed.owner !== undefined ? { owner: parsed.owner } : {}),
    tags: normalizeTags(parsed.tags),
  };
}

function normalizeTags(tags: Record<string, string> | undefined): Readonly<Record<string, string>> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(tags ?? {}).sort()) sorted[key] = tags?.[key] as string;
  return sorted;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** Collects semantic issues for one definition and throws them together. */
export class IssueCollector {
  private readonly issues: DefinitionIssue[] = [];

  constructor(private readonly definition: string) {}

  add(field: string, message: string, hint?: string): void {
    this.issues.push({ definition: this.definition, field, message, ...(hint ? { hint } : {}) });
  }

  throwIfAny(): void {
    if (this.issues.length > 0) throw new DefinitionError(this.issues);
  }
}

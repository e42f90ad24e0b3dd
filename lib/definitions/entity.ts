import { z } from 'zod';
import { listItemField } from './errors.ts';
import {
  columnName,
  type DefinitionKind,
  type DefinitionMetadata,
  deepFreeze,
  definitionLabel,
  IssueCollector,
  identifier,
  joinKeyType,
  type MetadataInput,
  metadataFields,
  metadataOf,
  parseDefinition,
} from './schema-parts.ts';
import type { JoinKeyType } from './value-types.ts';

export interface JoinKey {
  readonly name: string;
  readonly type: JoinKeyType;
}

/** The thing features describe (a customer, a card, a merchant), identified by its join keys. */
export interface Entity extends DefinitionMetadata {
  readonly kind: 'entity';
  readonly name: string;
  readonly joinKeys: readonly JoinKey[];
}

export interface EntityInput extends MetadataInput {
  name: string;
  joinKeys: { name: string; type: JoinKeyType }[];
}

const kind: DefinitionKind = 'entity';

const entitySchema = z.strictObject({
  name: identifier,
  joinKeys: z
    .array(z.strictObject({ name: columnName, type: joinKeyType }), {
      error: 'must be a list of { name, type }',
    })
    .min(1, 'needs at least one join key'),
  ...metadataFields,
});

export function defineEntity(input: EntityInput): Entity {
  const parsed = parseDefinition(entitySchema, kind, input);
  const issues = new IssueCollector(definitionLabel(kind, input));
  const seen = new Set<string>();
  parsed.joinKeys.forEach((key) => {
    if (seen.has(key.name))
      issues.add(
        `${listItemField('joinKeys', key.name)}.name`,
        `join key "${key.name}" is listed twice`,
        'list each join key once',
      );
    seen.add(key.name);
  });
  issues.throwIfAny();
  return deepFreeze({
    kind: 'entity',
    name: parsed.name,
    joinKeys: parsed.joinKeys.map((key) => ({ name: key.name, type: key.type })),
    ...metadataOf(parsed),
  });
}

export function isEntity(value: unknown): value is Entity {
  return (value as Entity | null)?.kind === 'entity';
}

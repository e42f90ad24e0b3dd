import { fstoreReservedNames, reservedBy } from './reserved-words.ts';

export const identifierPattern = /^[a-z][a-z0-9_]*$/;
export const maxIdentifierLength = 64;

/**
 * Why `name` cannot be used as an identifier, or undefined when it can.
 * Identifiers must be safe unquoted in Athena, Glue, DuckDB and DynamoDB key prefixes.
 */
export function identifierProblem(name: string): { message: string; hint: string } | undefined {
  if (!identifierPattern.test(name)) {
    return {
      message: `"${name}" is not a valid identifier: use lower-case letters, digits and "_", starting with a letter`,
      hint: `rename it, for example "${suggestIdentifier(name)}"`,
    };
  }
  if (name.length > maxIdentifierLength) {
    return {
      message: `"${name}" is ${name.length} characters long; the limit is ${maxIdentifierLength}`,
      hint: 'choose a shorter name',
    };
  }
  if (name.includes('__')) {
    return {
      message: `"${name}" contains "__", which fstore reserves for full feature names (view__feature)`,
      hint: `use a single "_", for example "${name.replace(/_{2,}/g, '_')}"`,
    };
  }
  if (name.endsWith('_')) {
    return { message: `"${name}" ends with "_"`, hint: `drop the trailing "_"` };
  }
  const engine = reservedBy(name);
  if (engine) {
    return {
      message: `"${name}" is a reserved word in ${engine}`,
      hint: `choose another name, for example "${name}_value" or a more specific one`,
    };
  }
  return undefined;
}

/** Like identifierProblem, plus the names fstore uses for its own columns and item attributes. */
export function columnNameProblem(name: string): { message: string; hint: string } | undefined {
  const basic = identifierProblem(name);
  if (basic) return basic;
  if (name.startsWith('fstore_')) {
    return {
      message: `"${name}" starts with "fstore_", which fstore reserves for the columns of its generated SQL`,
      hint: `drop the prefix, for example "${name.slice('fstore_'.length) || 'value'}"`,
    };
  }
  if ((fstoreReservedNames as readonly string[]).includes(name)) {
    return {
      message: `"${name}" is reserved by fstore for its own columns (${fstoreReservedNames.join(', ')})`,
      hint: `choose another name, for example "${name}_value"`,
    };
  }
  return undefined;
}

function suggestIdentifier(name: string): string {
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^[^a-z]+/, '')
    .replace(/_+$/, '');
  return snake.length > 0 ? snake : 'my_name';
}

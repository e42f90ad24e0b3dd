import { HintedError } from '../hinted-error.ts';
import { type Registry, registrySchema } from './registry-schema.ts';

/** Registry text that is not JSON or not an fstore registry; names where it came from. */
export class RegistryTextError extends HintedError {}

/** Parses and validates registry JSON read from `where` (a file path or an S3 URL). */
export function parseRegistryText(text: string, where: string, hint?: string): Registry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryTextError(`${where} is not valid JSON`, hint, { cause: error });
  }
  const parsed = registrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RegistryTextError(
      `${where} is not an fstore registry (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
      hint,
    );
  }
  return parsed.data;
}

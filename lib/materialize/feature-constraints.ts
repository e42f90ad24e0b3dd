import type { RegistryFeature } from '../registry/index.ts';

/**
 * Why a row breaks its view's feature constraints (nullable, min, max, allowedValues), one
 * reason per broken rule, or an empty list when it keeps them all.
 */
export function constraintViolations(
  features: readonly RegistryFeature[],
  values: Readonly<Record<string, unknown>>,
): string[] {
  const reasons: string[] = [];
  for (const feature of features) {
    const value = values[feature.name];
    if (value === null || value === undefined) {
      if (!feature.nullable)
        reasons.push(`${feature.name} is null but the feature is not nullable`);
      continue;
    }
    if (feature.min !== undefined || feature.max !== undefined) {
      const number = typeof value === 'number' ? value : Number(value);
      if (Number.isNaN(number)) reasons.push(`${feature.name} is not a number: ${String(value)}`);
      else if (feature.min !== undefined && number < feature.min)
        reasons.push(`${feature.name} = ${number} is below min ${feature.min}`);
      else if (feature.max !== undefined && number > feature.max)
        reasons.push(`${feature.name} = ${number} is above max ${feature.max}`);
    }
    if (feature.allowedValues && !feature.allowedValues.some((allowed) => same(allowed, value)))
      reasons.push(
        `${feature.name} = ${JSON.stringify(value)} is not one of ${JSON.stringify(feature.allowedValues)}`,
      );
  }
  return reasons;
}

function same(allowed: string | number | boolean, value: unknown): boolean {
  if (typeof allowed === 'number') return Number(value) === allowed;
  return allowed === value;
}

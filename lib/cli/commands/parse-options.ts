import { InvalidArgumentError } from 'commander';

/** A commander parser for a whole number ≥ 0 (ports are also capped at 65535). */
export function positiveIntegerOrZero(name: string) {
  const max = name === 'port' ? 65_535 : Number.MAX_SAFE_INTEGER;
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > max) {
      throw new InvalidArgumentError(
        `${name} must be a whole number from 0 to ${max}, got "${text}".`,
      );
    }
    return value;
  };
}

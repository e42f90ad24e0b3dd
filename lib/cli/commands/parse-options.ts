import { InvalidArgumentError } from 'commander';

export function positiveIntegerOrZero(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > 65_535)
      throw new InvalidArgumentError(
        `${name} must be a whole number from 0 to 65535, got "${text}".`,
      );
    return value;
  };
}

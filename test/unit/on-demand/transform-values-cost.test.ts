import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  requestValueProblem,
  runTransform,
  type TransformOutputSpec,
} from '../../../lib/on-demand/transform-values.ts';

const outputs: TransformOutputSpec[] = [
  { name: 'ratio', type: 'float64', nullable: true },
  { name: 'big', type: 'bool', nullable: false },
  { name: 'tier', type: 'string', nullable: true },
  { name: 'n', type: 'int64', nullable: true },
];

afterEach(() => {
  vi.restoreAllMocks();
});

// Runs once per entity of a lookup and once per row of a training set: a valid value must cost
// its type check only, not the JSON text an error message would quote.
describe('checking values that are valid', () => {
  it('never writes a value as JSON text', () => {
    const stringify = vi.spyOn(JSON, 'stringify');
    expect(requestValueProblem('float64', 1.5)).toBeUndefined();
    expect(requestValueProblem('int32', 7)).toBeUndefined();
    expect(requestValueProblem('string', 'x')).toBeUndefined();
    expect(requestValueProblem('bool', false)).toBeUndefined();
    runTransform(() => ({ ratio: 0.5, big: true, tier: 'gold', n: 3 }), {}, outputs);
    expect(stringify).not.toHaveBeenCalled();
  });

  it('still quotes an invalid value in its problem', () => {
    expect(requestValueProblem('float64', '1.5')).toBe('must be a finite number, got "1.5"');
  });
});

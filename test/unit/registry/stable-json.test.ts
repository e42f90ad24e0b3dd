import { describe, expect, it } from 'vitest';
import { contentHash, stableStringify } from '../../../lib/registry/index.ts';

describe('stableStringify', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(stableStringify({ b: 1, a: { d: [3, 1], c: 2 } }, 0)).toBe(
      '{"a":{"c":2,"d":[3,1]},"b":1}',
    );
  });

  it('gives the same text for objects built in different key orders', () => {
    const one = { name: 'v', features: [{ type: 'int32', name: 'age' }], tags: { z: 'a', a: 'z' } };
    const two = { tags: { a: 'z', z: 'a' }, features: [{ name: 'age', type: 'int32' }], name: 'v' };
    expect(stableStringify(one)).toBe(stableStringify(two));
  });

  it('leaves out undefined properties', () => {
    expect(stableStringify({ a: undefined, b: null, c: 0 }, 0)).toBe('{"b":null,"c":0}');
  });

  it('indents with two spaces by default', () => {
    expect(stableStringify({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
  });
});

describe('contentHash', () => {
  it('is a hex prefix of the given length that ignores key order and formatting', () => {
    const hash = contentHash({ b: 1, a: 2 }, 12);
    expect(hash).toMatch(/^[0-9a-f]{12}$/);
    expect(contentHash({ a: 2, b: 1 }, 12)).toBe(hash);
    expect(contentHash({ a: 2, b: 1 }, 16).startsWith(hash)).toBe(true);
  });

  it('changes when any value changes', () => {
    expect(contentHash({ a: 1 }, 12)).not.toBe(contentHash({ a: 2 }, 12));
    expect(contentHash([1, 2], 12)).not.toBe(contentHash([2, 1], 12));
    expect(contentHash({ a: '1' }, 12)).not.toBe(contentHash({ a: 1 }, 12));
  });
});

import { describe, expect, it } from 'vitest';
import {
  registerTransform,
  transformOf,
  transformSourceHash,
} from '../../../lib/on-demand/transform-catalog.ts';

describe('transformSourceHash', () => {
  it('is the same for a transform whatever whitespace its loader left (tsx minifies it, the CLI bundle keeps it)', () => {
    expect(
      transformSourceHash('(row) => ({ ratio: row.monthly ? row.basket / row.monthly : null })'),
    ).toBe(transformSourceHash('row=>({ratio:row.monthly?row.basket/row.monthly:null})'));
  });

  it('hashes a method-shorthand transform after minifying it too', () => {
    expect(transformSourceHash('transform(row) {\n  return { a: row.x };\n}')).toBe(
      transformSourceHash('transform(row){return{a:row.x}}'),
    );
  });

  it('differs when what the transform computes differs', () => {
    expect(transformSourceHash('(row) => ({ a: row.x + 1 })')).not.toBe(
      transformSourceHash('(row) => ({ a: row.x + 2 })'),
    );
  });
});

describe('transformOf', () => {
  const transform = (row: Readonly<Record<string, unknown>>) => ({ a: row.x });
  registerTransform('hash_test_view', transform, '(row) => ({ a: row.x })');

  it('finds a transform by view name alone (the Lambda) and by the hash of its minified source (the local server)', () => {
    expect(transformOf('hash_test_view')).toBe(transform);
    expect(transformOf('hash_test_view', transformSourceHash('row=>({a:row.x})'))).toBe(transform);
  });

  it('finds none when the registry holds another source hash', () => {
    expect(transformOf('hash_test_view', transformSourceHash('(row) => ({ a: row.y })'))).toBe(
      undefined,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { transformSourceHash } from '../../../lib/on-demand/transform-catalog.ts';

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

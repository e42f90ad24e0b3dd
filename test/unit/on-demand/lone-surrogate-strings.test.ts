import { describe, expect, it } from 'vitest';
import {
  requestValueProblem,
  runTransform,
  TransformError,
} from '../../../lib/on-demand/transform-values.ts';

// A string cut by UTF-16 code units ('𝄞'.slice(0, 1)) holds half a surrogate pair: JSON carries
// it as "\ud834", but a training set's Parquet (UTF-8) cannot, and holds U+FFFD instead.
const outputs = [{ name: 'head', type: 'string' as const, nullable: true }];

describe('strings with a lone UTF-16 surrogate', () => {
  it('are refused as transform outputs, naming the character, so no lookup serves one', () => {
    const run = () => runTransform(() => ({ head: '𝄞 clef'.slice(0, 1) }), {}, outputs);
    expect(run).toThrow(TransformError);
    expect(run).toThrow(
      /feature "head" \(string\) holds a lone UTF-16 surrogate \(\\ud834 at character 0\)/,
    );
  });

  it('are refused as request values (a 400 in lookups), as an entity file cannot hold them', () => {
    expect(requestValueProblem('string', 'a\udc00b')).toMatch(
      /lone UTF-16 surrogate \(\\udc00 at character 1\)/,
    );
  });

  it('leave whole pairs, unicode and the empty string alone', () => {
    for (const text of ['𝄞 clef', 'é', 'e\u0301', '日本語', ''])
      expect(runTransform(() => ({ head: text }), {}, outputs)).toEqual({ head: text });
  });
});

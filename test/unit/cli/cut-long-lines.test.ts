import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { cutLongLines } from '../../../lib/cli/commands/push-follow.ts';

async function through(chunks: string[], maxBytes: number): Promise<string> {
  let out = '';
  for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(
    cutLongLines(maxBytes),
  ))
    out += chunk.toString();
  return out;
}

describe('cutLongLines', () => {
  it('passes lines within the limit unchanged, however the chunks split them', async () => {
    expect(await through(['ab', 'c\nde', 'f\n\ng'], 3)).toBe('abc\ndef\n\ng');
  });

  it('keeps only the first maxBytes of a longer line, across chunks, and the lines after it whole', async () => {
    expect(await through(['12345', '6789\nok\n', 'xxxxxxxx', 'yyyy'], 4)).toBe('1234\nok\nxxxx');
  });
});

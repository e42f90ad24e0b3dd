import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { at, echoFixture } from '../../helpers/on-demand-echo-fixture.ts';

describe('CSV string request values reach the transform as written', () => {
  it.each([
    ['leading zeros', '007', '007'],
    ['surrounding spaces', '  x  ', '  x  '],
    ['the word NULL', 'NULL', 'NULL'],
    ['a quoted comma and quote', '"a,""b"""', 'a,"b"'],
    ['a quoted newline', '"line1\nline2"', 'line1\nline2'],
    ['a number with exponent', '1e5', '1e5'],
    ['true', 'true', 'true'],
    ['a date', '2026-03-10', '2026-03-10'],
  ])(
    '%s',
    async (_, field, expected) => {
      const fixture = await echoFixture();
      const file = path.join(fixture.dataDir, 'entities.csv');
      await writeFile(
        file,
        `customer_id,event_timestamp,amount,coupon,flag,qty\nC1,${at},1,${field},true,1\n`,
      );
      const result = await fixture.trainingSet([], {
        request: { service: 'checkout' },
        entities: file,
      });
      expect(result.records?.[0]?.coupon_out).toBe(expected);
    },
    120_000,
  );
});

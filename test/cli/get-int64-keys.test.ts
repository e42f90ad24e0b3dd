import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, spawnFstore, writeDefs } from '../helpers/run-fstore.ts';

// int64 keys beyond 2^53 go in as text and are stored exactly; a lookup must find them again
// under the same integer, and not under its neighbour 2^53 that a double would round it to.
const defs = `
import { defineEntity, defineFeatureView, defineSource } from 'fstore:definitions';
const account = defineEntity({ name: 'account', joinKeys: [{ name: 'account_id', type: 'int64' }] });
const card = defineEntity({
  name: 'card',
  joinKeys: [{ name: 'bank_id', type: 'int64' }, { name: 'card_no', type: 'int64' }],
});
const payments = defineSource({
  name: 'payments',
  schema: {
    account_id: 'int64', bank_id: 'int64', card_no: 'int64', amount: 'float64', event_ts: 'timestamp',
  },
  timestampField: 'event_ts',
});
export const lastPayment = defineFeatureView({
  name: 'last_payment', entities: [account], source: payments, features: { amount: 'float64' },
  online: true, schedule: 'rate(1 hour)',
});
export const cardPayment = defineFeatureView({
  name: 'card_payment', entities: [card], source: payments, features: { amount: 'float64' },
  online: true, schedule: 'rate(1 hour)',
});
`;

const beyond = '9007199254740993'; // 2^53 + 1: a double reads it as 2^53
const neighbour = '9007199254740992';
const int64Min = '-9223372036854775808';
const int64Max = '9223372036854775807';

let args: string[];

interface Answer {
  entity: Record<string, unknown>;
  features: Record<string, { value: unknown; status: string }>;
}

async function get(view: string, entities: string[], extra: string[] = []): Promise<Answer[]> {
  const got = await runFstore([
    ...args,
    'get',
    '--view',
    view,
    ...entities.flatMap((e) => ['--entity', e]),
    '--json',
    ...extra,
  ]);
  expect(got.code, got.stderr).toBe(0);
  return JSON.parse(got.stdout) as Answer[];
}

const amounts = (answers: Answer[]) =>
  answers.map((a) => [a.features.amount?.status, a.features.amount?.value]);

beforeAll(async () => {
  const work = await makeTempDir('get-int64');
  const defsDir = await writeDefs({ 'defs.ts': defs }, await makeTempDir('get-int64-defs'));
  args = ['--defs', defsDir, '--data-dir', path.join(work, '.fstore')];
  const yesterday = new Date(Date.now() - 86_400_000).toISOString();
  const rows = path.join(work, 'payments.csv');
  await writeFile(
    rows,
    [
      'account_id,bank_id,card_no,amount,event_ts',
      `${beyond},${beyond},${int64Min},1.5,${yesterday}`,
      `9007199254740991,${beyond},${int64Max},2.5,${yesterday}`,
      '',
    ].join('\n'),
  );
  const ingest = await runFstore([...args, 'ingest', '--source', 'payments', '--file', rows]);
  expect(ingest.code, ingest.stderr).toBe(0);
  const materialize = await runFstore([...args, 'materialize']);
  expect(materialize.code, materialize.stderr).toBe(0);
}, 240_000);

describe('fstore get with int64 keys beyond 2^53', () => {
  it('finds the exact key, not its 2^53 neighbour, and echoes each key as it was read', async () => {
    const answers = await get('last_payment', [
      `account_id=${beyond}`,
      `account_id=${neighbour}`,
      'account_id=9007199254740991',
    ]);
    expect(amounts(answers)).toEqual([
      ['PRESENT', 1.5],
      ['NOT_FOUND', null],
      ['PRESENT', 2.5],
    ]);
    expect(answers.map((a) => a.entity)).toEqual([
      { account_id: beyond },
      { account_id: neighbour },
      { account_id: 9007199254740991 },
    ]);
  });

  it('finds composite keys at both ends of the int64 range', async () => {
    const answers = await get('card_payment', [
      `bank_id=${beyond},card_no=${int64Min}`,
      `bank_id=${beyond},card_no=${int64Max}`,
      `bank_id=${neighbour},card_no=${int64Max}`,
    ]);
    expect(amounts(answers)).toEqual([
      ['PRESENT', 1.5],
      ['PRESENT', 2.5],
      ['NOT_FOUND', null],
    ]);
  });

  it.each([
    ['a fraction', 'account_id=1.5', 'got "1.5"'],
    ['a value beyond int64', 'account_id=9223372036854775808', 'outside the int64 range'],
    ['text', 'account_id=abc', 'got "abc"'],
    ['an unknown key', 'acount_id=1', '"acount_id" is not a join key here; expected account_id'],
  ])('refuses %s, naming the entity and the key, exit code 2', async (_, entity, problem) => {
    const got = await runFstore([
      ...args,
      'get',
      '--view',
      'last_payment',
      '--entity',
      'account_id=1',
      '--entity',
      entity,
    ]);
    expect(got.code).toBe(2);
    expect(got.stderr).toContain(`--entity #2 "${entity}"`);
    expect(got.stderr).toContain(problem);
  });
});

describe('the HTTP lookup of fstore serve with int64 keys beyond 2^53', () => {
  it('finds a key sent as a decimal string, echoes it as a string, and refuses it as a JSON number', async () => {
    const server = spawnFstore([...args, 'serve', '--port', '0']);
    try {
      const [, url] = (await server.waitFor(/lookup API ready on (http:\/\/\S+)/)) as string[];
      const post = async (view: string, body: string) => {
        const response = await fetch(`${url}/v1/feature-views/${view}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return { status: response.status, text: await response.text() };
      };

      const single = await post(
        'last_payment',
        `{"entities":[{"account_id":"${beyond}"},{"account_id":"${neighbour}"}]}`,
      );
      expect(single.status, single.text).toBe(200);
      const singleResults = JSON.parse(single.text).results as Answer[];
      expect(amounts(singleResults)).toEqual([
        ['PRESENT', 1.5],
        ['NOT_FOUND', null],
      ]);
      expect(single.text).toContain(`{"entity":{"account_id":"${beyond}"}`);

      const composite = await post(
        'card_payment',
        `{"entities":[{"bank_id":"${beyond}","card_no":"${int64Max}"},{"bank_id":${neighbour.slice(0, 15)},"card_no":"${int64Max}"}]}`,
      );
      expect(composite.status, composite.text).toBe(200);
      expect(amounts(JSON.parse(composite.text).results)).toEqual([
        ['PRESENT', 2.5],
        ['NOT_FOUND', null],
      ]);

      const asNumber = await post('last_payment', `{"entities":[{"account_id":${beyond}}]}`);
      expect(asNumber.status).toBe(400);
      expect(JSON.parse(asNumber.text).error).toMatchObject({
        code: 'INVALID_JOIN_KEY',
        details: { path: '$.entities[0].account_id' },
      });
      expect(JSON.parse(asNumber.text).error.message).toContain('send the key as a decimal string');

      // fstore get --url sends a key beyond 2^53 as a string.
      const overHttp = await get(
        'last_payment',
        [`account_id=${beyond}`, `account_id=${neighbour}`],
        ['--url', url as string],
      );
      expect(amounts(overHttp)).toEqual([
        ['PRESENT', 1.5],
        ['NOT_FOUND', null],
      ]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 120_000);
});

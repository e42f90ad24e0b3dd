import { describe, expect, it } from 'vitest';
import { makeTempDir, runFstore, spawnFstore } from '../helpers/run-fstore.ts';

const lookup = async (url: string) => {
  const response = await fetch(`${url}/v1/features/churn_online`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entities: [{ customer_id: 'C000001' }, { customer_id: 'C999999' }] }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      results: { features: Record<string, { status: string; value: unknown }> }[];
    },
  };
};

describe('npm start serving the local store', () => {
  it('serves lookups, refuses a second start, stops cleanly on SIGTERM and answers the same after a restart', async () => {
    const dataDir = await makeTempDir('serve');
    const first = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    try {
      const [, url] = await first.waitFor(
        /lookup API ready on (http:\/\/127\.0\.0\.1:\d+)/,
        120_000,
      );
      const answer = await lookup(url as string);
      expect(answer.status).toBe(200);
      expect(answer.body.results[0]?.features.plan?.status).toBe('PRESENT');
      expect(answer.body.results[1]?.features.plan?.status).toBe('NOT_FOUND');

      const viaCli = await runFstore([
        '--data-dir',
        dataDir,
        'get',
        '--service',
        'churn_online',
        '--entity',
        'customer_id=C000001',
        '--json',
        '--url',
        url as string,
      ]);
      expect(viaCli.code, viaCli.stderr).toBe(0);
      expect(JSON.parse(viaCli.stdout)[0].features.plan.value).toBe(
        answer.body.results[0]?.features.plan?.value,
      );

      const second = await runFstore(['--data-dir', dataDir, 'start', '--port', '0']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('is in use by another fstore process');

      expect(await first.stop('SIGTERM')).toBe(0);
      const restarted = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
      try {
        const [, again] = await restarted.waitFor(
          /lookup API ready on (http:\/\/127\.0\.0\.1:\d+)/,
          120_000,
        );
        expect((await lookup(again as string)).body).toEqual(answer.body);
      } finally {
        expect(await restarted.stop('SIGINT')).toBe(0);
      }
    } finally {
      await first.stop('SIGKILL');
    }
  }, 240_000);
});

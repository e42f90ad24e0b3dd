import { describe, expect, it } from 'vitest';
import { makeTempDir, spawnFstore } from '../helpers/run-fstore.ts';

const ready = /lookup API ready on (http:\/\/127\.0\.0\.1:\d+)/;
const at = new Date(Date.now() - 3_600_000).toISOString();
const row = {
  customer_id: 'C777001',
  age: 41,
  plan: 'standard',
  region: 'west',
  monthly_charges: 42.5,
  tenure_months: 7,
  event_ts: at,
  created_ts: at,
};

async function push(url: string, key: string, rows: unknown[]) {
  const response = await fetch(`${url}/v1/push/customer_profiles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ to: 'online', rows }),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('Idempotency-Key on fstore start (records in the local DynamoDB-API store)', () => {
  it('replays the first answer, refuses the key for other rows, and remembers keys across a restart', async () => {
    const dataDir = await makeTempDir('push-idem');
    const first = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    let answer: Awaited<ReturnType<typeof push>>;
    try {
      const [, url] = await first.waitFor(ready, 120_000);
      answer = await push(url as string, 'batch-2026-12-01-0001', [row]);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.replayed).toBeNull();
      const again = await push(url as string, 'batch-2026-12-01-0001', [row]);
      expect([again.status, again.replayed]).toEqual([200, 'true']);
      expect(again.body).toEqual(answer.body);
      const other = await push(url as string, 'batch-2026-12-01-0001', [{ ...row, age: 42 }]);
      expect(other.status).toBe(422);
      expect(await first.stop('SIGTERM')).toBe(0);
    } finally {
      await first.stop('SIGKILL').catch(() => {});
    }
    const restarted = spawnFstore(['--data-dir', dataDir, 'start', '--port', '0']);
    try {
      const [, url] = await restarted.waitFor(ready, 120_000);
      const replay = await push(url as string, 'batch-2026-12-01-0001', [row]);
      expect([replay.status, replay.replayed]).toEqual([200, 'true']);
      expect(replay.body).toEqual(answer.body);
    } finally {
      await restarted.stop('SIGTERM');
    }
  }, 300_000);
});

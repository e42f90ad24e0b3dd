import { afterEach, describe, expect, it, vi } from 'vitest';
import { paymentRow, pushRegistry } from '../helpers/push-registry.ts';
import { makeTempDir } from '../helpers/run-fstore.ts';

const registry = pushRegistry();
const source = registry.sources.find((s) => s.name === 'payments');

/** A fresh `push-log.ts` (its last stamp 0), as in a new process, with the wall clock at `nowMs`. */
async function freshProcessAt(nowMs: number) {
  vi.resetModules();
  vi.spyOn(Date, 'now').mockReturnValue(nowMs);
  return import('../../lib/push/push-log.ts');
}

afterEach(() => vi.restoreAllMocks());

describe('push log names across processes', () => {
  it('sorts a later push after an earlier waiting one when a new process starts with the clock stepped back', async () => {
    const dataDir = await makeTempDir('stamp-step');
    const row = (amount: number) => ({
      values: { ...paymentRow('2026-03-01T11:00:00Z', { customer_id: 'S1', amount }) },
    });
    const first = await freshProcessAt(Date.parse('2026-03-01T12:00:02Z'));
    const a = await first.appendPushLog(dataDir, 'local', source as never, [row(1) as never]);
    // serve restarted; NTP stepped the clock back 2 s; the next push is sent after A answered.
    const second = await freshProcessAt(Date.parse('2026-03-01T12:00:00Z'));
    const b = await second.appendPushLog(dataDir, 'local', source as never, [row(2) as never]);
    expect(await second.pendingPushLogs(dataDir, 'local', 'payments')).toEqual([a, b]);
  });
});

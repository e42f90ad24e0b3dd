import { afterEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb, queryRows } from '../../lib/offline/duckdb-session.ts';
import { setProcessEndsAfterCommand } from '../../lib/process-lifetime.ts';

const opened: DuckdbSession[] = [];
const open = async () => {
  const session = await openDuckdb();
  opened.push(session);
  return session;
};

afterEach(() => {
  setProcessEndsAfterCommand(false);
  for (const session of opened.splice(0)) {
    try {
      session.instance.closeSync();
    } catch {
      // Closed already.
    }
  }
});

const setting = async (session: DuckdbSession, name: string) =>
  (await queryRows(session.connection, `SELECT current_setting('${name}') AS v`))[0]?.v;

describe('a process that ends after its command opens DuckDB once', () => {
  it('opens the next session on the instance an earlier one left open, as a fresh one: no temporary table, default settings, UTC', async () => {
    setProcessEndsAfterCommand(true);
    const first = await open();
    const defaults = {
      threads: await setting(first, 'threads'),
      order: await setting(first, 'preserve_insertion_order'),
    };
    await first.connection.run('CREATE TEMP TABLE fstore_entities AS SELECT 1 AS i');
    await first.connection.run('SET threads = 1');
    await first.connection.run('SET preserve_insertion_order = false');
    first.close();
    const second = await open();
    expect(second.instance).toBe(first.instance);
    await second.connection.run('CREATE TEMP TABLE fstore_entities AS SELECT 2 AS i');
    expect(await setting(second, 'threads')).toEqual(defaults.threads);
    expect(await setting(second, 'preserve_insertion_order')).toEqual(defaults.order);
    expect(await setting(second, 'TimeZone')).toMatch(/UTC/);
  });

  it('opens a new instance when the one left open was closed meanwhile', async () => {
    setProcessEndsAfterCommand(true);
    const first = await open();
    first.close();
    first.instance.closeSync();
    const second = await open();
    expect(second.instance).not.toBe(first.instance);
    expect(await queryRows(second.connection, 'SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
  });

  it('gives each session its own instance in a process that goes on', async () => {
    const first = await open();
    first.close();
    const second = await open();
    expect(second.instance).not.toBe(first.instance);
  });
});

import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DuckdbSession, openDuckdb } from '../../lib/offline/duckdb-session.ts';
import { setProcessEndsAfterCommand } from '../../lib/process-lifetime.ts';

const opened: DuckdbSession[] = [];
const open = async () => {
  const session = await openDuckdb();
  opened.push(session);
  return session;
};

afterEach(() => {
  setProcessEndsAfterCommand(false);
  delete process.env.FSTORE_DUCKDB_TEMP_DIRECTORY;
  for (const session of opened.splice(0)) {
    try {
      session.instance.closeSync();
    } catch {
      // Closed by the test already.
    }
  }
});

describe('closing a DuckDB session', () => {
  it('closes its instance in a process that goes on after it (a server, a Lambda function, a test)', async () => {
    const session = await open();
    session.close();
    await expect(session.instance.connect()).rejects.toThrow();
  });

  it('leaves its in-memory instance to the exit of a process that ends after its command, closing only the connection', async () => {
    setProcessEndsAfterCommand(true);
    const session = await open();
    await session.connection.run('CREATE TEMP TABLE t AS SELECT range AS i FROM range(10)');
    session.close();
    await expect(session.connection.run('SELECT 1')).rejects.toThrow();
    const again = await session.instance.connect();
    const rows = await again.runAndReadAll('SELECT 42 AS answer');
    expect(rows.getRowObjectsJson()).toEqual([{ answer: 42 }]);
    again.closeSync();
  });

  it('closes its instance even then when a query spilled to disk: only the close removes the spill folder', async () => {
    const spill = path.join(await mkdtemp(path.join(tmpdir(), 'fstore-spill-')), 'spill');
    process.env.FSTORE_DUCKDB_TEMP_DIRECTORY = spill;
    setProcessEndsAfterCommand(true);
    const session = await open();
    await session.connection.run("SET memory_limit = '24MB'");
    await session.connection.run('SET preserve_insertion_order = false');
    await session.connection.run(
      "CREATE TEMP TABLE big AS SELECT range AS i, repeat('x', 200) || range AS s FROM range(400000)",
    );
    expect(existsSync(spill) && readdirSync(spill).length > 0, 'the temp table spilled').toBe(true);
    session.close();
    await expect(session.instance.connect()).rejects.toThrow();
    expect(existsSync(spill)).toBe(false);
  });
});

import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

/**
 * Every entity item of an online table (the materialization state items left out), without
 * `materialized_at` (the time of the run that wrote it), sorted: two tables holding the same
 * values compare equal.
 */
export async function scanEntityItems(
  client: DynamoDBClient,
  table: string,
  omit: readonly string[] = ['materialized_at'],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: table,
        ...(start ? { ExclusiveStartKey: start as never } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      if (String(item.pk?.S).startsWith('~')) continue;
      items.push(Object.fromEntries(Object.entries(item).filter(([name]) => !omit.includes(name))));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/**
 * The client with its calls counted by command name (PutItemCommand, UpdateItemCommand...), and
 * optionally failing: `failPutsAfter` rejects every PutItem after that many.
 */
export function countingClient(
  client: DynamoDBClient,
  options: { failPutsAfter?: number } = {},
): { client: DynamoDBClient; calls: Map<string, number>; count(name: string): number } {
  const calls = new Map<string, number>();
  const counted = new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string } }) => {
        const name = command.constructor.name;
        const n = (calls.get(name) ?? 0) + 1;
        calls.set(name, n);
        if (
          name === 'PutItemCommand' &&
          options.failPutsAfter !== undefined &&
          n > options.failPutsAfter
        )
          return Promise.reject(new Error('injected crash'));
        return target.send(command as never);
      };
    },
  });
  return { client: counted, calls, count: (name) => calls.get(name) ?? 0 };
}

import type { TransformFunction, TransformRow } from './transform-values.ts';

/**
 * Runs `transform` over each sample row with the clock and the random sources frozen: `Date.now`,
 * `new Date()` (without an argument), `Date()`, `Math.random`, `performance.now`,
 * `crypto.randomUUID` and `crypto.getRandomValues` throw while it runs. Returns what it read
 * first (e.g. "Date.now"), or undefined when none was read. Only what these rows reach is
 * checked: a read behind a branch they do not take goes unnoticed, which is why purity is also
 * documented as the author's duty. Other errors the transform throws are ignored here.
 */
export function impureReadOf(
  transform: TransformFunction,
  rows: readonly TransformRow[],
): string | undefined {
  let read: string | undefined;
  const trap = (name: string) => {
    read ??= name;
    throw new Error(`${name} is not allowed in an on-demand transform (it must be pure)`);
  };
  const restore = freezeGlobals(trap);
  try {
    for (const row of rows) {
      try {
        transform(Object.freeze({ ...row }));
      } catch {
        // A transform may throw on a sample row; only the reads of frozen globals matter here.
      }
      if (read !== undefined) break;
    }
  } finally {
    restore();
  }
  return read;
}

function freezeGlobals(trap: (name: string) => never): () => void {
  const realDate = globalThis.Date;
  const frozenDate: DateConstructor = new Proxy(realDate, {
    construct(target, args, newTarget): object {
      if (args.length === 0) trap('new Date()');
      return Reflect.construct(target, args, newTarget === frozenDate ? target : newTarget);
    },
    apply() {
      return trap('Date()');
    },
    get(target, property, receiver) {
      if (property === 'now') return () => trap('Date.now');
      return Reflect.get(target, property, receiver);
    },
  });
  const replaced: { owner: object; key: string; had: PropertyDescriptor | undefined }[] = [];
  const replace = (owner: object | undefined, key: string, value: unknown) => {
    if (!owner) return;
    replaced.push({ owner, key, had: Object.getOwnPropertyDescriptor(owner, key) });
    Object.defineProperty(owner, key, { value, configurable: true, writable: true });
  };
  replace(globalThis, 'Date', frozenDate);
  replace(Math, 'random', () => trap('Math.random'));
  replace(globalThis.performance, 'now', () => trap('performance.now'));
  replace(globalThis.crypto, 'randomUUID', () => trap('crypto.randomUUID'));
  replace(globalThis.crypto, 'getRandomValues', () => trap('crypto.getRandomValues'));
  return () => {
    for (const { owner, key, had } of replaced.reverse()) {
      if (had) Object.defineProperty(owner, key, had);
      else delete (owner as Record<string, unknown>)[key];
    }
  };
}

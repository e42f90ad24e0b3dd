import { describe, expect, it } from 'vitest';
import { LookupCache } from '../../../lib/online/lookup-cache.ts';

const item = (id: string) => ({ pk: { S: id } });

describe('the lookup cache of hot keys', () => {
  it('holds exactly maxEntries items, dropping the least recently set', () => {
    const cache = new LookupCache(60_000, 2, () => 0);
    cache.set('a', item('a'));
    cache.set('b', item('b'));
    expect(cache.get('a')).toEqual(item('a'));
    expect(cache.get('b')).toEqual(item('b'));
    cache.set('a', item('a2'));
    cache.set('c', item('c'));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(item('a2'));
    expect(cache.get('c')).toEqual(item('c'));
  });

  it('keeps a miss as null until its time is up, then forgets it', () => {
    let now = 0;
    const cache = new LookupCache(100, 10, () => now);
    cache.set('unknown', null);
    now = 99;
    expect(cache.get('unknown')).toBeNull();
    now = 100;
    expect(cache.get('unknown')).toBeUndefined();
  });
});

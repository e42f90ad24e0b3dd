/**
 * Small seeded PRNG (sfc32 seeded through splitmix32): the same seed always gives the same
 * sequence on every platform, which makes the demo data byte-for-byte reproducible.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * One independent stream per list of integer seeds, e.g. `new Prng(seed, customerIndex)`.
   * Seeds outside 32 bits mix in their high word too, so 1 and 2^32 + 1 give different streams.
   */
  constructor(...seeds: number[]) {
    let state = 0x9e3779b9;
    for (const seed of seeds) {
      if (!Number.isSafeInteger(seed))
        throw new RangeError(`Prng seeds must be integers, got ${seed}`);
      state = splitmix32(state ^ (seed >>> 0));
      const high = Math.floor(seed / 4294967296);
      if (high !== 0) state = splitmix32(state ^ (high >>> 0));
    }
    this.a = splitmix32(state);
    this.b = splitmix32(this.a);
    this.c = splitmix32(this.b);
    this.d = splitmix32(this.c);
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
}

function splitmix32(input: number): number {
  let z = (input + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

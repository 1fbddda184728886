// A fixed-size open-addressing table of token counts, keyed by the two 32-bit halves of a token id,
// so lookups allocate nothing (reading a BigInt64Array element would allocate a BigInt).

export class TokenCountCache {
  private readonly mask: number;
  private readonly limit: number;
  private readonly low: Uint32Array;
  private readonly high: Uint32Array;
  private readonly spam: Uint32Array;
  private readonly ham: Uint32Array;
  private readonly used: Uint8Array;
  private count = 0;

  /** `slots` is rounded up to a power of two; the table empties itself when 70% full. */
  constructor(slots: number) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(16, slots)));
    this.mask = size - 1;
    this.limit = Math.floor(size * 0.7);
    this.low = new Uint32Array(size);
    this.high = new Uint32Array(size);
    this.spam = new Uint32Array(size);
    this.ham = new Uint32Array(size);
    this.used = new Uint8Array(size);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    if (this.count === 0) return;
    this.used.fill(0);
    this.count = 0;
  }

  /** The slot holding this id, or -1. Ids are hashes already, so the low half indexes directly. */
  find(low: number, high: number): number {
    for (let slot = low & this.mask; this.used[slot]; slot = (slot + 1) & this.mask) {
      if (this.low[slot] === low && this.high[slot] === high) return slot;
    }
    return -1;
  }

  spamAt(slot: number): number {
    return this.spam[slot];
  }

  hamAt(slot: number): number {
    return this.ham[slot];
  }

  /** Adds to a cached token's counts, never below 0 as the table does; a token not cached stays uncached. */
  add(low: number, high: number, spam: number, ham: number): void {
    const slot = this.find(low, high);
    if (slot < 0) return;
    this.spam[slot] = Math.max(0, this.spam[slot] + spam);
    this.ham[slot] = Math.max(0, this.ham[slot] + ham);
  }

  set(low: number, high: number, spam: number, ham: number): void {
    if (this.count >= this.limit) this.clear();
    let slot = low & this.mask;
    while (this.used[slot] && !(this.low[slot] === low && this.high[slot] === high)) slot = (slot + 1) & this.mask;
    if (!this.used[slot]) {
      this.used[slot] = 1;
      this.low[slot] = low;
      this.high[slot] = high;
      this.count++;
    }
    this.spam[slot] = spam;
    this.ham[slot] = ham;
  }
}

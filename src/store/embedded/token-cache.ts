// An open-addressing table of token counts, keyed by the two 32-bit halves of a token id,
// so lookups allocate nothing (reading a BigInt64Array element would allocate a BigInt).
// It starts small and doubles as it fills, up to its maximum: a full-size table is 17 bytes a slot,
// resident as soon as scattered hashes touch its pages. It holds the tokens looked up, known or not,
// so its size follows the variety of the traffic: a quiet gateway and the CLI stay small.

const INITIAL_SLOTS = 2 ** 14;

export class TokenCountCache {
  private readonly maxSize: number;
  private mask = 0;
  private limit = 0;
  private low = new Uint32Array(0);
  private high = new Uint32Array(0);
  private spam = new Uint32Array(0);
  private ham = new Uint32Array(0);
  private used = new Uint8Array(0);
  private count = 0;

  /**
   * `maxSlots` is rounded up to a power of two. The table doubles whenever it is 70% full; at
   * `maxSlots` it empties itself instead.
   */
  constructor(maxSlots: number) {
    this.maxSize = 2 ** Math.ceil(Math.log2(Math.max(16, maxSlots)));
    this.allocate(Math.min(INITIAL_SLOTS, this.maxSize));
  }

  get size(): number {
    return this.count;
  }

  /** Slots allocated now. */
  get capacity(): number {
    return this.mask + 1;
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
    if (this.count >= this.limit) {
      if (this.capacity < this.maxSize) this.grow();
      else this.clear();
    }
    this.place(low, high, spam, ham);
  }

  private place(low: number, high: number, spam: number, ham: number): void {
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

  private allocate(size: number): void {
    this.mask = size - 1;
    this.limit = Math.floor(size * 0.7);
    this.low = new Uint32Array(size);
    this.high = new Uint32Array(size);
    this.spam = new Uint32Array(size);
    this.ham = new Uint32Array(size);
    this.used = new Uint8Array(size);
    this.count = 0;
  }

  private grow(): void {
    const { low, high, spam, ham, used } = this;
    this.allocate(this.capacity * 2);
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot]) this.place(low[slot], high[slot], spam[slot], ham[slot]);
    }
  }
}

// An open-addressing table of token counts, keyed by the two 32-bit halves of a token id,
// so lookups allocate nothing (reading a BigInt64Array element would allocate a BigInt).
// A slot is four 32-bit words side by side, [low, high, spam + 1, ham], so a lookup touches one
// cache line, not one per array; spam + 1 is 0 only in an empty slot.
// It starts small and doubles as it fills, up to its maximum: a full-size table is 16 bytes a slot,
// resident as soon as scattered hashes touch its pages. Its size follows what it holds: the tokens
// looked up, known or not, or the whole token table when that fits.

const INITIAL_SLOTS = 2 ** 14;
const WORDS = 4;
const LOW = 0;
const HIGH = 1;
const SPAM_PLUS_ONE = 2;
const HAM = 3;

export class TokenCountCache {
  private readonly maxSize: number;
  private mask = 0;
  private limit = 0;
  private slots = new Uint32Array(0);
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

  /** Tokens it can hold at its largest before `set` would empty it. */
  get maxEntries(): number {
    return Math.floor(this.maxSize * 0.7);
  }

  /** Slots allocated now. */
  get capacity(): number {
    return this.mask + 1;
  }

  clear(): void {
    if (this.count === 0) return;
    this.slots.fill(0);
    this.count = 0;
  }

  /** The slot holding this id, or -1. Ids are hashes already, so the low half indexes directly. */
  find(low: number, high: number): number {
    const slots = this.slots;
    for (let slot = low & this.mask; slots[slot * WORDS + SPAM_PLUS_ONE] !== 0; slot = (slot + 1) & this.mask) {
      const at = slot * WORDS;
      if (slots[at + LOW] === low && slots[at + HIGH] === high) return slot;
    }
    return -1;
  }

  spamAt(slot: number): number {
    return this.slots[slot * WORDS + SPAM_PLUS_ONE] - 1;
  }

  hamAt(slot: number): number {
    return this.slots[slot * WORDS + HAM];
  }

  /** Adds to a cached token's counts, never below 0 as the table does; a token not cached stays uncached. */
  add(low: number, high: number, spam: number, ham: number): void {
    const slot = this.find(low, high);
    if (slot < 0) return;
    const at = slot * WORDS;
    this.slots[at + SPAM_PLUS_ONE] = Math.max(0, this.slots[at + SPAM_PLUS_ONE] - 1 + spam) + 1;
    this.slots[at + HAM] = Math.max(0, this.slots[at + HAM] + ham);
  }

  set(low: number, high: number, spam: number, ham: number): void {
    if (this.count >= this.limit) {
      if (this.capacity < this.maxSize) this.grow();
      else this.clear();
    }
    this.place(low, high, spam, ham);
  }

  private place(low: number, high: number, spam: number, ham: number): void {
    const slots = this.slots;
    let slot = low & this.mask;
    while (slots[slot * WORDS + SPAM_PLUS_ONE] !== 0 && !(slots[slot * WORDS + LOW] === low && slots[slot * WORDS + HIGH] === high)) {
      slot = (slot + 1) & this.mask;
    }
    const at = slot * WORDS;
    if (slots[at + SPAM_PLUS_ONE] === 0) {
      slots[at + LOW] = low;
      slots[at + HIGH] = high;
      this.count++;
    }
    slots[at + SPAM_PLUS_ONE] = spam + 1;
    slots[at + HAM] = ham;
  }

  private allocate(size: number): void {
    this.mask = size - 1;
    this.limit = Math.floor(size * 0.7);
    this.slots = new Uint32Array(size * WORDS);
    this.count = 0;
  }

  private grow(): void {
    const old = this.slots;
    this.allocate(this.capacity * 2);
    for (let at = 0; at < old.length; at += WORDS) {
      if (old[at + SPAM_PLUS_ONE] !== 0) this.place(old[at + LOW], old[at + HIGH], old[at + SPAM_PLUS_ONE] - 1, old[at + HAM]);
    }
  }
}

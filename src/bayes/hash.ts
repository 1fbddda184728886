// 64-bit token ids from two independent 32-bit lanes, computed without BigInt so tokenizing stays cheap.
// A lane is MurmurHash3's mixing over UTF-16 code units; two seeds make collisions negligible
// (about one in 2^64 per pair of distinct tokens).

const SEED_LOW = 0x9747b28c;
const SEED_HIGH = 0x5bd1e995;

function mix32(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finish32(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * A 64-bit hash as two 32-bit halves, held as signed integers: V8 keeps those unboxed, while an
 * unsigned half past 2^31 would be a heap number allocated at each store. Stored into the id
 * arrays they are the same bits either way.
 */
export interface Hash64 {
  high: number;
  low: number;
}

/** Hashes a string; `out` is reused by hot loops to avoid allocating. */
export function hashString(text: string, out: Hash64 = { high: 0, low: 0 }): Hash64 {
  let low = SEED_LOW;
  let high = SEED_HIGH;
  const n = text.length;
  let i = 0;
  // Two code units per 32-bit block.
  for (; i + 1 < n; i += 2) {
    const k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    low = mix32(low, k);
    high = mix32(high, k ^ 0x2545f491);
  }
  if (i < n) {
    const k = text.charCodeAt(i);
    low = mix32(low, k);
    high = mix32(high, k ^ 0x2545f491);
  }
  out.low = finish32(low, n);
  out.high = finish32(high, n ^ 0x3c6ef372);
  return out;
}

/** hashString(prefix + text.slice(start, end)), without building that string. */
export function hashJoined(prefix: string, text: string, start: number, end: number, out: Hash64): Hash64 {
  let low = SEED_LOW;
  let high = SEED_HIGH;
  const p = prefix.length;
  const n = p + end - start;
  const offset = start - p;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const a = i < p ? prefix.charCodeAt(i) : text.charCodeAt(offset + i);
    const b = i + 1 < p ? prefix.charCodeAt(i + 1) : text.charCodeAt(offset + i + 1);
    const k = a | (b << 16);
    low = mix32(low, k);
    high = mix32(high, k ^ 0x2545f491);
  }
  if (i < n) {
    const k = i < p ? prefix.charCodeAt(i) : text.charCodeAt(offset + i);
    low = mix32(low, k);
    high = mix32(high, k ^ 0x2545f491);
  }
  out.low = finish32(low, n);
  out.high = finish32(high, n ^ 0x3c6ef372);
  return out;
}

/** Combines two hashes and a small tag (e.g. the distance of a word pair) into a new one. */
export function combineHashes(a: Hash64, b: Hash64, tag: number, out: Hash64): Hash64 {
  let low = mix32(SEED_LOW ^ tag, a.low);
  low = mix32(low, a.high);
  low = mix32(low, b.low);
  low = mix32(low, b.high);
  let high = mix32(SEED_HIGH ^ tag, a.high);
  high = mix32(high, b.low ^ 0x2545f491);
  high = mix32(high, b.high);
  high = mix32(high, a.low ^ 0x2545f491);
  out.low = finish32(low, 16 + tag);
  out.high = finish32(high, 32 + tag);
  return out;
}

// Builders' scratch words, handed on from one message's builders to the next: a new zero-filled 32 KB
// array per message cost about a tenth of tokenizing a message.
const spareWords: Uint32Array[] = [];
const MAX_SPARE = 4;

function takeWords(length: number): Uint32Array {
  for (let i = spareWords.length - 1; i >= 0; i--) {
    if (spareWords[i].length >= length) return spareWords.splice(i, 1)[0];
  }
  return new Uint32Array(length);
}

/** Token ids as signed 64-bit integers (what SQLite INTEGER keys hold), sorted and without repeats. */
export class TokenIdBuilder {
  private words: Uint32Array;
  private count = 0;

  constructor(capacity = 4096) {
    this.words = takeWords(capacity * 2);
  }

  get size(): number {
    return this.count;
  }

  push(h: Hash64): void {
    if (this.count * 2 === this.words.length) {
      const grown = new Uint32Array(Math.max(64, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    // Little-endian layout: the low half first, so the same bytes read as a BigInt64Array.
    this.words[this.count * 2] = h.low;
    this.words[this.count * 2 + 1] = h.high;
    this.count++;
  }

  /** The ids pushed so far; the builder is left empty, its words handed on to the next builder. */
  build(): BigInt64Array {
    const count = this.count;
    const ids = new BigInt64Array(count);
    const halves = new Uint32Array(ids.buffer);
    if (!sortIdHalves(this.words, count, halves)) ids.sort();
    if (spareWords.length < MAX_SPARE) spareWords.push(this.words);
    this.words = EMPTY;
    this.count = 0;
    // Repeats are dropped by comparing 32-bit halves: reading a BigInt64Array element allocates a BigInt.
    let unique = 0;
    for (let i = 0; i < count; i++) {
      const low = halves[2 * i];
      const high = halves[2 * i + 1];
      if (unique > 0 && halves[2 * unique - 2] === low && halves[2 * unique - 1] === high) continue;
      halves[2 * unique] = low;
      halves[2 * unique + 1] = high;
      unique++;
    }
    return ids.subarray(0, unique);
  }
}

const EMPTY = new Uint32Array(0);

/**
 * Copies `count` ids (as [low, high] halves) from `from` into `to` in signed 64-bit order; false when
 * they are too unevenly spread for that to be cheap, and `to` holds them in some other order.
 * Token ids are hashes, spread evenly: placed by the top bits of their high half (a counting sort),
 * each lands next to its final place, and one insertion pass finishes the order. A typed array's own
 * sort() costs several times more (about 40 ns an id).
 */
function sortIdHalves(from: Uint32Array, count: number, to: Uint32Array): boolean {
  const bits = Math.min(16, Math.max(4, Math.ceil(Math.log2(count + 1))));
  const shift = 32 - bits;
  // Bucket of an id: the top bits of its high half with the sign flipped, so negative ids come first.
  const starts = new Uint32Array((1 << bits) + 1);
  for (let i = 0; i < count; i++) starts[((from[2 * i + 1] ^ 0x80000000) >>> shift) + 1]++;
  for (let b = 1; b < starts.length; b++) starts[b] += starts[b - 1];
  for (let i = 0; i < count; i++) {
    const at = starts[(from[2 * i + 1] ^ 0x80000000) >>> shift]++;
    to[2 * at] = from[2 * i];
    to[2 * at + 1] = from[2 * i + 1];
  }
  // Insertion sort; ids far from evenly spread (hand-made ones) would make it quadratic: give up then.
  let budget = 8 * count + 64;
  for (let i = 1; i < count && budget >= 0; i++) {
    const low = to[2 * i];
    const high = to[2 * i + 1];
    let j = i - 1;
    for (; j >= 0 && budget-- >= 0 && idAfter(to[2 * j + 1], to[2 * j], high, low); j--) {
      to[2 * j + 2] = to[2 * j];
      to[2 * j + 3] = to[2 * j + 1];
    }
    to[2 * j + 2] = low;
    to[2 * j + 3] = high;
  }
  return budget >= 0;
}

/** Whether the id (highA, lowA) comes after (highB, lowB) as signed 64-bit integers. */
function idAfter(highA: number, lowA: number, highB: number, lowB: number): boolean {
  return highA !== highB ? (highA | 0) > (highB | 0) : lowA > lowB;
}

/**
 * Merges two sorted unique id lists into one, with each id's origin: `firstKinds` (0 when not given)
 * for an id of the first list, `secondKind` for one of the second. An id in both (a hash collision
 * across them) keeps the first.
 */
export function mergeTokenIds(first: BigInt64Array, second: BigInt64Array, firstKinds?: Uint8Array, secondKind = 1): { ids: BigInt64Array; kinds: Uint8Array } {
  // Compared as (signed high half, unsigned low half), the order of signed 64-bit integers, without BigInts.
  const a = new Uint32Array(first.buffer, first.byteOffset, first.length * 2);
  const b = new Uint32Array(second.buffer, second.byteOffset, second.length * 2);
  const ids = new BigInt64Array(first.length + second.length);
  const out = new Uint32Array(ids.buffer);
  const kinds = new Uint8Array(ids.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < first.length || j < second.length) {
    let order = -1; // < 0: take from first, 0: equal (keep first, skip second), > 0: take from second
    if (i === first.length) order = 1;
    else if (j < second.length) {
      const highA = a[2 * i + 1] | 0;
      const highB = b[2 * j + 1] | 0;
      order = highA !== highB ? highA - highB : a[2 * i] === b[2 * j] ? 0 : a[2 * i] < b[2 * j] ? -1 : 1;
    }
    if (order <= 0) {
      if (order === 0) j++;
      out[2 * n] = a[2 * i];
      out[2 * n + 1] = a[2 * i + 1];
      if (firstKinds) kinds[n] = firstKinds[i];
      i++;
      n++;
    } else {
      out[2 * n] = b[2 * j];
      out[2 * n + 1] = b[2 * j + 1];
      kinds[n++] = secondKind;
      j++;
    }
  }
  return { ids: ids.subarray(0, n), kinds: kinds.subarray(0, n) };
}

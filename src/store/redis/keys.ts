// Every Redis key name Sluice uses, built here and nowhere else.
// Keys that one script touches together share a hash tag ({bayes}, {quarantine}, {greylist}), so they
// live in one slot and the scripts also run on Redis Cluster. A rate-limit bucket is its own hash tag:
// its script touches that key alone, and the buckets spread over the slots.

export class RedisKeys {
  readonly prefix: string;
  /** Hash: digest of each learned message -> 'spam' | 'ham'. */
  readonly bayesLearned: string;
  /** Integers: messages learned as spam, as ham. */
  readonly bayesLearnedSpam: string;
  readonly bayesLearnedHam: string;
  /** Sorted set of quarantine ids by time (ms). */
  readonly quarantineByTime: string;
  /** Sorted set of quarantine ids by score (for minScore). */
  readonly quarantineByScore: string;
  /** String: set once every entry is in the sender, recipient, symbol and score indexes. */
  readonly quarantineIndexed: string;
  private readonly tokenPrefix: string;
  private readonly tokenPrefixBytes: Buffer;
  private readonly quarantineEntryPrefix: string;
  private readonly quarantineSenderPrefix: string;
  private readonly quarantineRecipientPrefix: string;
  private readonly quarantineSymbolPrefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
    this.bayesLearned = `${prefix}{bayes}:learned`;
    this.bayesLearnedSpam = `${prefix}{bayes}:count:spam`;
    this.bayesLearnedHam = `${prefix}{bayes}:count:ham`;
    this.tokenPrefix = `${prefix}{bayes}:t:`;
    this.tokenPrefixBytes = Buffer.from(this.tokenPrefix);
    this.quarantineByTime = `${prefix}{quarantine}:time`;
    this.quarantineEntryPrefix = `${prefix}{quarantine}:e:`;
    this.quarantineByScore = `${prefix}{quarantine}:score`;
    this.quarantineIndexed = `${prefix}{quarantine}:indexed`;
    // Each family has its own prefix, so a value containing ':' cannot collide with another family.
    this.quarantineSenderPrefix = `${prefix}{quarantine}:from:`;
    this.quarantineRecipientPrefix = `${prefix}{quarantine}:rcpt:`;
    this.quarantineSymbolPrefix = `${prefix}{quarantine}:sym:`;
  }

  /** Integer per token: spam * 2^26 + ham, the messages of each class it was learned from (keys of ids[from..to)). */
  bayesTokens(ids: BigInt64Array, from = 0, to = ids.length): string[] {
    const halves = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const suffixes = Buffer.allocUnsafe((to - from) * TOKEN_SUFFIX);
    for (let i = from, at = 0; i < to; i++, at += TOKEN_SUFFIX) writeTokenSuffix(suffixes, at, halves[2 * i], halves[2 * i + 1]);
    // One string for all suffixes, then slices of it: far cheaper than one conversion per token.
    const text = suffixes.toString('latin1');
    const keys = new Array<string>(to - from);
    for (let k = 0; k < keys.length; k++) keys[k] = this.tokenPrefix + text.substring(k * TOKEN_SUFFIX, (k + 1) * TOKEN_SUFFIX);
    return keys;
  }

  /** Bytes of every token key. */
  get bayesTokenBytes(): number {
    return this.tokenPrefixBytes.length + TOKEN_SUFFIX;
  }

  /**
   * Writes the key of the token whose id has these 32-bit halves (as a BigInt64Array holds them) at
   * `out[at]`, the same bytes as `bayesTokens`, and returns where it ends: reads of many tokens build
   * their command bytes directly.
   */
  writeBayesToken(out: Uint8Array, at: number, low: number, high: number): number {
    const prefix = this.tokenPrefixBytes;
    for (let i = 0; i < prefix.length; i++) out[at + i] = prefix[i];
    writeTokenSuffix(out, at + prefix.length, low, high);
    return at + prefix.length + TOKEN_SUFFIX;
  }

  /** Pattern that matches every token key (for SCAN in stats and reset). */
  get bayesTokenPattern(): string {
    return `${this.tokenPrefix}*`;
  }

  /** String: one quarantine entry as JSON. */
  quarantineEntry(id: string): string {
    return this.quarantineEntryPrefix + id;
  }

  /** Sorted set of quarantine ids by time, per envelope sender (lower-cased, as the filter compares). */
  quarantineBySender(sender: string): string {
    return this.quarantineSenderPrefix + sender.toLowerCase();
  }

  /** Sorted set of quarantine ids by time, per recipient (lower-cased). */
  quarantineByRecipient(recipient: string): string {
    return this.quarantineRecipientPrefix + recipient.toLowerCase();
  }

  /** Sorted set of quarantine ids by time, per symbol (names are compared exactly). */
  quarantineBySymbol(symbol: string): string {
    return this.quarantineSymbolPrefix + symbol;
  }

  /** Hash: a held message's bytes in fixed-size pieces, fields '0', '1', …; expires with the retention. */
  quarantineRaw(id: string): string {
    return `${this.prefix}{quarantine}:raw:${id}`;
  }

  /** String: who is releasing an entry (SET NX with an expiry), so that one node of several does it. */
  quarantineClaim(id: string): string {
    return `${this.prefix}{quarantine}:claim:${id}`;
  }

  /** Sorted set that one list query builds and deletes within a script; unique per query. */
  quarantineScratch(token: string): string {
    return `${this.prefix}{quarantine}:tmp:${token}`;
  }

  /** Pattern that matches every quarantine key (tests check that nothing is left behind). */
  get quarantinePattern(): string {
    return `${this.prefix}{quarantine}:*`;
  }

  /** String written, read back and deleted by the store's write probe (`sluice doctor`). */
  probe(token: string): string {
    return `${this.prefix}probe:${token}`;
  }

  /** Hash of one greylisting triplet; the parts as JSON, so no address can make two triplets one key. */
  greylistTriplet(client: string, sender: string, recipient: string): string {
    return `${this.prefix}{greylist}:t:${JSON.stringify([client, sender, recipient])}`;
  }

  /** Pattern of every triplet of one client (for dropping it). */
  greylistTripletsOf(client: string): string {
    return `${this.prefix}{greylist}:t:${globEscape(JSON.stringify([client]).slice(0, -1))},*`;
  }

  /** Hash of one greylisting client (network or `spf:<domain>`): passes, whitelisted. */
  greylistClient(client: string): string {
    return `${this.prefix}{greylist}:c:${client}`;
  }

  /** Patterns of every greylisting client and triplet key. */
  get greylistClientPattern(): string {
    return `${this.prefix}{greylist}:c:*`;
  }

  get greylistTripletPattern(): string {
    return `${this.prefix}{greylist}:t:*`;
  }

  /** String: the time (ms) a rate-limit bucket's allowance is used up to. */
  rateLimitBucket(bucket: string): string {
    return `${this.prefix}ratelimit:{${bucket}}`;
  }
}

/** A literal for a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** A token id's 8 bytes (little-endian) as 11 base64url characters: shorter keys, less memory per token. */
const TOKEN_SUFFIX = 11;
const BASE64URL = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', (c) => c.charCodeAt(0));

/** The same characters as Buffer's base64url of the id's bytes, without a call per token. */
function writeTokenSuffix(out: Uint8Array, at: number, low: number, high: number): void {
  const b0 = low & 255, b1 = (low >>> 8) & 255, b2 = (low >>> 16) & 255, b3 = low >>> 24;
  const b4 = high & 255, b5 = (high >>> 8) & 255, b6 = (high >>> 16) & 255, b7 = high >>> 24;
  out[at] = BASE64URL[b0 >> 2];
  out[at + 1] = BASE64URL[((b0 & 3) << 4) | (b1 >> 4)];
  out[at + 2] = BASE64URL[((b1 & 15) << 2) | (b2 >> 6)];
  out[at + 3] = BASE64URL[b2 & 63];
  out[at + 4] = BASE64URL[b3 >> 2];
  out[at + 5] = BASE64URL[((b3 & 3) << 4) | (b4 >> 4)];
  out[at + 6] = BASE64URL[((b4 & 15) << 2) | (b5 >> 6)];
  out[at + 7] = BASE64URL[b5 & 63];
  out[at + 8] = BASE64URL[b6 >> 2];
  out[at + 9] = BASE64URL[((b6 & 3) << 4) | (b7 >> 4)];
  out[at + 10] = BASE64URL[(b7 & 15) << 2];
}

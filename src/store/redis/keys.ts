// Every Redis key name Sluice uses, built here and nowhere else.
// Keys that one script touches together share a hash tag ({bayes}, {quarantine}), so they live in
// one slot and the scripts also run on Redis Cluster.

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
    this.quarantineByTime = `${prefix}{quarantine}:time`;
    this.quarantineEntryPrefix = `${prefix}{quarantine}:e:`;
    this.quarantineByScore = `${prefix}{quarantine}:score`;
    this.quarantineIndexed = `${prefix}{quarantine}:indexed`;
    // Each family has its own prefix, so a value containing ':' cannot collide with another family.
    this.quarantineSenderPrefix = `${prefix}{quarantine}:from:`;
    this.quarantineRecipientPrefix = `${prefix}{quarantine}:rcpt:`;
    this.quarantineSymbolPrefix = `${prefix}{quarantine}:sym:`;
  }

  /** Integer per token: spam * 2^26 + ham, the messages of each class it was learned from. */
  bayesTokens(ids: BigInt64Array): string[] {
    const bytes = Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength);
    const keys = new Array<string>(ids.length);
    // 8 bytes as 11 base64url characters: shorter keys, less memory per token.
    for (let i = 0; i < ids.length; i++) keys[i] = this.tokenPrefix + bytes.toString('base64url', i * 8, i * 8 + 8);
    return keys;
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

  /** Sorted set that one list query builds and deletes within a script; unique per query. */
  quarantineScratch(token: string): string {
    return `${this.prefix}{quarantine}:tmp:${token}`;
  }

  /** Pattern that matches every quarantine key (tests check that nothing is left behind). */
  get quarantinePattern(): string {
    return `${this.prefix}{quarantine}:*`;
  }
}

// Bayes token counts in Redis: one integer per token (spam * 2^26 + ham), so a message's counts and
// the learned totals come back from one MGET; learning a message is one Lua script call.
import { Cluster } from 'ioredis';
import type { BayesClass, BayesCounts, BayesStats, BayesStore, LearnItem, LearnOutcome } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';

const learnScript = new LuaScript('learn');
/** The two counts packed in one integer per token (see scripts/learn.lua). */
const SPLIT = 2 ** 26;

export interface RedisBayesOptions {
  /** Tokens seen once expire after this many days unless learned again. */
  tokenTtlDays: number;
}

export class RedisBayesStore implements BayesStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly options: RedisBayesOptions;

  constructor(client: RedisClient, keys: RedisKeys, options: RedisBayesOptions) {
    this.client = client;
    this.keys = keys;
    this.options = options;
  }

  async counts(ids: BigInt64Array): Promise<BayesCounts> {
    const reply = await this.client.mget(this.keys.bayesLearnedSpam, this.keys.bayesLearnedHam, ...this.keys.bayesTokens(ids));
    const spam = new Float64Array(ids.length);
    const ham = new Float64Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const value = reply[2 + i];
      if (value === null) continue;
      const packed = Number(value);
      spam[i] = Math.floor(packed / SPLIT);
      ham[i] = packed % SPLIT;
    }
    return { spam, ham, learnedSpam: Number(reply[0] ?? 0), learnedHam: Number(reply[1] ?? 0) };
  }

  async learn(digest: string, ids: BigInt64Array, as: BayesClass): Promise<LearnOutcome> {
    return (await this.learnMany([{ digest, ids, as }]))[0];
  }

  /** Sent together: one round trip for the batch, each message still one atomic script. */
  async learnMany(items: readonly LearnItem[]): Promise<LearnOutcome[]> {
    const ttlSeconds = Math.max(1, Math.round(this.options.tokenTtlDays * 86_400));
    const fixed = [this.keys.bayesLearned, this.keys.bayesLearnedSpam, this.keys.bayesLearnedHam];
    return Promise.all(
      items.map(({ digest, ids, as }) => learnScript.run(this.client, [...fixed, ...this.keys.bayesTokens(ids)], [digest, as, ttlSeconds])),
    ) as Promise<LearnOutcome[]>;
  }

  async learnedAs(digest: string): Promise<BayesClass | null> {
    return ((await this.client.hget(this.keys.bayesLearned, digest)) as BayesClass | null) ?? null;
  }

  async stats(): Promise<BayesStats> {
    const totals = await this.client.mget(this.keys.bayesLearnedSpam, this.keys.bayesLearnedHam);
    let tokens = 0;
    let sampledBytes = 0;
    let sampled = 0;
    for await (const batch of this.scanTokens()) {
      tokens += batch.length;
      for (const key of batch) {
        if (sampled >= 200) break;
        sampledBytes += Number((await this.client.memory('USAGE', key)) ?? 0);
        sampled++;
      }
    }
    return {
      learnedSpam: Number(totals[0] ?? 0),
      learnedHam: Number(totals[1] ?? 0),
      tokens,
      bytes: sampled ? Math.round((sampledBytes / sampled) * tokens) : 0,
    };
  }

  /** Redis expires tokens seen once by itself (the TTL set when they are learned). */
  async prune(): Promise<number> {
    return 0;
  }

  async reset(): Promise<void> {
    for await (const batch of this.scanTokens()) if (batch.length) await this.client.unlink(...batch);
    await this.client.unlink(this.keys.bayesLearned, this.keys.bayesLearnedSpam, this.keys.bayesLearnedHam);
  }

  /** Token keys in batches, from every master when on a Cluster. */
  private async *scanTokens(): AsyncGenerator<string[]> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', this.keys.bayesTokenPattern, 'COUNT', 1000);
        cursor = next;
        yield keys;
      } while (cursor !== '0');
    }
  }
}

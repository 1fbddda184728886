// Bayes token counts in Redis: one integer per token (spam * 2^26 + ham), so a message's counts and
// the learned totals come back from MGETs sent together (one round trip); learning a message is one
// Lua script call.
import { Cluster } from 'ioredis';
import type { BayesClass, BayesCounts, BayesStats, BayesStore, LearnItem, LearnOutcome } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { LuaScript } from './script.ts';
import { bulkHeader, commandHead, WireCommand } from './wire.ts';

const learnScript = new LuaScript('learn');
/** The two counts packed in one integer per token (see scripts/learn.lua). */
const SPLIT = 2 ** 26;
/**
 * Token keys per MGET. The MGETs of a message are sent back to back: Redis starts on the first while
 * the next are written, and no command grows with the message.
 */
const READ_CHUNK = 256;

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
    const spam = new Float64Array(ids.length);
    const ham = new Float64Array(ids.length);
    const halves = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2);
    const fixed = [this.keys.bayesLearnedSpam, this.keys.bayesLearnedHam];
    const replies: Promise<(Buffer | null)[]>[] = [];
    // Not one atomic read: a message learned meanwhile may show in some counts only, which changes
    // a score no more than learning it a moment earlier or later would.
    for (let from = 0; from < ids.length || from === 0; from += READ_CHUNK) {
      const wire = this.tokenMget(from === 0 ? fixed : [], halves, from, Math.min(ids.length, from + READ_CHUNK));
      replies.push(this.client.sendCommand(new WireCommand('mget', fixed[0], wire)) as Promise<(Buffer | null)[]>);
    }
    const chunks = await Promise.all(replies);
    for (let c = 0; c < chunks.length; c++) {
      const reply = chunks[c];
      const skip = c === 0 ? fixed.length : 0;
      for (let r = skip, i = c * READ_CHUNK; r < reply.length; r++, i++) {
        const value = reply[r];
        if (value === null) continue;
        const packed = parseCount(value);
        spam[i] = Math.floor(packed / SPLIT);
        ham[i] = packed % SPLIT;
      }
    }
    const totals = chunks[0];
    return { spam, ham, learnedSpam: totals[0] ? parseCount(totals[0]) : 0, learnedHam: totals[1] ? parseCount(totals[1]) : 0 };
  }

  /** MGET of `fixed` keys and then the keys of the tokens from..to, as RESP. */
  private tokenMget(fixed: readonly string[], halves: Uint32Array, from: number, to: number): Buffer {
    const head = commandHead(1 + fixed.length + (to - from), ['MGET', ...fixed]);
    const keyBytes = this.keys.bayesTokenBytes;
    const bulk = bulkHeader(keyBytes);
    const out = Buffer.allocUnsafe(Buffer.byteLength(head) + (to - from) * (bulk.length + keyBytes + 2));
    let at = out.write(head);
    for (let i = from; i < to; i++) {
      for (let b = 0; b < bulk.length; b++) out[at + b] = bulk[b];
      at = this.keys.writeBayesToken(out, at + bulk.length, halves[2 * i], halves[2 * i + 1]);
      out[at++] = 13;
      out[at++] = 10;
    }
    return out;
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

/** A stored count: decimal digits, as INCRBY and SET leave them (anything else is read as Redis would show it). */
function parseCount(value: Buffer): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const digit = value[i] - 48;
    if (digit < 0 || digit > 9) return Number(value.toString('latin1')) || 0;
    n = n * 10 + digit;
  }
  return n;
}

// The Redis store: state shared by several gateway nodes. Keys come from RedisKeys; multi-key
// updates are the Lua scripts in ./scripts.
import { randomUUID } from 'node:crypto';
import type { Store, StoreTopology } from '../types.ts';
import { createRedisClient, waitReady, type RedisClient } from './connect.ts';
import { RedisKeys } from './keys.ts';
import { RedisBayesStore } from './bayes.ts';
import { RedisQuarantineIndex } from './quarantine.ts';
import { RedisQuarantineMessages, type ReplicaPolicy } from './quarantine-messages.ts';
import { RedisGreylistStore } from './greylist.ts';
import { RedisRateLimitStore } from './ratelimit.ts';
import { redisTopology } from './topology.ts';

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  /** Bayes tokens seen once expire after this many days unless learned again. */
  tokenTtlDays?: number;
  /** How long opening waits for the first connection. */
  connectTimeoutMs?: number;
  /** Which replicas a held message waits for before the sender hears 250 (default: one, when there are any). */
  quarantineReplicas?: ReplicaPolicy;
}

export class RedisStore implements Store {
  readonly backend = 'redis' as const;
  readonly client: RedisClient;
  readonly keys: RedisKeys;
  readonly quarantine: RedisQuarantineIndex;
  readonly quarantineMessages: RedisQuarantineMessages;
  readonly bayes: RedisBayesStore;
  readonly greylist: RedisGreylistStore;
  readonly ratelimit: RedisRateLimitStore;

  private constructor(client: RedisClient, options: RedisStoreOptions) {
    this.client = client;
    this.keys = new RedisKeys(options.prefix);
    this.quarantine = new RedisQuarantineIndex(client, this.keys);
    this.quarantineMessages = new RedisQuarantineMessages(client, this.keys, options.quarantineReplicas ?? { replicas: 'auto', timeoutMs: 2000 });
    this.bayes = new RedisBayesStore(client, this.keys, { tokenTtlDays: options.tokenTtlDays ?? 30 });
    this.greylist = new RedisGreylistStore(client, this.keys);
    this.ratelimit = new RedisRateLimitStore(client, this.keys);
  }

  /** Connects and waits for the server; once open, the client reconnects by itself after an outage. */
  static async open(options: RedisStoreOptions): Promise<RedisStore> {
    const client = createRedisClient(options.url);
    // Connection errors surface as failed commands (BAYES_ERROR); without a listener they would be thrown.
    client.on('error', () => {});
    try {
      await waitReady(client, options.connectTimeoutMs ?? 5000);
    } catch (err) {
      client.disconnect();
      throw err;
    }
    const store = new RedisStore(client, options);
    try {
      // Once per Redis: entries held before the filter indexes existed get indexed.
      await store.quarantine.reindex();
    } catch (err) {
      client.disconnect();
      throw err;
    }
    return store;
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async probe(): Promise<void> {
    const key = this.keys.probe(randomUUID());
    const value = String(Date.now());
    // Expires on its own should the delete never come.
    await this.client.set(key, value, 'PX', 60_000);
    const read = await this.client.get(key);
    await this.client.del(key);
    if (read !== value) throw new Error('a probe key written was not read back');
  }

  topology(timeoutMs: number): Promise<StoreTopology> {
    return redisTopology(this.client, timeoutMs);
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

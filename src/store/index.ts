// Chooses the store backend from config.
import type { Config } from '../config/schema.ts';
import type { Store } from './types.ts';
import { EmbeddedStore } from './embedded/index.ts';

export interface OpenStoreOptions {
  /** Bayes tokens seen once and not learned again for this many days are pruned (`bayes.tokenTtlDays`). */
  tokenTtlDays?: number;
  /** Redis: how long opening waits for the first connection. */
  connectTimeoutMs?: number;
  /** Redis: the replicas a held message waits for (`quarantine.replicas`, `quarantine.replicaTimeoutMs`). */
  quarantineReplicas?: { replicas: 'auto' | number; timeoutMs: number };
}

export async function openStore(config: Config['store'], options: OpenStoreOptions = {}): Promise<Store> {
  if (config.backend === 'redis') {
    const { RedisStore } = await import('./redis/index.ts');
    return RedisStore.open({ url: config.url, prefix: config.prefix, tokenTtlDays: options.tokenTtlDays, connectTimeoutMs: options.connectTimeoutMs, quarantineReplicas: options.quarantineReplicas });
  }
  return new EmbeddedStore(config.path, { tokenTtlDays: options.tokenTtlDays });
}

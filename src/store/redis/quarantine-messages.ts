// Held messages' bytes in Redis, beside the index, so that every node shows and releases what any node held.
// A message is one hash of fixed-size pieces: no command or reply carries more than a piece, so a large
// message never holds up Redis, or its replicas, for long. It expires with the retention.
import type { QuarantineEntry, QuarantineMessages } from '../types.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';

/** Just under 512 KiB: with Redis's few bytes of header a piece still fits the allocator's 512 KiB class, not 640 KiB. */
export const RAW_PIECE_BYTES = 512 * 1024 - 64;

export interface ReplicaPolicy {
  /** 'auto': wait for one replica when the master has any; a number: wait for that many (0: never wait). */
  replicas: 'auto' | number;
  /** How long a held message waits for its replicas before the sender is told to retry (451). */
  timeoutMs: number;
}

export class RedisQuarantineMessages implements QuarantineMessages {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly policy: ReplicaPolicy;

  constructor(client: RedisClient, keys: RedisKeys, policy: ReplicaPolicy) {
    this.client = client;
    this.keys = keys;
    this.policy = policy;
  }

  async put(entry: QuarantineEntry, raw: Buffer, ttlMs: number): Promise<void> {
    const key = this.keys.quarantineRaw(entry.id);
    const pipeline = this.client.pipeline().del(key);
    // An empty message is one empty piece, so that a held message always has a field '0'.
    for (let at = 0, i = 0; at < raw.length || i === 0; at += RAW_PIECE_BYTES, i++) pipeline.hset(key, String(i), raw.subarray(at, at + RAW_PIECE_BYTES));
    pipeline.pexpire(key, Math.ceil(ttlMs));
    replies(await pipeline.exec());
  }

  async get(id: string): Promise<Buffer | null> {
    const key = this.keys.quarantineRaw(id);
    const pieces = await this.client.hlen(key);
    if (!pieces) return null;
    const pipeline = this.client.pipeline();
    for (let i = 0; i < pieces; i++) pipeline.hgetBuffer(key, String(i));
    const values = replies(await pipeline.exec()) as (Buffer | null)[];
    // A piece missing: the message expired or was removed while being read.
    return values.every((v) => v) ? Buffer.concat(values as Buffer[]) : null;
  }

  async remove(id: string): Promise<void> {
    await this.client.del(this.keys.quarantineRaw(id));
  }

  async durable(id: string): Promise<void> {
    const { replicas, timeoutMs } = this.policy;
    // A command on the message's own key sends WAIT to the master that took its writes (on a Cluster too).
    const key = this.keys.quarantineRaw(id);
    const wanted = replicas === 'auto' ? Math.min(1, await this.connectedReplicas(key)) : replicas;
    if (wanted === 0) return;
    const [, acked] = replies(await this.client.pipeline().pttl(key).call('WAIT', wanted, timeoutMs).exec());
    if (Number(acked) < wanted) throw new Error(`held message reached ${acked} of ${wanted} Redis replicas within ${timeoutMs} ms`);
  }

  private async connectedReplicas(key: string): Promise<number> {
    const [, info] = replies(await this.client.pipeline().pttl(key).info('replication').exec());
    return Number(/^connected_slaves:(\d+)/m.exec(String(info))?.[1] ?? 0);
  }
}

/** The replies of a pipeline, throwing its first error. */
function replies(results: [Error | null, unknown][] | null): unknown[] {
  return (results ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

// What the gateway sees of its Redis: one server (its role, version, replicas), a Sentinel set-up (the
// master the sentinels name, how many sentinels and healthy replicas) or a Cluster (masters, replicas,
// slots served, cluster_state). For `sluice doctor` and /readyz; it never changes what the gateway does.
import { Cluster, Redis } from 'ioredis';
import type { StoreTopology } from '../types.ts';
import type { RedisClient } from './connect.ts';

/** Slots of a Redis Cluster: every key hashes to one of them. */
const CLUSTER_SLOTS = 16384;

/** `field:value` lines of INFO or CLUSTER INFO. */
function fields(text: string): Map<string, string> {
  return new Map(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

/** A flat [field, value, field, value…] reply, as SENTINEL answers. */
function pairs(reply: unknown): Map<string, string> {
  const list = reply as string[];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(list[i], list[i + 1]);
  return out;
}

export async function redisTopology(client: RedisClient, timeoutMs: number): Promise<StoreTopology> {
  if (client instanceof Cluster) return clusterTopology(client);
  if (client.options.sentinels?.length) return sentinelTopology(client, timeoutMs);
  const server = fields(await client.info('server'));
  const replication = fields(await client.info('replication'));
  return {
    mode: 'standalone',
    role: replication.get('role') ?? 'unknown',
    version: server.get('redis_version') ?? 'unknown',
    replicas: Number(replication.get('connected_slaves') ?? 0),
  };
}

/** Asks the sentinels in turn (the first that answers) about the master the client follows. */
async function sentinelTopology(client: Redis, timeoutMs: number): Promise<StoreTopology> {
  const name = client.options.name!;
  let lastError: unknown;
  for (const { host, port } of client.options.sentinels as { host: string; port: number }[]) {
    const sentinel = new Redis({
      host, port, password: client.options.sentinelPassword ?? undefined, lazyConnect: true,
      connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: true,
    });
    sentinel.on('error', () => {});
    try {
      await sentinel.connect();
      const master = pairs(await sentinel.call('SENTINEL', 'MASTER', name));
      const replicas = (await sentinel.call('SENTINEL', 'REPLICAS', name)) as unknown[];
      // A dead old master stays listed as a replica (flags s_down, disconnected): it serves nothing.
      const healthy = replicas.map(pairs).filter((r) => r.get('flags') === 'slave' && r.get('master-link-status') === 'ok');
      return {
        mode: 'sentinel',
        masterName: name,
        master: `${master.get('ip')}:${master.get('port')}`,
        sentinels: Number(master.get('num-other-sentinels') ?? 0) + 1,
        replicas: healthy.length,
      };
    } catch (err) {
      lastError = err;
    } finally {
      sentinel.disconnect();
    }
  }
  throw new Error(`no sentinel answered: ${(lastError as Error)?.message ?? lastError}`);
}

/** CLUSTER INFO and CLUSTER NODES of the first master that answers: a dead one would not. */
async function clusterTopology(client: Cluster): Promise<StoreTopology> {
  let lastError: unknown;
  for (const node of client.nodes('master')) {
    try {
      const info = fields(String(await node.cluster('INFO')));
      const nodes = String(await node.cluster('NODES')).split('\n').filter(Boolean).map((line) => line.split(' ')[2].split(','));
      const serving = (flags: string[], role: string) => flags.includes(role) && !flags.includes('fail') && !flags.includes('fail?');
      return {
        mode: 'cluster',
        state: info.get('cluster_state') ?? 'unknown',
        masters: nodes.filter((f) => serving(f, 'master')).length,
        replicas: nodes.filter((f) => serving(f, 'slave')).length,
        slotsServed: Number(info.get('cluster_slots_ok') ?? 0),
        slots: CLUSTER_SLOTS,
      };
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`no cluster master answered: ${(lastError as Error)?.message ?? lastError}`);
}

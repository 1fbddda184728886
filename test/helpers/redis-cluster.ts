// A throw-away Redis Cluster on loopback: three masters and three replicas, each a real redis-server
// (`--cluster-enabled yes`), joined by `redis-cli --cluster create … --cluster-replicas 1`, with a short
// node timeout so that a replica takes over a dead master within seconds.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisProbes, freePort, startRedisServer, waitUntil, type RedisServer } from './redis-server.ts';

export interface RedisClusterSet {
  /** The store URL the gateways take (src/store/redis/connect.ts): the masters as seed nodes. */
  url: string;
  servers: RedisServer[];
  /** The server that serves `key`'s slot now, and the one replicating it. */
  shardOf(key: string): Promise<{ master: RedisServer; replica: RedisServer }>;
  /** Resolves once `key`'s slot is served by another server than `oldPort`; with its port. */
  promoted(key: string, oldPort: number, timeoutMs: number): Promise<number>;
  /**
   * Moves `key`'s slot to the master `to`, as `redis-cli --cluster reshard` does (IMPORTING, MIGRATING,
   * MIGRATE a few keys at a time, then the slot's new owner told to every master), slowly enough that
   * clients meet ASK and MOVED redirections while it runs.
   */
  moveSlot(key: string, to: RedisServer): Promise<void>;
  /** The servers that are masters now. */
  masters(): Promise<RedisServer[]>;
  stop(): Promise<void>;
}

export async function startRedisCluster(nodeTimeoutMs = 1000): Promise<RedisClusterSet> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'));
  const servers: RedisServer[] = [];
  const probes = new RedisProbes();
  const client = (port: number) => probes.on(port);
  const stop = async () => {
    probes.close();
    for (const s of servers.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 6; i++) {
      const folder = join(dir, `node-${i}`);
      mkdirSync(folder);
      // The cluster bus gets a free port of its own: the default, port + 10000, may be taken or too high.
      servers.push(await startRedisServer({
        args: ['--dir', folder, '--cluster-enabled', 'yes', '--cluster-config-file', join(folder, 'nodes.conf'),
          '--cluster-node-timeout', String(nodeTimeoutMs), '--cluster-port', String(await freePort())],
      }));
    }
    // The first three become masters, each of the others a replica of one of them.
    await promisify(execFile)('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 20_000 });
    await waitUntil(async () => {
      for (const s of servers) {
        const info = await client(s.port).cluster('INFO');
        if (!/cluster_state:ok/.test(info) || !/cluster_known_nodes:6/.test(info)) return false;
      }
      return true;
    }, 20_000, 'the cluster did not come up');

    const shardOf = async (key: string) => {
      for (const s of servers) {
        try {
          const slot = await client(s.port).cluster('KEYSLOT', key);
          const range = (await client(s.port).cluster('SLOTS')).find(([start, end]) => slot >= start && slot <= end)!;
          const [masterPort, replicaPort] = range.slice(2, 4).map((node) => Number((node as [string, number, ...unknown[]])[1]));
          const byPort = (port: number) => servers.find((x) => x.port === port)!;
          return { master: byPort(masterPort), replica: byPort(replicaPort ?? -1) };
        } catch {
          // that server is away: ask the next one
        }
      }
      throw new Error('no cluster node answered');
    };
    // Replicas are known by the slots' owners only once the cluster has settled.
    await waitUntil(async () => (await shardOf('{quarantine}')).replica !== undefined, 20_000, 'the replicas did not join their masters');
    return {
      url: `redis-cluster://${servers.slice(0, 3).map((s) => `127.0.0.1:${s.port}`).join(',')}`,
      servers,
      shardOf,
      async promoted(key, oldPort, timeoutMs) {
        let port = oldPort;
        await waitUntil(async () => (port = (await shardOf(key)).master?.port ?? oldPort) !== oldPort, timeoutMs, `no failover away from port ${oldPort}`);
        return port;
      },
      async masters() {
        const roles = await Promise.all(servers.map((s) => client(s.port).call('ROLE').then((r) => (r as string[])[0], () => 'gone')));
        return servers.filter((_, i) => roles[i] === 'master');
      },
      async moveSlot(key, to) {
        const { master: from } = await shardOf(key);
        const slot = await client(from.port).cluster('KEYSLOT', key);
        const [fromId, toId] = await Promise.all([client(from.port).cluster('MYID'), client(to.port).cluster('MYID')]);
        await client(to.port).cluster('SETSLOT', slot, 'IMPORTING', fromId);
        await client(from.port).cluster('SETSLOT', slot, 'MIGRATING', toId);
        for (;;) {
          const keys = await client(from.port).cluster('GETKEYSINSLOT', slot, 5);
          if (!keys.length) break;
          await client(from.port).call('MIGRATE', '127.0.0.1', to.port, '', 0, 5000, 'KEYS', ...keys);
          await new Promise((r) => setTimeout(r, 20));
        }
        for (const s of servers) await client(s.port).cluster('SETSLOT', slot, 'NODE', toId).catch(() => {});
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}


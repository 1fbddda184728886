// A throw-away Redis Sentinel set-up on loopback: one master, one replica and three sentinels (quorum 2),
// each a real redis-server process (sentinels run as `redis-server FILE --sentinel`, what Debian's
// redis-sentinel is), with short failure timings so that a failover takes seconds, not minutes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisProbes, freePort, spawnRedis, startRedisServer, waitUntil, type RedisServer } from './redis-server.ts';

export interface SentinelSet {
  /** The store URL the gateways take (src/store/redis/connect.ts). */
  url: string;
  masterName: string;
  master: RedisServer;
  replica: RedisServer;
  sentinels: RedisServer[];
  /** The port the sentinels name as master now. */
  masterPort(): Promise<number>;
  /** Resolves with the new master's port once the sentinels have promoted another server than `oldPort`. */
  promoted(oldPort: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export interface SentinelTimings {
  /** How long a master is silent before a sentinel thinks it down. */
  downAfterMs: number;
  failoverTimeoutMs: number;
}

const MASTER = 'sluice-test';

export async function startSentinelSet(timings: SentinelTimings = { downAfterMs: 1000, failoverTimeoutMs: 5000 }): Promise<SentinelSet> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sentinel-'));
  const started: RedisServer[] = [];
  const probes = new RedisProbes();
  const client = (port: number) => probes.on(port);
  const stop = async () => {
    probes.close();
    for (const s of started.reverse()) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // Each server in a folder of its own: a replica's full sync writes an RDB file into its `dir`.
    const folder = (name: string) => {
      mkdirSync(join(dir, name));
      return join(dir, name);
    };
    const master = await startRedisServer({ args: ['--dir', folder('master')] });
    started.push(master);
    const replica = await startRedisServer({ args: ['--dir', folder('replica'), '--replicaof', '127.0.0.1', String(master.port)] });
    started.push(replica);
    await waitUntil(async () => /master_link_status:up/.test(await client(replica.port).info('replication')), 10_000, 'the replica did not sync with the master');

    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const file = join(dir, `sentinel-${i}.conf`);
      // The sentinel rewrites its own file (what it learns of the others), so it is a file it may write.
      writeFileSync(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${folder(`sentinel-${i}`)}`,
        `sentinel monitor ${MASTER} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER} ${timings.downAfterMs}`,
        `sentinel failover-timeout ${MASTER} ${timings.failoverTimeoutMs}`,
        `sentinel parallel-syncs ${MASTER} 1`,
        '',
      ].join('\n'));
      const sentinel = await spawnRedis([file, '--sentinel'], port);
      started.push(sentinel);
      sentinels.push(sentinel);
    }
    // A failover needs a majority of sentinels that know each other, and the replica known to them.
    await waitUntil(async () => {
      for (const s of sentinels) {
        const others = (await client(s.port).call('SENTINEL', 'SENTINELS', MASTER)) as unknown[];
        const replicas = (await client(s.port).call('SENTINEL', 'REPLICAS', MASTER)) as unknown[];
        if (others.length < 2 || replicas.length < 1) return false;
      }
      return true;
    }, 20_000, 'the sentinels did not find each other and the replica');

    const masterPort = async () => {
      for (const s of sentinels) {
        try {
          const [, port] = (await client(s.port).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER)) as string[];
          return Number(port);
        } catch {
          // that sentinel is away: ask the next one
        }
      }
      throw new Error('no sentinel answered');
    };
    return {
      url: `redis-sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER}`,
      masterName: MASTER,
      master,
      replica,
      sentinels,
      masterPort,
      async promoted(oldPort, timeoutMs) {
        let port = oldPort;
        await waitUntil(async () => (port = await masterPort()) !== oldPort, timeoutMs, `no failover away from port ${oldPort}`);
        return port;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}


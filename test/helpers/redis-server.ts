// A throw-away redis-server on a free loopback port, with no persistence, for tests and the evaluation.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { Redis } from 'ioredis';

export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** SIGKILL: the server dies as in a crash, without a word to its clients or replicas. */
  kill(): Promise<void>;
}

/** Whether a redis-server runs here. */
export function redisInstalled(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return !probe.error && probe.status === 0;
}

/** Fails loudly when redis-server is not installed: a skipped Redis half would hide a broken store. */
export function assertRedisInstalled(): void {
  if (!redisInstalled()) {
    throw new Error('redis-server is not installed; install it (apt-get install -y redis-server; npm test does it as root) to run the Redis store tests');
  }
}

/** The installed server's version as it prints it itself: "Redis server v=7.0.15 sha=…". */
export function installedRedisVersion(): string {
  return /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown';
}

/** A port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRedisServer(options: { port?: number; args?: string[] } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  return spawnRedis(['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...(options.args ?? [])], port);
}

/** Runs redis-server with these arguments (a config file first, `--sentinel`, …) until it accepts on `port`. */
export async function spawnRedis(args: string[], port: number): Promise<RedisServer> {
  assertRedisInstalled();
  const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (exited) throw new Error(`redis-server exited at start (port ${port})`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not accept connections on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (exited) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

/** Plain clients for a test's own questions to the servers it started: one per port, retrying quickly as servers come and go. */
export class RedisProbes {
  private readonly clients = new Map<number, Redis>();

  on(port: number): Redis {
    let client = this.clients.get(port);
    if (!client) {
      client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      client.on('error', () => {});
      this.clients.set(port, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.disconnect();
  }
}

/** Asks `ok` every 100 ms until it says true (a throw counts as not yet); fails naming `what` after `timeoutMs`. */
export async function waitUntil(ok: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await ok()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Opens an ioredis client from a URL:
//   redis://[user:password@]host:port[/db]       one server (rediss:// for TLS)
//   redis-sentinel://[user:password@]host:port[,host:port…]/master[/db]   through Sentinel
//   redis-cluster://[user:password@]host:port[,host:port…]                a Cluster (seed nodes)
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Shared by every mode: fail fast while disconnected (a scan reports BAYES_ERROR), reconnect in the background. */
const COMMON: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 5000,
  retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
};

interface ParsedHosts {
  hosts: { host: string; port: number }[];
  username?: string;
  password?: string;
  path: string[];
}

function parseHosts(url: string, scheme: string, defaultPort: number): ParsedHosts {
  const rest = url.slice(scheme.length);
  const at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
  const auth = at >= 0 ? rest.slice(0, at) : '';
  const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
  const slash = afterAuth.indexOf('/');
  const hostList = slash >= 0 ? afterAuth.slice(0, slash) : afterAuth;
  const path = slash >= 0 ? afterAuth.slice(slash + 1).split('/').filter(Boolean) : [];
  const hosts = hostList.split(',').filter(Boolean).map((hp) => {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hp);
    if (!m) throw new Error(`bad host '${hp}' in ${scheme}… URL`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : defaultPort };
  });
  if (!hosts.length) throw new Error(`${scheme}… URL names no host`);
  let username: string | undefined;
  let password: string | undefined;
  if (auth) {
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : '') || undefined;
    password = decodeURIComponent(colon >= 0 ? auth.slice(colon + 1) : auth) || undefined;
  }
  return { hosts, username, password, path };
}

export function createRedisClient(url: string): RedisClient {
  if (url.startsWith('redis-sentinel://')) {
    const { hosts, username, password, path } = parseHosts(url, 'redis-sentinel://', 26379);
    if (!path[0]) throw new Error('redis-sentinel:// URL needs the master name as its path');
    return new Redis({
      ...COMMON,
      sentinels: hosts,
      name: path[0],
      db: path[1] ? Number(path[1]) : 0,
      username,
      password,
      sentinelPassword: password,
    });
  }
  if (url.startsWith('redis-cluster://')) {
    const { hosts, username, password } = parseHosts(url, 'redis-cluster://', 6379);
    return new Cluster(hosts, {
      enableOfflineQueue: false,
      redisOptions: { ...COMMON, username, password },
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
  }
  if (url.startsWith('redis://') || url.startsWith('rediss://')) return new Redis(url, COMMON);
  throw new Error(`unsupported Redis URL '${url}' (use redis://, rediss://, redis-sentinel:// or redis-cluster://)`);
}

/** Waits until the client is ready, or fails after `timeoutMs`. */
export async function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => { lastError = err; };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms${lastError ? `: ${lastError.message}` : ''}`));
    }, timeoutMs);
    const onReady = () => { cleanup(); resolve(); };
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
    };
    client.on('ready', onReady);
    client.on('error', onError);
  });
}

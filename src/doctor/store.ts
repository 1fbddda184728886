// The store opens and takes a write: the quarantine index and Bayes live there. On Redis, the servers
// behind it too: one, a Sentinel set-up or a Cluster, and whether a failure would leave them short.
import type { Config } from '../config/schema.ts';
import { openStore } from '../store/index.ts';
import type { Store, StoreTopology } from '../store/types.ts';
import { fail, NETWORK_LIMIT_MS, ok, reasonOf, warn, type CheckResult } from './result.ts';

/** The store check, and on Redis the topology's after it. */
export async function storeChecks(config: Readonly<Config>): Promise<CheckResult[]> {
  const where = config.store.backend === 'redis'
    ? `redis ${withoutPassword(config.store.url)} (prefix ${config.store.prefix})`
    : `embedded store in ${config.store.path}`;
  let store;
  try {
    store = await openStore(config.store, { connectTimeoutMs: NETWORK_LIMIT_MS });
  } catch (err) {
    return [fail('store', `${where}: cannot open: ${reasonOf(err)}`, config.store.backend === 'redis'
      ? 'start Redis or correct store.url'
      : "give the gateway's user write access to store.path, or point it at a folder it owns")];
  }
  try {
    const written = await probed(store, where, config.store.backend);
    return store.topology ? [written, await topologyCheck(store.topology.bind(store))] : [written];
  } finally {
    await store.close().catch(() => {});
  }
}

async function probed(store: Store, where: string, backend: Config['store']['backend']): Promise<CheckResult> {
  try {
    await store.probe();
    return ok('store', `${where}: wrote, read back and deleted a probe key`);
  } catch (err) {
    return fail('store', `${where}: opens but cannot be written: ${reasonOf(err)}`, backend === 'redis'
      ? 'give the Redis user write access (ACL) and check that the server is not a read-only replica'
      : "give the gateway's user write access to store.path and its sluice.sqlite files");
  }
}

async function topologyCheck(topology: (timeoutMs: number) => Promise<StoreTopology>): Promise<CheckResult> {
  try {
    return topologyResult(await topology(NETWORK_LIMIT_MS));
  } catch (err) {
    return warn('topology', `cannot be read: ${reasonOf(err)}`, "allow the gateway's Redis user INFO, CLUSTER INFO and CLUSTER NODES (and the sentinels SENTINEL MASTER and SENTINEL REPLICAS)");
  }
}

/** What doctor says of a topology: a Sentinel master with no replica to promote, or a Cluster not ok, is a warning. */
export function topologyResult(t: StoreTopology): CheckResult {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  switch (t.mode) {
    case 'standalone':
      return ok('topology', `one Redis ${t.version}, role ${t.role}, ${plural(t.replicas, 'connected replica')}`);
    case 'sentinel': {
      const detail = `Sentinel: master ${t.masterName} at ${t.master}, ${plural(t.sentinels, 'sentinel')}, ${plural(t.replicas, 'replica')}`;
      return t.replicas > 0 ? ok('topology', detail)
        : warn('topology', detail, 'give the master a replica (replicaof), or a failover has nothing to promote');
    }
    case 'cluster': {
      const detail = `Cluster: state ${t.state}, ${plural(t.masters, 'master')}, ${plural(t.replicas, 'replica')}, ${t.slotsServed} of ${t.slots} slots served`;
      return t.state === 'ok' ? ok('topology', detail)
        : warn('topology', detail, 'bring the failed masters back or give their slots to others (redis-cli --cluster check, --cluster fix)');
    }
  }
}

/** A Redis URL as shown: its password never is. */
function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

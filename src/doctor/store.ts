// The store opens and takes a write: the quarantine index and Bayes live there.
import type { Config } from '../config/schema.ts';
import { openStore } from '../store/index.ts';
import { fail, NETWORK_LIMIT_MS, ok, reasonOf, type CheckResult } from './result.ts';

export async function storeCheck(config: Readonly<Config>): Promise<CheckResult> {
  const where = config.store.backend === 'redis'
    ? `redis ${withoutPassword(config.store.url)} (prefix ${config.store.prefix})`
    : `embedded store in ${config.store.path}`;
  let store;
  try {
    store = await openStore(config.store, { connectTimeoutMs: NETWORK_LIMIT_MS });
  } catch (err) {
    return fail('store', `${where}: cannot open: ${reasonOf(err)}`, config.store.backend === 'redis'
      ? 'start Redis or correct store.url'
      : "give the gateway's user write access to store.path, or point it at a folder it owns");
  }
  try {
    await store.probe();
    return ok('store', `${where}: wrote, read back and deleted a probe key`);
  } catch (err) {
    return fail('store', `${where}: opens but cannot be written: ${reasonOf(err)}`, config.store.backend === 'redis'
      ? 'give the Redis user write access (ACL) and check that the server is not a read-only replica'
      : "give the gateway's user write access to store.path and its sluice.sqlite files");
  } finally {
    await store.close().catch(() => {});
  }
}

/** A Redis URL as shown: its password never is. */
function withoutPassword(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

// Chooses the store backend from config.
import type { Config } from '../config/schema.ts';
import type { Store } from './types.ts';
import { EmbeddedStore } from './embedded/index.ts';

export async function openStore(config: Config['store']): Promise<Store> {
  if (config.backend === 'redis') {
    throw new Error('the redis store backend is not available in this build');
  }
  return new EmbeddedStore(config.path);
}

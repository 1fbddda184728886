// Which checks run, chosen from config. Each family adds its checks here; `checks.<family>: false` switches it off.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import type { Check } from '../scan/types.ts';
import { gtubeCheck } from './gtube.ts';

export interface CheckDeps {
  config: Readonly<Config>;
  store: Store;
  log: Logger;
}

export function buildChecks(deps: CheckDeps): Check[] {
  const checks: Check[] = [gtubeCheck];
  return checks;
}

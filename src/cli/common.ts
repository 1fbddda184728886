import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';

export const DEFAULT_CONFIG = 'config/sluice.yaml';

export const configOption = { config: { type: 'string', short: 'c', default: DEFAULT_CONFIG } } as const;

/** Loads the config or prints every problem and returns null. */
export function loadConfigOrReport(file: string): Readonly<Config> | null {
  try {
    return loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      return null;
    }
    throw err;
  }
}

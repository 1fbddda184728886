// The config file: every other check reads it, so an invalid one ends the run.
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { fail, ok, type CheckResult } from './result.ts';

export function configCheck(file: string): { config?: Readonly<Config>; result: CheckResult } {
  try {
    return { config: loadConfig(file), result: ok('config', `${file} is valid`) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const result = fail('config', `${file}: ${err.problems.length} problem(s)`, 'correct each problem below (`sluice config check` lists them too), then run doctor again');
    return { result: { ...result, problems: err.problems } };
  }
}

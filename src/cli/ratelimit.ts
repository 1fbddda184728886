import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { openStore } from '../store/index.ts';
import { parseRateKey, rateLimitStatus, resetRateLimit } from '../checks/ratelimit/index.ts';

const usage = 'sluice ratelimit show KEY|reset KEY [-c FILE] [--json]   (KEY: KIND:VALUE, e.g. sender:alice@example.org, ip:192.0.2.7)';

export const ratelimitCommand: Command = {
  summary: 'show what a rate-limit key has left, or reset it',
  usage,
  options: { ...configOption, json: { type: 'boolean', default: false } },
  async run(values, [action, key]) {
    if (!action || !['show', 'reset'].includes(action) || !key) {
      process.stderr.write(`usage: ${usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    try {
      parseRateKey(key, config);
    } catch (err) {
      process.stderr.write(`sluice ratelimit: ${(err as Error).message}\n`);
      return 2;
    }
    const store = await openStore(config.store);
    const out = (s: string) => process.stdout.write(s + '\n');
    try {
      if (action === 'reset') {
        const reset = await resetRateLimit(store.ratelimit, config, key);
        out(values.json ? JSON.stringify({ key, reset }) : `${key}: ${reset} bucket(s) reset`);
        return 0;
      }
      const status = await rateLimitStatus(store.ratelimit, config, key, Date.now());
      if (values.json) out(JSON.stringify({ key, limits: status }));
      else for (const s of status) out(`${s.bucket}  ${s.available} of ${s.burst} left${s.fullInMs ? `, full again in ${Math.ceil(s.fullInMs / 1000)} s` : ''}`);
      return 0;
    } finally {
      await store.close();
    }
  },
};

import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { openStore } from '../store/index.ts';
import { parseGreylistClient } from '../checks/greylist/index.ts';
import type { GreylistEntry } from '../store/types.ts';

const usage = 'sluice greylist list|allow CLIENT|drop CLIENT [-c FILE] [--json] [--limit N]   (CLIENT: an address, a network, or spf:<domain>)';

export const greylistCommand: Command = {
  summary: 'list the greylisting state, whitelist a client, or forget one',
  usage,
  options: { ...configOption, json: { type: 'boolean', default: false }, limit: { type: 'string', default: '100' } },
  async run(values, [action, target]) {
    if (!action || !['list', 'allow', 'drop'].includes(action) || (action !== 'list' && !target)) {
      process.stderr.write(`usage: ${usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) {
      process.stderr.write(`sluice greylist: --limit must be a whole number above 0\n`);
      return 2;
    }
    let client = '';
    if (action !== 'list') {
      try {
        client = parseGreylistClient(target, config.greylist);
      } catch (err) {
        process.stderr.write(`sluice greylist: ${(err as Error).message}\n`);
        return 2;
      }
    }
    const store = await openStore(config.store);
    const out = (s: string) => process.stdout.write(s + '\n');
    try {
      const now = Date.now();
      if (action === 'allow') {
        await store.greylist.allow(client, now, config.greylist.expiry);
        out(values.json ? JSON.stringify({ client, whitelisted: true }) : `${client} whitelisted until ${iso(now + config.greylist.expiry)}`);
      } else if (action === 'drop') {
        const dropped = await store.greylist.drop(client);
        out(values.json ? JSON.stringify({ client, dropped }) : `${client}: ${dropped} record(s) dropped`);
      } else {
        const entries = await store.greylist.list(now, limit);
        if (values.json) out(JSON.stringify({ entries }));
        else for (const e of entries) out(describe(e));
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};

const iso = (ms: number) => new Date(ms).toISOString();

function describe(e: GreylistEntry): string {
  if (e.sender === undefined) return `${e.client}  ${e.whitelisted ? 'whitelisted' : `${e.passes} pass(es)`}  until ${iso(e.expires)}`;
  const state = e.passedAt !== undefined ? `passed ${iso(e.passedAt)}` : 'waiting for a retry';
  return `${e.client}  ${e.sender || '<>'} -> ${e.recipient}  first ${iso(e.firstSeen!)}  ${state}  until ${iso(e.expires)}`;
}

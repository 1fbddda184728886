import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { createLogger } from '../log.ts';
import { buildCore, type Core } from '../app.ts';
import type { QuarantineEntry } from '../store/types.ts';
import { AlreadyReleasedError } from '../quarantine/quarantine.ts';

const usage = 'sluice quarantine list|show ID|release ID|delete ID [-c FILE] [--json] [--limit N] [--offset N] [--from S] [--rcpt R] [--symbol S] [--learn]';

export const quarantineCommand: Command = {
  summary: 'list, show, release or delete quarantined messages',
  usage,
  options: {
    ...configOption,
    json: { type: 'boolean', default: false },
    limit: { type: 'string', default: '50' },
    offset: { type: 'string', default: '0' },
    from: { type: 'string' },
    rcpt: { type: 'string' },
    symbol: { type: 'string' },
    learn: { type: 'boolean', default: false },
  },
  async run(values, [action, id]) {
    if (!action || !['list', 'show', 'release', 'delete'].includes(action) || (action !== 'list' && !id)) {
      process.stderr.write(`usage: ${usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const core = await buildCore(config, createLogger(config.log.level, 2));
    try {
      return await actions[action as keyof typeof actions](core, values, id);
    } finally {
      await core.close();
    }
  },
};

type Values = Record<string, unknown>;
const out = (s: string) => process.stdout.write(s + '\n');

const actions = {
  async list(core: Core, v: Values) {
    const { total, entries } = await core.quarantine.list({
      limit: Number(v.limit),
      offset: Number(v.offset),
      sender: v.from as string | undefined,
      recipient: v.rcpt as string | undefined,
      symbol: v.symbol as string | undefined,
    });
    if (v.json) {
      out(JSON.stringify({ total, entries }));
      return 0;
    }
    out(`${total} held`);
    for (const e of entries) out(`${e.id}  ${new Date(e.time).toISOString()}  ${e.score.toFixed(1).padStart(7)}  ${e.mailFrom || '<>'} -> ${e.rcptTo.join(',')}  ${e.subject}`);
    return 0;
  },
  async show(core: Core, v: Values, id: string) {
    const held = await core.quarantine.get(id);
    if (!held) return notFound(id);
    if (v.json) out(JSON.stringify({ ...held.entry, raw: held.raw.toString('latin1') }));
    else {
      out(describe(held.entry));
      out('');
      process.stdout.write(held.raw);
    }
    return 0;
  },
  async release(core: Core, v: Values, id: string) {
    const outcome = await unlessReleased(() => core.delivery.release(id));
    if (outcome === RELEASED) return 1;
    if (!outcome) return notFound(id);
    // The operator judged it good: with --learn or quarantine.learnOnRelease, Bayes learns it as ham.
    const learned = Boolean((v.learn || core.config.quarantine.learnOnRelease) && core.learnHam);
    if (learned) await core.learnHam!(outcome.held.raw);
    core.log.info({ id, relayId: outcome.relayId, learned, by: 'cli' }, 'quarantine release');
    out(v.json ? JSON.stringify({ id, released: true, relayId: outcome.relayId, learned }) : `${id} released (${outcome.relayId})${learned ? ', learned as ham' : ''}`);
    return 0;
  },
  async delete(core: Core, v: Values, id: string) {
    const deleted = await unlessReleased(() => core.quarantine.discard(id));
    if (deleted === RELEASED) return 1;
    if (!deleted) return notFound(id);
    core.log.info({ id, by: 'cli' }, 'quarantine delete');
    out(v.json ? JSON.stringify({ id, deleted: true }) : `${id} deleted`);
    return 0;
  },
};

const RELEASED = Symbol('released');

/** Runs an action on a held message; when a release elsewhere has it, says so and answers RELEASED. */
async function unlessReleased<T>(action: () => Promise<T>): Promise<T | typeof RELEASED> {
  try {
    return await action();
  } catch (err) {
    if (!(err instanceof AlreadyReleasedError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return RELEASED;
  }
}

function notFound(id: string): number {
  process.stderr.write(`no quarantined message ${id}\n`);
  return 1;
}

function describe(e: QuarantineEntry): string {
  return [
    `id:       ${e.id}`,
    `time:     ${new Date(e.time).toISOString()}`,
    `client:   ${e.clientIp} (helo ${e.helo})`,
    `from:     ${e.mailFrom || '<>'}`,
    `to:       ${e.rcptTo.join(', ')}`,
    `subject:  ${e.subject}`,
    `score:    ${e.score} (${e.action})`,
    `symbols:  ${e.symbols.map((s) => `${s.name}(${s.score})`).join(' ')}`,
  ].join('\n');
}

import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { builtinSymbols } from '../scan/symbols.ts';
import { weightOf } from '../scan/scorer.ts';
import '../checks/index.ts'; // every check family registers its symbols when loaded

export const symbolsCommand: Command = {
  summary: 'list every symbol with its weight (built-in, or from the config) and meaning',
  usage: 'sluice symbols [-c FILE] [--json]',
  options: { ...configOption, json: { type: 'boolean', default: false } },
  async run(values) {
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const table = Object.entries(builtinSymbols()).sort(([a], [b]) => a.localeCompare(b));
    const rows = table.map(([name, info]) => ({ name, weight: weightOf(name, { scores: config.scores, groupCaps: {}, force: {}, actions: config.actions }), default: info.weight, description: info.description }));
    if (values.json) process.stdout.write(JSON.stringify(rows) + '\n');
    else for (const r of rows) process.stdout.write(`${r.name.padEnd(28)} ${String(r.weight).padStart(7)}  ${r.description}\n`);
    return 0;
  },
};

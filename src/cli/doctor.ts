import type { Command } from './main.ts';
import { configOption } from './common.ts';
import { configCheck, formatJson, formatText, runDoctor } from '../doctor/index.ts';

export const doctorCommand: Command = {
  summary: 'check a deployment (config, store, quarantine, downstream, DNS, blocklists, hostname, clock, port, admin)',
  usage: 'sluice doctor [-c FILE] [--json]',
  options: { ...configOption, json: { type: 'boolean', default: false } },
  async run(values, positionals) {
    if (positionals.length > 0) {
      process.stderr.write(`sluice doctor: unexpected argument '${positionals[0]}'\nusage: ${this.usage}\n`);
      return 2;
    }
    const { config, result } = configCheck(values.config as string);
    // Every other check reads the config: an invalid one ends the run.
    const results = config ? [result, ...(await keepingProcessAlive(runDoctor(config)))] : [result];
    process.stdout.write(values.json ? formatJson(results) : formatText(results));
    return results.some((r) => r.status === 'fail') ? 1 : 0;
  },
};

/**
 * The DNS and SMTP sockets the checks use never keep a process alive (the gateway's must not hold up
 * its exit): while they alone are waited for, Node would end the run before the report is out.
 */
async function keepingProcessAlive<T>(work: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 60_000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

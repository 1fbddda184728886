import type { Command } from './main.ts';
import { configOption } from './common.ts';
import { ConfigError, loadConfig } from '../config/load.ts';

export const configCommand: Command = {
  summary: 'validate a config file, listing every problem at once',
  usage: 'sluice config check [-c FILE]',
  options: { ...configOption },
  async run(values, positionals) {
    if (positionals[0] !== 'check') {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const file = values.config as string;
    try {
      loadConfig(file);
      process.stdout.write(`${file}: ok\n`);
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(err.message + '\n');
      return 1;
    }
  },
};

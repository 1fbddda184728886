import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { createLogger } from '../log.ts';
import { buildCore } from '../app.ts';
import { readMessages } from '../mail/sources.ts';
import type { Envelope } from '../scan/types.ts';

export const checkCommand: Command = {
  summary: 'scan message files, directories or mbox files without SMTP',
  usage: 'sluice check [-c FILE] [--ip A --helo H --from S --rcpt R] [--json] PATH…',
  options: {
    ...configOption,
    ip: { type: 'string', default: '127.0.0.1' },
    helo: { type: 'string', default: 'localhost' },
    from: { type: 'string', default: '' },
    rcpt: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
  },
  async run(values, paths) {
    if (!paths.length) {
      process.stderr.write(`usage: ${this.usage}\n`);
      return 2;
    }
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const core = await buildCore(config, createLogger(config.log.level === 'info' ? 'warn' : config.log.level, 2));
    const rcpt = (values.rcpt as string[] | undefined) ?? [`postmaster@${config.domains[0]}`];
    let count = 0;
    let unreadable = 0;
    const onUnreadable = (path: string, reason: string) => {
      unreadable++;
      process.stderr.write(`sluice check: cannot read ${path}: ${reason}\n`);
    };
    try {
      for await (const { file, raw } of readMessages(paths, onUnreadable)) {
        const envelope: Envelope = { clientIp: values.ip as string, helo: values.helo as string, mailFrom: values.from as string, rcptTo: rcpt };
        const { verdict } = await core.pipeline.scan(envelope, raw, `check-${++count}`);
        const symbols = verdict.symbols.map((s) => ({ name: s.name, score: s.score }));
        if (values.json) {
          process.stdout.write(JSON.stringify({ file, score: verdict.score, action: verdict.action, symbols }) + '\n');
        } else {
          const list = symbols.map((s) => `${s.name}(${s.score})`).join(' ') || '-';
          process.stdout.write(`${file}\t${verdict.action}\t${verdict.score}\t${list}\n`);
        }
      }
    } finally {
      await core.close();
    }
    return unreadable ? 1 : 0;
  },
};

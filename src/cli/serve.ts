import type { Command } from './main.ts';
import { configOption, loadConfigOrReport } from './common.ts';
import { createLogger } from '../log.ts';
import { startGateway } from '../app.ts';

export const serveCommand: Command = {
  summary: 'run the gateway',
  usage: 'sluice serve [-c FILE]',
  options: { ...configOption },
  async run(values) {
    const config = loadConfigOrReport(values.config as string);
    if (!config) return 1;
    const log = createLogger(config.log.level);
    let gateway;
    try {
      gateway = await startGateway(config, log);
    } catch (err) {
      // A port in use, a store that cannot be opened: one clear line, not a stack trace.
      log.fatal({ err: (err as Error).message }, 'cannot start');
      log.flush();
      return 1;
    }
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'stopping: no new connections, finishing transactions in flight');
        gateway.stop().then(resolve, (err: Error) => {
          log.error({ err: err.message }, 'stop failed');
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    log.flush();
    return 0;
  },
};
